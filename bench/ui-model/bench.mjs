// The Model panel's render time with many versions, in headless Chromium against the real server.
// Training 50 versions for real would take most of an hour, so the page's request for
// GET /api/projects/{id}/model is answered with a snapshot of that shape (50 versions, a running
// job, effort rows for each version); everything else (page, login, project, task list) is real.
//  first_ms   from the model data arriving to the panel's DOM updated (the page's own
//             "ll:model-render" measure), median of 5 page loads
//  update_ms  the same for a poll that brings a changed snapshot (job progress moved), median
//             of 8 polls (the panel polls every 2 s while a job runs)
//  *_frame_ms the same, to the next animation frame after the update ("ll:model-panel")

import { check, run } from "../../tests/e2e/harness.mjs";

const N_VERSIONS = Number(process.env.BENCH_VERSIONS || 50);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function snapshot(pid, step) {
  const now = Date.now();
  const versions = Array.from({ length: N_VERSIONS }, (_, i) => {
    const n = 10 + i * 20;
    const ap50 = 0.8 * (1 - Math.exp(-n / 300));
    const at = new Date(now - (N_VERSIONS - i) * 600000).toISOString();
    return {
      id: i + 1, name: `fcos-s-v${i + 1}`, seq: i + 1, project: pid, arch: "fcos-s", input_size: 320, classes: ["face"],
      train_images: n, heldout_images: Math.round(n / 4), epochs: 40, duration_s: 20 + i * 3,
      metrics: { ap: ap50 * 0.55, ap50, ap75: ap50 * 0.5 }, current_metrics: i ? { ap: ap50 * 0.53, ap50: ap50 * 0.98, ap75: ap50 * 0.49 } : null,
      score_threshold: 0.3, promoted: i % 4 !== 3, reason: i % 4 !== 3 ? "held-out AP at least as good" : "held-out AP lower than the current model's",
      is_current: i === N_VERSIONS - 2, parent: i || null, job: i + 1, created_at: at, promoted_at: at,
    };
  });
  const help = (mv, k) => ({ model_version: mv, annotations: 20, shown: 20 * k, accepted: 30, adjusted: 8, deleted: 5, drawn: 7, adjust_iou_mean: 0.71, lead_time_n: 20, lead_time_mean: 6.5, box_seconds_saved: 250 });
  const byVersion = [help("", 0), ...versions.map((v) => help(v.name, 1))];
  return {
    project: pid, eligible: true, enabled: true, message: "", active: true, model_version: versions[N_VERSIONS - 2].name,
    policy: { min_labeled: 10, retrain_every: 20, labeled: 1000, changes_since_training: 3, next: "a training job is running" },
    current: versions[N_VERSIONS - 2],
    running: { id: 99, project: pid, kind: "train", state: "running", reason: "policy", attempt: 1, phase: "training", progress: { epoch: 1 + step, epochs: 40, step: 10 * step, steps: 400, loss: 1.5 - step * 0.01, images_per_s: 40, elapsed_s: step * 2, eta_s: 400 - step * 2 }, log: "training…\n", error: null, cancel_requested: false, version: null, created_at: null, started_at: null, ended_at: null },
    queued: null, last_job: null, versions,
    help: { by_version: byVersion, with_prediction: help("with a prediction", 1), without_prediction: help("without a prediction", 0), cost_model: { draw_s: 10, adjust_s: 4, delete_s: 1 } },
  };
}

await run("bench-ui-model", async (t) => {
  const p = t.page;
  await t.login();
  const r = await p.request.post(`${t.base}/api/projects`, { data: { title: "bench model panel", label_config: '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels></View>' } });
  const pid = (await r.json()).id;
  let step = 0;
  await p.route(`**/api/projects/${pid}/model`, (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(snapshot(pid, step++)) }));
  const first = [];
  const firstFrame = [];
  for (let i = 0; i < 5; i++) {
    await p.goto(`${t.base}/projects/${pid}`);
    await p.waitForFunction(() => performance.getEntriesByName("ll:model-panel").length > 0, null, { timeout: 30000 });
    first.push(await p.evaluate(() => performance.getEntriesByName("ll:model-render")[0].duration));
    firstFrame.push(await p.evaluate(() => performance.getEntriesByName("ll:model-panel")[0].duration));
  }
  const rows = await p.$$eval("[data-testid=versions] tbody[data-version]", (xs) => xs.length);
  const pts = await p.$$eval("[data-testid=learning-curve] circle.pt-ap50", (xs) => xs.length);
  check(rows === N_VERSIONS && pts === N_VERSIONS, `the panel shows ${rows} versions and ${pts} points, expected ${N_VERSIONS}`);
  await t.screenshot("model-panel-50");
  const updates = await p.evaluate(
    (n) =>
      new Promise((resolve) => {
        const render = [];
        const frame = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) (e.name === "ll:model-render" ? render : e.name === "ll:model-panel" ? frame : []).push(e.duration);
          if (frame.length >= n) resolve({ render: render.slice(0, n), frame: frame.slice(0, n) });
        }).observe({ entryTypes: ["measure"] });
      }),
    8,
  );
  const f = (x) => x.toFixed(1);
  console.log(
    `bench ui-model: first_ms=${f(median(first))} update_ms=${f(median(updates.render))} first_frame_ms=${f(median(firstFrame))} update_frame_ms=${f(median(updates.frame))} update_max_ms=${f(Math.max(...updates.render))} versions=${N_VERSIONS}`,
  );
});
