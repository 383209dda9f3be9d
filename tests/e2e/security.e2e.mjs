// Attacks in the real browser (issue 16): a file uploaded as an "image" never runs script in the
// UI's origin (neither one that only starts like a JPEG, nor a real JPEG carrying a page, nor a
// page left in the media folder by an older version), and a page on another port of the same host
// cannot write with the logged-in user's session cookie. The UI itself keeps working: the uploads
// and the project list below go through it.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { check, run } from "./harness.mjs";
import { shared } from "./util.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels></View>';

// What a stored page would do in the UI's origin: read the API token and leave a trace.
const PAYLOAD =
  "<script>fetch('/api/current-user/token').then(r => r.json()).then(t => fetch('/api/projects', " +
  "{method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({title: 'pwned ' + t.token})}))" +
  ".finally(() => { document.title = 'pwned'; })</script>";

/** A real JPEG with the payload in a comment segment right after SOI: it probes and decodes. */
function polyglot() {
  const jpeg = fs.readFileSync(path.join(shared(), "datasets/seed-faces16/images/000001.jpg"));
  const text = Buffer.from(`<html>${PAYLOAD}</html>`);
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), com, text, jpeg.subarray(2)]);
}

/** Uploads from inside the page, as the import page does (session cookie, multipart). */
async function upload(p, project, name, bytes) {
  return p.evaluate(
    async ({ project, name, data }) => {
      const fd = new FormData();
      fd.append("file", new Blob([new Uint8Array(data)]), name);
      const r = await fetch(`/api/projects/${project}/import?return_task_ids=true`, { method: "POST", body: fd });
      return { status: r.status, body: await r.json() };
    },
    { project, name, data: [...bytes] },
  );
}

async function projects(p) {
  return p.evaluate(async () => (await (await fetch("/api/projects?page_size=100")).json()).results.map((x) => x.title));
}

/** Opens a stored file as a top-level page (as a link in a task would) and gives script a moment. */
async function open(t, url) {
  const p = t.page;
  const download = p.waitForEvent("download", { timeout: 3000 }).catch(() => null);
  const res = await p.goto(t.base + url).catch(() => null); // a download aborts the navigation
  await p.waitForTimeout(1000);
  const title = await p.title().catch(() => "");
  const type = res ? res.headers()["content-type"] : "(download)";
  await download;
  await p.goto(t.base + "/");
  return { title, type };
}

/** A page on another port of the same host that tries two classic forged writes. */
function attacker(target) {
  const page = `<!doctype html><body>
<form id="f" method="POST" action="${target}/api/projects" enctype="text/plain" target="sink">
<input name='{"title": "csrf form", "x": "' value='"}'></form><iframe name="sink"></iframe>
<script>
fetch("${target}/api/projects", {method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"}, body: JSON.stringify({title: "csrf fetch"})});
document.getElementById("f").submit();
</script></body>`;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(page);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

export async function scenario(t) {
  const p = t.page;
  await t.login();
  const project = await p.evaluate(async (config) => {
    const r = await fetch("/api/projects", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title: "Security e2e", label_config: config }) });
    return r.json();
  }, CONFIG);
  check(project.id > 0, "the UI's session creates a project");

  // 1. A page that only starts like a JPEG: refused (before, it was stored as .html).
  const fake = await upload(p, project.id, "evil.html", Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(PAYLOAD)]));
  if (fake.status === 201) {
    const task = await p.evaluate(async (id) => (await (await fetch(`/api/tasks/${id}`)).json()).data.image, fake.body.task_ids[0]);
    const seen = await open(t, task);
    check(seen.title !== "pwned", `the uploaded page ran script in the UI's origin (served as ${seen.type})`);
  }
  check(fake.status === 400, `a page disguised as a JPEG is refused (got ${fake.status})`);

  // 2. A real JPEG that carries a page: stored under .jpg and shown as an image, never as a page.
  const poly = await upload(p, project.id, "evil.html", polyglot());
  check(poly.status === 201, `a real JPEG is accepted (got ${poly.status})`);
  const url = await p.evaluate(async (id) => (await (await fetch(`/api/tasks/${id}`)).json()).data.image, poly.body.task_ids[0]);
  check(url.endsWith(".jpg"), `stored under the extension of what it is: ${url}`);
  let seen = await open(t, url);
  check(seen.title !== "pwned", "the JPEG's page ran script");
  check(seen.type === "image/jpeg", `served as ${seen.type}`);

  // 3. A page in the media folder (as older versions stored uploads): a download, no script.
  fs.writeFileSync(path.join(t.dataDir, "media", url.slice("/data/".length)), `<html>${PAYLOAD}</html>`);
  seen = await open(t, url);
  check(seen.title !== "pwned", "a stored page ran script");
  await t.screenshot("after-stored-files");

  // 4. Forged writes from another origin of the same host (same site: SameSite=Strict lets the
  // cookie through).
  const evil = await attacker(t.base);
  try {
    await p.goto(`http://127.0.0.1:${evil.address().port}/`);
    await p.waitForTimeout(1500);
  } finally {
    evil.close();
  }
  await p.goto(t.base + "/");
  await p.waitForSelector("header.top");
  const titles = await projects(p);
  check(!titles.some((x) => x.startsWith("pwned")), `no script ran with the user's token: ${titles}`);
  check(!titles.some((x) => x.startsWith("csrf")), `no forged project: ${titles}`);
  check(titles.includes("Security e2e"), "the UI still lists its project");
}

if (process.argv[1] && process.argv[1].endsWith("security.e2e.mjs")) await run("security", scenario);
