// UI benchmark in headless Chromium against the real server:
//  editor_ms      time from the image being decoded to the editor's first painted frame
//                 (4000x3000 JPEG with 500 boxes; median of 5 loads)
//  frame_ms_p95   95th percentile of frame intervals while panning and zooming with 500 boxes
//                 (requestAnimationFrame timestamps, 240 frames); the peer is the same pan with
//                 no boxes, and ratio = frame_ms_p95 / frame_ms_p95 without boxes
//  render_ms_p95  the editor's own paint time per frame (JavaScript side) with 500 boxes
//  list_scroll_ms time from jumping the task list to a far position until every visible row of
//                 the 100,000-task list is filled (mean of 6 jumps)

import { run } from "../../tests/e2e/harness.mjs";

const N_TASKS = 100000;
const N_BOXES = 500;
const W = 4000, H = 3000;

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function api(t, method, url, data) {
  const r = await t.page.request.fetch(t.base + url, { method, data, timeout: 300000, headers: { Origin: t.base } });
  if (!r.ok()) throw new Error(`${method} ${url}: ${r.status()} ${(await r.text()).slice(0, 300)}`);
  return r.status() === 204 ? null : r.json();
}

async function setup(t) {
  const p = t.page;
  const cfg = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="a" background="#FF6B6B"/><Label value="b" background="#4DABF7"/><Label value="c" background="#51CF66"/></RectangleLabels></View>';
  const project = await api(t, "POST", "/api/projects", { title: "bench ui", label_config: cfg });
  // A 4000x3000 photo-like JPEG made by the browser itself.
  const imported = await p.evaluate(async ([pid, W, H]) => {
    const c = document.createElement("canvas");
    c.width = W;
    c.height = H;
    const g = c.getContext("2d");
    const grad = g.createLinearGradient(0, 0, W, H);
    grad.addColorStop(0, "#335");
    grad.addColorStop(1, "#c96");
    g.fillStyle = grad;
    g.fillRect(0, 0, W, H);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    for (let i = 0; i < 3000; i++) {
      g.fillStyle = `hsl(${rnd() * 360},60%,${30 + rnd() * 40}%)`;
      g.beginPath();
      g.arc(rnd() * W, rnd() * H, 5 + rnd() * 80, 0, Math.PI * 2);
      g.fill();
    }
    const blob = await new Promise((r) => c.toBlob(r, "image/jpeg", 0.85));
    const fd = new FormData();
    fd.append("file", blob, "big.jpg");
    const res = await fetch(`/api/projects/${pid}/import?return_task_ids=true`, { method: "POST", body: fd });
    return res.json();
  }, [project.id, W, H]);
  const page1 = await api(t, "GET", `/api/tasks?project=${project.id}&page=1&page_size=1`);
  const task = page1.tasks[0];
  const url = Object.values(task.data)[0];
  const result = [];
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
  for (let i = 0; i < N_BOXES; i++) {
    const w = 40 + rnd() * 200, h = 40 + rnd() * 200;
    const x = rnd() * (W - w), y = rnd() * (H - h);
    result.push({ id: `b${i}`, type: "rectanglelabels", from_name: "label", to_name: "image", original_width: W, original_height: H, image_rotation: 0,
      value: { x: (x / W) * 100, y: (y / H) * 100, width: (w / W) * 100, height: (h / H) * 100, rotation: 0, rectanglelabels: [["a", "b", "c"][i % 3]] } });
  }
  await api(t, "POST", `/api/tasks/${task.id}/annotations`, { result, lead_time: 1 });
  // The rest of the 100,000 tasks point at the same image, imported as JSON in batches.
  const t0 = Date.now();
  for (let done = 1; done < N_TASKS; ) {
    const n = Math.min(20000, N_TASKS - done);
    await api(t, "POST", `/api/projects/${project.id}/import`, Array.from({ length: n }, () => ({ image: url })));
    done += n;
  }
  console.error(`bench ui: setup imported ${N_TASKS} tasks in ${((Date.now() - t0) / 1000).toFixed(1)} s (${imported.task_count} image)`);
  return { pid: project.id, taskId: task.id };
}

