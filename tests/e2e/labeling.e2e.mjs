// The labeling workflow end to end in headless Chromium against the real server: log in, create a
// project from the template, upload three seed images, draw / resize / relabel a box with mouse and
// hotkeys, submit, next task, reload mid-edit and find the draft, accept a prediction posted
// through the API. (Exporting what was drawn is export.e2e.mjs.)

import path from "node:path";
import { check, near, run } from "./harness.mjs";
import { canvasPoint, drag, editorState, shared, waitEditor } from "./util.mjs";

const IMAGES = ["000001.jpg", "000002.jpg", "000003.jpg"].map((f) => path.join(shared(), "datasets/seed-faces16/images", f));

// The second label is no COCO class: a "person" label would get zero-shot pre-labels from the
// zoo on these portraits (test_zoo.py), and this test draws its own boxes.
async function createProject(t) {
  const p = t.page;
  await p.click("text=New project");
  await p.fill("input[name=title]", "Faces e2e");
  const names = p.locator(".label-row .label-name");
  await names.nth(0).fill("face");
  await names.nth(0).press("Tab");
  await names.nth(1).fill("hair");
  await names.nth(1).press("Tab");
  await p.click("role=tab[name=XML]");
  const xml = await p.inputValue("textarea.xml");
  check(xml.includes('<Label value="face"') && xml.includes('<Label value="hair"'), "label editor writes the XML");
  await t.screenshot("new-project");
  await p.click("button:has-text('Create project')");
  await p.waitForURL(/\/projects\/\d+$/);
  return Number(/\/projects\/(\d+)$/.exec(p.url())[1]);
}

