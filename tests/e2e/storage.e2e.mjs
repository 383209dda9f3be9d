// Media in object storage in the browser: images in an S3 bucket (s3rver on loopback, as the API
// tests start it) synced into a project as tasks open in the labeling editor both ways Label
// Studio serves them: through a presigned URL the browser fetches from the bucket itself, and
// streamed through the server (presign off). The image must decode at its real size either way.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, check, freePort, run } from "./harness.mjs";
import { api } from "./labeling.e2e.mjs";
import { shared, waitEditor, editorState } from "./util.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face" background="#FF6B6B"/></RectangleLabels></View>';
const S3RVER = path.join(ROOT, "tests/s3rver/node_modules/s3rver/bin/s3rver.js");
const NAMES = ["000001.jpg", "000002.jpg"];

async function startS3rver() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ll-e2e-s3-"));
  const port = await freePort();
  const proc = spawn("node", [S3RVER, "-d", dir, "-a", "127.0.0.1", "-p", String(port), "-s"], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(endpoint + "/");
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const put = async (p, body) => {
    const r = await fetch(endpoint + p, { method: "PUT", body });
    check(r.ok, `PUT ${p} on s3rver: ${r.status}`);
  };
  return {
    endpoint, put,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first decoded JPEG's size from its SOF marker. */
function jpegSize(buf) {
  for (let i = 2; i < buf.length; ) {
    const marker = buf[i + 1], len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
    i += 2 + len;
  }
  return [0, 0];
}

async function openTask(t, pid, tid) {
  await t.page.goto(`${t.base}/projects/${pid}/tasks/${tid}`);
  await waitEditor(t.page);
  return editorState(t.page);
}

run("storage", async (t) => {
  const s3 = await startS3rver();
  try {
    await s3.put("/media");
    const bytes = NAMES.map((n) => fs.readFileSync(path.join(shared(), "datasets/seed-faces16/images", n)));
    for (let i = 0; i < NAMES.length; i++) await s3.put(`/media/faces/${NAMES[i]}`, bytes[i]);
    await t.login();
    // one project per mode: the UI prefetches the next task's image and the browser keeps a
    // redirect for its max-age, so the two modes must not share task URLs
    const projectWith = async (presign) => {
      const project = await api(t, "POST", "/api/projects", { title: "S3 e2e", label_config: CONFIG });
      const st = await api(t, "POST", "/api/storages/s3", { project: project.id, bucket: "media", prefix: "faces", use_blob_urls: true, presign, aws_access_key_id: "S3RVER", aws_secret_access_key: "S3RVER", s3_endpoint: s3.endpoint });
      const synced = await api(t, "POST", `/api/storages/s3/${st.id}/sync`);
      check(synced.status === "completed" && synced.last_sync_count === 2, "two tasks synced: " + JSON.stringify(synced));
      return [project.id, (await api(t, "GET", `/api/tasks?project=${project.id}`)).tasks[0]];
    };
    const size = (task) => {
      const key = Buffer.from(task.data.image.split("fileuri=")[1], "base64url").toString();
      return jpegSize(bytes[NAMES.indexOf(key.split("/").pop())]);
    };
    const presigned = [];
    t.page.on("request", (r) => r.url().includes("X-Amz-Signature=") && presigned.push(r.url()));

    let [pid, task] = await projectWith(true);
    let [w, h] = size(task);
    check(w > 0, "the seed image's size");
    let s = await openTask(t, pid, task.id);
    check(s.imgW === w && s.imgH === h, `presigned: the editor shows the ${w}x${h} image (got ${s.imgW}x${s.imgH})`);
    check(presigned.some((u) => u.startsWith(s3.endpoint + "/media/faces/")), "the browser fetched a presigned URL from the bucket");
    await t.screenshot("presigned");

    [pid, task] = await projectWith(false);
    presigned.length = 0;
    [w, h] = size(task);
    s = await openTask(t, pid, task.id);
    check(s.imgW === w && s.imgH === h, `streamed: the editor shows the ${w}x${h} image (got ${s.imgW}x${s.imgH})`);
    check(presigned.length === 0, "no presigned URL when presign is off: " + presigned.join(", "));
    await t.screenshot("streamed");
  } finally {
    await s3.stop();
  }
});