async function editorMs(t, pid, taskId) {
  const p = t.page;
  const xs = [];
  for (let i = 0; i < 5; i++) {
    await p.goto(`${t.base}/projects/${pid}/tasks/${taskId}`);
    await p.waitForFunction(() => performance.getEntriesByName("ll:editor").length > 0, null, { timeout: 30000 });
    xs.push(await p.evaluate(() => performance.getEntriesByName("ll:editor")[0].duration));
  }
  const n = await p.evaluate(() => window.labelloopEditor.model.regions.length);
  if (n !== N_BOXES) throw new Error(`editor shows ${n} boxes, expected ${N_BOXES}`);
  return pct(xs, 50);
}

/** Pans and zooms for `frames` animation frames; returns frame intervals and paint times. */
function panFrames(p, frames) {
  return p.evaluate(
    (frames) =>
      new Promise((resolve) => {
        const { view } = window.labelloopEditor;
        view.fit();
        const start = view.currentView;
        const paint0 = view.frameTimes.length;
        const stamps = [];
        const step = (ts) => {
          stamps.push(ts);
          const i = stamps.length;
          if (i > frames) {
            const gaps = stamps.slice(1).map((s, j) => s - stamps[j]);
            return resolve({ gaps, paints: view.frameTimes.slice(paint0) });
          }
          const k = 1 + 2 * Math.abs(Math.sin(i / 40));
          view.setView({ scale: start.scale * k, tx: start.tx - 300 * Math.sin(i / 25) * k, ty: start.ty - 200 * Math.cos(i / 30) * k });
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      }),
    frames,
  );
}

async function frameStats(t) {
  const p = t.page;
  await panFrames(p, 30); // warm up: pyramid built, JIT warm
  const full = await panFrames(p, 240);
  await p.evaluate(() => {
    const m = window.labelloopEditor.model;
    m.reset([], m.imgW, m.imgH);
  });
  await panFrames(p, 30);
  const empty = await panFrames(p, 240);
  return { p95: pct(full.gaps, 95), p95Empty: pct(empty.gaps, 95), renderP95: pct(full.paints, 95) };
}

async function listScroll(t, pid) {
  const p = t.page;
  await p.goto(`${t.base}/projects/${pid}`);
  await p.waitForFunction((n) => (document.querySelector("[data-testid=task-total]")?.textContent || "").replace(/,/g, "").startsWith(String(n)), N_TASKS, { timeout: 30000 });
  const xs = [];
  for (const row of [50000, 99950, 12345, 77777, 3000, 64000]) {
    xs.push(
      await p.evaluate(
        (row) =>
          new Promise((resolve) => {
            const box = document.querySelector("[data-testid=task-scroll]");
            const t0 = performance.now();
            box.scrollTop = row * 56;
            const check = () => {
              const r = box.getBoundingClientRect();
              const rows = [...box.querySelectorAll(".task-row")].filter((el) => {
                const b = el.getBoundingClientRect();
                return b.bottom > r.top && b.top < r.bottom;
              });
              if (rows.length && rows.every((el) => el.hasAttribute("data-task-id"))) resolve(performance.now() - t0);
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
        row,
      ),
    );
  }
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

await run("bench-ui", async (t) => {
  await t.login();
  const { pid, taskId } = await setup(t);
  const editor = await editorMs(t, pid, taskId);
  const f = await frameStats(t);
  await t.screenshot("bench-editor");
  const list = await listScroll(t, pid);
  await t.screenshot("bench-list");
  console.log(
    `bench ui: editor_ms=${editor.toFixed(1)} frame_ms_p95=${f.p95.toFixed(1)} list_scroll_ms=${list.toFixed(1)} render_ms_p95=${f.renderP95.toFixed(2)} frame_ms_p95_noboxes=${f.p95Empty.toFixed(1)} ratio=${(f.p95 / f.p95Empty).toFixed(2)} boxes=${N_BOXES} tasks=${N_TASKS}`,
  );
});
