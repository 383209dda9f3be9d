// The closed loop in the browser, against the real server training for real (a 4 s cycle): ten
// ground-truth annotations start the first training, the Model panel shows the running job's
// progress, then the version with held-out metrics and the learning curve; the task list sorts by
// uncertainty and "Label tasks" follows Uncertainty sampling; the settings save K, N and the
// order (and show the server's error under its field); Train now starts a job and Cancel cancels
// it; a second version is rolled back to and the other one deleted after confirmation.

import fs from "node:fs";
import path from "node:path";
import { check, fail, run } from "./harness.mjs";
import { api } from "./labeling.e2e.mjs";
import { shared, waitEditor } from "./util.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face" background="#FF6B6B"/></RectangleLabels></View>';
const N_IMAGES = 12;
const N_LABELED = 10;
// Training under the sanitizer build is slow: a cycle (load, 4 s of training, evaluation,
// predicting 12 tasks) takes ~20 s on an idle machine; allow for a loaded one.
const CYCLE_MS = 150000;

/** Waits for `fn` (run in the page) to be truthy; fails with `what` and the panel's text. */
async function waitPanel(t, what, fn, arg, timeout = 20000) {
  try {
    await t.page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch (e) {
    const text = await t.page.textContent("#model-panel").catch(() => "(no panel)");
    await t.screenshot("timeout");
    fail(`${what}: not seen within ${timeout / 1000} s (${e.message.split("\n")[0]}); the panel says: ${text}`);
  }
}

async function setup(t) {
  const project = await api(t, "POST", "/api/projects", { title: "Model e2e", label_config: CONFIG });
  const seed = path.join(shared(), "datasets/seed-faces16");
  const coco = JSON.parse(fs.readFileSync(path.join(seed, "annotations/train.json"), "utf8"));
  const images = coco.images.slice().sort((a, b) => a.file_name.localeCompare(b.file_name)).slice(0, N_IMAGES);
  for (const im of images) {
    const r = await t.page.request.post(`${t.base}/api/projects/${project.id}/import`, {
      headers: { Origin: t.base },
      multipart: { file: { name: im.file_name, mimeType: "image/jpeg", buffer: fs.readFileSync(path.join(seed, "images", im.file_name)) } },
    });
    check(r.ok(), `import ${im.file_name}: ${r.status()}`);
  }
  const page = await api(t, "GET", `/api/tasks?project=${project.id}&page_size=100`);
  check(page.tasks.length === N_IMAGES, `${N_IMAGES} tasks imported (got ${page.tasks.length})`);
  return { pid: project.id, tasks: page.tasks, coco, images };
}

/** The ground truth of a task's image as Label Studio results (percent of the image size). */
function groundTruth(task, coco, images) {
  const url = String(Object.values(task.data)[0]);
  const im = images.find((i) => url.endsWith(i.file_name)) || fail(`no COCO image for ${url}`);
  return coco.annotations
    .filter((a) => a.image_id === im.id)
    .map((a, i) => ({
      id: `gt${i}`, type: "rectanglelabels", from_name: "label", to_name: "image", original_width: im.width, original_height: im.height,
      value: { x: (a.bbox[0] / im.width) * 100, y: (a.bbox[1] / im.height) * 100, width: (a.bbox[2] / im.width) * 100, height: (a.bbox[3] / im.height) * 100, rotation: 0, rectanglelabels: ["face"] },
    }));
}

const panelText = (sel) => document.querySelector(sel)?.textContent || "";

async function firstVersion(t, s) {
  const p = t.page;
  await p.goto(`${t.base}/projects/${s.pid}`);
  await p.waitForSelector("[data-testid=policy-next]");
  const before = await p.textContent("[data-testid=policy-next]");
  check(/first training when 10 tasks are labeled \(0 now\)/i.test(before), "policy before labeling: " + before);
  for (const task of s.tasks.slice(0, N_LABELED)) await api(t, "POST", `/api/tasks/${task.id}/annotations`, { result: groundTruth(task, s.coco, s.images), lead_time: 5 });
  // The tenth annotation queued the first training; the panel polls slowly while idle, so reload.
  await p.reload();
  await waitPanel(t, "the first training job running", () => document.querySelector("[data-testid=job-running] [role=progressbar]"), null, 30000);
  const line = await p.textContent("[data-testid=job-running] [data-testid=job-line]");
  check(/^(starting|loading|training|evaluating|predicting)/.test(line), "the running job says its phase: " + line);
  check(/Training #\d+ \(first\)/.test(await p.textContent("[data-testid=job-running]")), "the job is the first training");
  await t.screenshot("model-running");
  // Progress moves: a determinate bar with a value (loading, training or predicting) at some point.
  await waitPanel(t, "a determinate progress value", () => document.querySelector("[data-testid=job-running] [role=progressbar][aria-valuenow]") || document.querySelector("[data-testid=versions]"), null, CYCLE_MS);
  await waitPanel(t, "the first version with held-out metrics", () => document.querySelector("[data-testid=versions] tbody.current") && !document.querySelector("[data-testid=job-running]") && document.querySelector("[data-testid=last-job]")?.getAttribute("data-state") === "done", null, CYCLE_MS);
  const model = await api(t, "GET", `/api/projects/${s.pid}/model`);
  const v1 = model.current || fail("the API has no current version");
  check(v1.metrics && v1.train_images + v1.heldout_images === N_LABELED, "the API's version has held-out metrics");
  const row = await p.textContent("[data-testid=versions] tbody.current");
  check(row.includes(v1.name) && /current/.test(row) && /promoted: first model/.test(row), "the version row: " + row);
  const cells = await p.$$eval("[data-testid=versions] tbody.current tr:first-child td.num", (tds) => tds.map((td) => td.textContent));
  const want = [String(v1.train_images), v1.metrics.ap50.toFixed(3), v1.metrics.ap.toFixed(3), v1.metrics.ap75.toFixed(3)];
  check(cells.join(" ") === want.join(" "), `training images and held-out AP50 / AP / AP75: ${cells.join(" ")}, expected ${want.join(" ")}`);
  check((await p.$$("[data-testid=learning-curve] circle.pt-ap50")).length === 1 && (await p.$$("[data-testid=learning-curve] rect.pt-ap")).length === 1, "one point per series on the curve");
  const legend = await p.$$eval("[data-testid=learning-curve] .legend text", (ts) => ts.map((x) => x.textContent));
  check(legend.includes("AP50") && legend.includes("AP"), "both series labelled: " + legend.join(", "));
  // The server stores the worker's log tail when it reaps the worker, which may come just after
  // the job row says done: wait for it in the API, then show the panel again.
  const jobId = model.last_job?.id || fail("the API has no last job");
  const deadline = Date.now() + 30000;
  while (!/predicted \d+ of 12 tasks/.test((await api(t, "GET", `/api/projects/${s.pid}/model/jobs/${jobId}`)).log || "")) {
    if (Date.now() > deadline) fail("the job's log tail never got its last lines");
    await new Promise((r) => setTimeout(r, 250));
  }
  await p.reload();
  await p.waitForSelector("[data-testid=last-job] summary");
  await p.click("[data-testid=last-job] summary");
  const log = await p.textContent("[data-testid=last-job] details pre");
  check(/held-out/.test(log) && /predicted \d+ of 12 tasks/.test(log), "the log tail: " + log);
  // The panel told the page: the list now shows the new predictions' scores.
  await waitPanel(t, "scores in the task list", () => [...document.querySelectorAll(".task-row .score")].filter((e) => /\d/.test(e.textContent)).length === 12);
  await t.screenshot("model-version");
  return v1;
}

async function sortByUncertainty(t, s) {
  const p = t.page;
  await p.click("button[data-sort=uncertainty]");
  const expect = await api(t, "GET", `/api/tasks?project=${s.pid}&page_size=100&query=${encodeURIComponent(JSON.stringify({ filters: { conjunction: "and", items: [] }, ordering: ["-tasks:uncertainty"] }))}`);
  const ids = expect.tasks.map((x) => String(x.id));
  await waitPanel(t, "the list in descending uncertainty", (ids) => [...document.querySelectorAll(".task-row[data-task-id]")].map((r) => r.getAttribute("data-task-id")).join(",") === ids.join(","), ids);
  const values = await p.$$eval(".task-row .uncertainty", (xs) => xs.map((x) => Number(x.textContent)));
  check(values.length === 12 && values.every((v, i) => i === 0 || v <= values[i - 1]), "uncertainty column descending: " + values.join(" "));
  check((await p.getAttribute("[role=columnheader]:has(button[data-sort=uncertainty])", "aria-sort")) === "descending", "the header says how it sorts");
  await t.screenshot("tasks-by-uncertainty");
  await p.click("button[data-sort=uncertainty]");
  await waitPanel(t, "ascending after a second click", (last) => document.querySelector(".task-row[data-task-id]")?.getAttribute("data-task-id") === last, ids[ids.length - 1]);
}

async function settings(t, s) {
  const p = t.page;
  await p.click("a:has-text('Settings')");
  await p.waitForSelector("[data-testid=loop-settings]");
  check(await p.isChecked("input[name=loop_enabled]"), "the detector is on by default");
  check((await p.inputValue("input[name=loop_min_labeled]")) === "10" && (await p.inputValue("input[name=loop_retrain_every]")) === "20", "K and N defaults shown");
  await p.fill("input[name=loop_min_labeled]", "5");
  await p.fill("input[name=loop_retrain_every]", "-1");
  await p.check("input[name=sampling][value='Uncertainty sampling']");
  await p.click("[data-testid=save-loop]");
  await p.waitForSelector("[data-field-error=loop_retrain_every]");
  const msg = await p.textContent("[data-field-error=loop_retrain_every]");
  check(/between 0 and 1000000/.test(msg), "the server's error under N: " + msg);
  await t.screenshot("settings-error");
  // The project JSON does not carry the loop_* fields; the model endpoint's policy has them.
  let m = await api(t, "GET", `/api/projects/${s.pid}/model`);
  check(m.policy.retrain_every === 20 && m.policy.min_labeled === 10, "nothing saved from a bad form");
  await p.fill("input[name=loop_retrain_every]", "3");
  await p.click("[data-testid=save-loop]");
  await p.waitForSelector("[data-testid=loop-settings] .msg-ok");
  check(!(await p.$("[data-field-error]")), "the error is gone after a good save");
  const project = await api(t, "GET", `/api/projects/${s.pid}`);
  m = await api(t, "GET", `/api/projects/${s.pid}/model`);
  check(m.policy.min_labeled === 5 && m.policy.retrain_every === 3 && project.sampling === "Uncertainty sampling" && m.enabled === true, "K, N and sampling saved: " + JSON.stringify([m.policy, project.sampling, m.enabled]));
  await p.reload();
  await p.waitForSelector("[data-testid=loop-settings]");
  check((await p.inputValue("input[name=loop_retrain_every]")) === "3" && (await p.isChecked("input[name=sampling][value='Uncertainty sampling']")), "saved values shown after a reload");
  await t.screenshot("settings-saved");

  // "Label tasks" follows Uncertainty sampling: the most uncertain unlabeled task first.
  const q = { filters: { conjunction: "and", items: [{ filter: "filter:tasks:total_annotations", operator: "equal", type: "Number", value: 0 }] }, ordering: ["-tasks:uncertainty"] };
  const unl = await api(t, "GET", `/api/tasks?project=${s.pid}&page_size=10&query=${encodeURIComponent(JSON.stringify(q))}`);
  await p.goto(`${t.base}/projects/${s.pid}`);
  await p.waitForSelector("[data-testid=policy-next]");
  const next = await p.textContent("[data-testid=policy-next]");
  check(/after 3 more new or changed annotations/.test(next), "the panel's policy follows N: " + next);
  await p.click("text=Label tasks");
  await waitEditor(p);
  const opened = await p.evaluate(() => window.labelloopEditor.taskId);
  check(opened === unl.tasks[0].id, `the label stream opened task ${opened}, the most uncertain unlabeled one is ${unl.tasks[0].id}`);
  await p.goto(`${t.base}/projects/${s.pid}`);
}

async function trainAndCancel(t, s) {
  const p = t.page;
  await p.waitForSelector("[data-testid=train-now]");
  await p.click("[data-testid=train-now]");
  await waitPanel(t, "a job after Train now", () => document.querySelector("[data-testid=job-running], [data-testid=job-queued]"));
  const id = Number(await p.getAttribute("[data-testid=job-running], [data-testid=job-queued]", "data-job-id"));
  check(/manual/.test(await p.textContent("[data-testid=job-running], [data-testid=job-queued]")), "the job was started by hand");
  await t.screenshot("train-now");
  await p.click("[data-testid=cancel-job]");
  await waitPanel(t, "the job cancelled", (id) => {
    const last = document.querySelector("[data-testid=last-job]");
    return last && last.getAttribute("data-job-id") === String(id) && last.getAttribute("data-state") === "cancelled" && !document.querySelector("[data-testid=job-running], [data-testid=job-queued]");
  }, id, 60000);
  await t.screenshot("cancelled");
  const jobs = await api(t, "GET", `/api/projects/${s.pid}/model/jobs`);
  check(jobs.find((j) => j.id === id)?.state === "cancelled", "the API says cancelled too");
}

async function rollbackAndDelete(t, s, first) {
  const p = t.page;
  await p.click("[data-testid=train-now]");
  await waitPanel(t, "a second version", () => document.querySelectorAll("[data-testid=versions] tbody[data-version]").length === 2 && !document.querySelector("[data-testid=job-running], [data-testid=job-queued]"), null, CYCLE_MS);
  await waitPanel(t, "two points per series", () => document.querySelectorAll("[data-testid=learning-curve] circle.pt-ap50").length === 2);
  const m = await api(t, "GET", `/api/projects/${s.pid}/model`);
  const second = m.versions.find((v) => v.id !== first.id);
  const other = m.versions.find((v) => !v.is_current);
  const cur = m.versions.find((v) => v.is_current);
  const row = await p.textContent(`tbody[data-version-id="${second.id}"] tr.sub`);
  check(row.includes(second.promoted ? "promoted" : "not promoted") && row.includes(second.reason), "promoted or not, and why: " + row);
  if (second.current_metrics) {
    const was = await p.textContent(`tbody[data-version-id="${second.id}"] .was`);
    check(was === second.current_metrics.ap50.toFixed(3), "the then-current model's AP50 on the same tasks: " + was);
  }
  await t.screenshot("two-versions");
  await p.click(`tbody[data-version-id="${other.id}"] [data-testid=rollback]`);
  await waitPanel(t, "the rolled-back version current", (id) => document.querySelector("tbody.current")?.getAttribute("data-version-id") === String(id), other.id);
  check((await api(t, "GET", `/api/projects/${s.pid}`)).model_version === other.name, "the project's model_version follows the rollback");
  await p.click(`tbody[data-version-id="${cur.id}"] [data-testid=delete-version]`);
  await p.waitForSelector("role=dialog[name='Delete model version']");
  await t.screenshot("delete-confirm");
  await p.click("[data-testid=confirm-delete]");
  await waitPanel(t, "the deleted version gone", (id) => !document.querySelector(`tbody[data-version-id="${id}"]`) && document.querySelectorAll("tbody[data-version]").length === 1, cur.id);
  const left = await api(t, "GET", `/api/projects/${s.pid}/model`);
  check(left.versions.length === 1 && left.versions[0].id === other.id && left.versions[0].is_current, "the API has the one version left");
  await t.screenshot("after-delete");
}

export async function scenario(t) {
  const t0 = Date.now();
  await t.login();
  const s = await setup(t);
  const first = await firstVersion(t, s);
  await sortByUncertainty(t, s);
  await settings(t, s);
  await trainAndCancel(t, s);
  await rollbackAndDelete(t, s, first);
  console.error(`e2e model: scenario took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && process.argv[1].endsWith("model.e2e.mjs")) await run("model", scenario, ["--max-train-s", "4", "--arch", "fcos-s"]);