async function upload(t) {
  const p = t.page;
  await p.click("button:has-text('Import')");
  await p.setInputFiles("[data-testid=file-input]", IMAGES);
  await p.waitForFunction(() => document.querySelectorAll(".upload.done").length === 3, null, { timeout: 20000 });
  await p.waitForFunction(() => /^3 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await p.waitForSelector(".task-row[data-task-id]");
  await t.screenshot("tasks-after-upload");
}

export async function api(t, method, url, data) {
  // The session cookie writes only with this origin's Origin, as a browser would send it.
  const r = await t.page.request.fetch(t.base + url, { method, data, headers: { Origin: t.base } });
  if (!r.ok()) throw new Error(`${method} ${url}: ${r.status()} ${await r.text()}`);
  return r.status() === 204 ? null : r.json();
}

export async function drawResizeRelabel(t) {
  const p = t.page;
  // Uploads run in parallel, so which image comes first varies: work in fractions of its size.
  // Draw from 20% to 50% of the image, then drag the bottom-right handle to 60%.
  let s = await editorState(p);
  const W = s.imgW, H = s.imgH;
  await drag(p, await canvasPoint(p, 0.2 * W, 0.2 * H), await canvasPoint(p, 0.5 * W, 0.5 * H));
  s = await editorState(p);
  check(s.regions.length === 1, "one box drawn");
  near(s.regions[0].x, 0.2 * W, 1, "drawn x");
  near(s.regions[0].w, 0.3 * W, 1, "drawn width");
  await drag(p, await canvasPoint(p, s.regions[0].x + s.regions[0].w, s.regions[0].y + s.regions[0].h), await canvasPoint(p, 0.6 * W, 0.6 * H));
  s = await editorState(p);
  check(s.regions.length === 1, "resizing does not add a box");
  near(s.regions[0].w, 0.4 * W, 1, "resized width");
  near(s.regions[0].h, 0.4 * H, 1, "resized height");
  check(s.regions[0].label === "face", "drawn with the active label");
  await p.keyboard.press("2");
  s = await editorState(p);
  check(s.regions[0].label === "hair", "hotkey 2 relabels the selected box");
  await t.screenshot("editor-box");
  await p.keyboard.press("?");
  await p.waitForSelector("role=dialog[name=Hotkeys]");
  await t.screenshot("editor-help");
  await p.keyboard.press("Escape");
  await p.waitForSelector("role=dialog[name=Hotkeys]", { state: "detached" });
  return { ...s.regions[0], W, H };
}

async function nextTaskId(p, from) {
  await p.waitForFunction((id) => window.labelloopEditor && window.labelloopEditor.taskId !== id, from, { timeout: 10000 });
  return (await editorState(p)).taskId;
}

export async function scenario(t) {
  const p = t.page;
  await t.login();
  await t.screenshot("projects-empty");
  const pid = await createProject(t);
  await upload(t);

  // Task 1: draw, resize, relabel, submit (Ctrl+Enter goes on to the next task).
  await p.click("text=Label tasks");
  await waitEditor(p);
  const task1 = (await editorState(p)).taskId;
  const box = await drawResizeRelabel(t);
  await p.keyboard.press("Control+Enter");
  const task2 = await nextTaskId(p, task1);
  const t1 = await api(t, "GET", `/api/tasks/${task1}?fields=all`);
  const a1 = t1.annotations.find((a) => !a.was_cancelled);
  check(a1, "the annotation was saved");
  check(a1.lead_time > 0, "lead_time recorded");
  const r1 = a1.result[0];
  check(typeof r1.id === "string" && r1.type === "rectanglelabels" && r1.from_name === "label" && r1.to_name === "image", "result keys from the config");
  check(r1.original_width === box.W && r1.original_height === box.H && r1.value.rotation === 0, "original size and rotation");
  near((r1.value.x / 100) * box.W, box.x, 1e-6, "percent x");
  near((r1.value.height / 100) * box.H, box.h, 1e-6, "percent height");
  check(r1.value.rectanglelabels[0] === "hair", "label saved");

  // Task 2: draw, reload mid-edit, find the draft, submit.
  await waitEditor(p);
  await drag(p, await canvasPoint(p, 50, 60), await canvasPoint(p, 200, 220));
  await p.waitForSelector("[data-testid=save-state]:has-text('Draft saved locally')");
  const before = (await editorState(p)).regions;
  await p.reload();
  await waitEditor(p);
  await p.waitForSelector("[data-testid=draft-restored]");
  const after = (await editorState(p)).regions;
  check(after.length === 1 && after[0].id === before[0].id && after[0].x === before[0].x && after[0].h === before[0].h, "the draft brings the box back after a reload");
  await t.screenshot("editor-draft-restored");
  await p.keyboard.press("Control+Enter");
  const task3 = await nextTaskId(p, task2);

  // Task 3: a prediction posted through the API; the slider hides the weak box; accept the strong one.
  const ow = 500, oh = 281;
  const item = (id, x, score) => ({ id, type: "rectanglelabels", from_name: "label", to_name: "image", original_width: ow, original_height: oh, score, value: { x, y: 10, width: 20, height: 30, rotation: 0, rectanglelabels: ["face"] } });
  const pred = await api(t, "POST", "/api/predictions", { task: task3, model_version: "e2e-v1", score: 0.87, result: [item("p1", 10, 0.91), item("p2", 60, 0.2)] });
  await p.reload();
  await waitEditor(p);
  let s = await editorState(p);
  check(s.regions.length === 2 && s.regions.every((r) => r.predicted), "prediction shown as pre-annotation");
  await p.locator("input[aria-label='confidence threshold']").evaluate((el) => {
    el.value = "0.5";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
  s = await editorState(p);
  check(s.visible === 1, "the slider hides the box under 0.5");
  await t.screenshot("editor-prediction");
  await p.locator("canvas.box-layer").focus();
  await p.keyboard.press("Tab");
  await p.keyboard.press("Enter");
  s = await editorState(p);
  check(s.regions.filter((r) => !r.predicted).length === 1, "one prediction accepted");
  await p.keyboard.press("Control+Enter");
  await p.waitForFunction((id) => !window.labelloopEditor || window.labelloopEditor.taskId !== id || document.querySelector("[data-testid=queue-done]"), task3);
  const t3 = await api(t, "GET", `/api/tasks/${task3}?fields=all`);
  const a3 = t3.annotations.find((a) => !a.was_cancelled);
  check(a3 && a3.parent_prediction === pred.id, "parent_prediction recorded");
  check(a3.result.length === 1 && a3.result[0].origin === "prediction" && a3.result[0].id === "p1", "accepted prediction box saved as the annotation's own");

  await p.goto(`${t.base}/projects/${pid}`);
  await p.waitForSelector(".task-row[data-task-id]");
  await p.waitForFunction(() => document.querySelectorAll(".badge.labeled").length === 3);
  // Thumbnails come from the server; sort and filter go through the data-manager query.
  await p.waitForFunction(() => [...document.querySelectorAll(".task-row img")].every((i) => i.complete && i.naturalWidth > 0 && i.naturalWidth <= 128));
  await t.screenshot("tasks-labeled");
  await p.selectOption("select[aria-label=order]", "-predictions_score");
  await p.waitForFunction((id) => document.querySelector(".task-row[data-task-id]")?.getAttribute("data-task-id") === String(id), task3);
  await p.selectOption("select[aria-label=filter]", "unlabeled");
  await p.waitForSelector("text=No tasks match this filter");

  // The other pages: projects with counts, settings, account with the API token.
  await p.click("header.top >> text=Projects");
  await p.waitForSelector(`tr[data-project-id="${pid}"]`);
  const row = await p.textContent(`tr[data-project-id="${pid}"]`);
  check(/Faces e2e\s*3\s*3\s*0\s*1/.test(row), "project row counts (tasks, labeled, skipped, predictions): " + row);
  await t.screenshot("projects");
  await p.goto(`${t.base}/projects/${pid}/settings`);
  await p.waitForSelector("input[name=title]");
  await t.screenshot("settings");
  await p.click("header.top a.user");
  await p.click("button:has-text('Show')");
  const token = await p.inputValue("[data-testid=api-token]");
  check(/^[0-9a-f]{40}$/.test(token), "the account page shows the API token");
  await t.screenshot("account");
}

if (process.argv[1] && process.argv[1].endsWith("labeling.e2e.mjs")) await run("labeling", scenario);
