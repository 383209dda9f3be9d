// A whole labeling session (issue 17), each step a bug that was there before: an empty project
// shows its drop zone; 20 images uploaded in the order chosen become tasks #1..#20 in that order
// (a bad file is listed first); predictions are reviewed with the keyboard, and unreviewed ones
// are never dropped on submit; the slider starts at 0.3 without a model and is remembered;
// Ctrl+C / Ctrl+V, arrows and a label key label a task without the mouse; previous/next step
// through the list as filtered (no bounce back to the queue's first task); the canvas re-fits
// after banners and a window resize; draw mode draws inside a box; the last task submitted twice
// saves one annotation and says the queue is done; the task list searches, marks drafts, hides a
// column, deletes a selection; export; re-open a labeled task.

import fs from "node:fs";
import path from "node:path";
import { check, run } from "./harness.mjs";
import { api } from "./labeling.e2e.mjs";
import { canvasPoint, drag, editorState, shared, waitEditor } from "./util.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="raccoon" background="#FF6B6B"/><Label value="other" background="#4DABF7"/></RectangleLabels></View>';
// The order the user picks (not the file names' order).
const ORDER = [7, 3, 12, 1, 19, 5, 14, 2, 20, 9, 11, 4, 16, 8, 18, 6, 13, 10, 17, 15];
const IMAGES = ORDER.map((n) => path.join(shared(), `datasets/raccoon/images/raccoon-${n}.jpg`));

function region(id, x, score) {
  return { id, type: "rectanglelabels", from_name: "label", to_name: "image", score, value: { x, y: 20, width: 15, height: 20, rotation: 0, rectanglelabels: ["raccoon"] } };
}

async function taskIdNot(p, id) {
  await p.waitForFunction((id) => window.labelloopEditor && window.labelloopEditor.taskId !== id && window.labelloopEditor.view.frameTimes.length > 0, id, { timeout: 15000 });
  return (await editorState(p)).taskId;
}

async function press(p, key, times = 1) {
  for (let i = 0; i < times; i++) await p.keyboard.press(key);
}

async function annotations(t, id) {
  const task = await api(t, "GET", `/api/tasks/${id}?fields=all`);
  return task.annotations.filter((a) => !a.was_cancelled);
}

/** The image lies inside the canvas: fitted, not cut by a banner or the side panel. */
async function checkFits(p, what) {
  await p.waitForTimeout(150);
  const r = await p.evaluate(() => {
    const e = window.labelloopEditor;
    const [x0, y0] = e.view.screenOf(0, 0);
    const [x1, y1] = e.view.screenOf(e.model.imgW, e.model.imgH);
    const b = e.view.element.getBoundingClientRect();
    return { x0, y0, x1, y1, w: b.width, h: b.height };
  });
  check(r.x0 >= -1 && r.y0 >= -1 && r.x1 <= r.w + 1 && r.y1 <= r.h + 1, `${what}: the image fits the canvas ${JSON.stringify(r)}`);
}

async function scenario(t) {
  const p = t.page;
  await t.login();
  const project = await api(t, "POST", "/api/projects", { title: "Session e2e", label_config: CONFIG, expert_instruction: "Box every raccoon, ears included." });
  const pid = project.id;

  // An empty project shows its drop zone; 20 images in the chosen order, plus a bad file.
  await p.goto(`${t.base}/projects/${pid}`);
  await p.waitForSelector("[data-testid=dropzone]");
  const bad = path.join(t.artifacts, "notes.jpg");
  fs.writeFileSync(bad, "meeting notes, not a picture\n");
  await p.setInputFiles("[data-testid=file-input]", [...IMAGES, bad]);
  await p.waitForFunction(() => document.querySelectorAll(".upload.done").length === 20, null, { timeout: 60000 });
  await p.waitForFunction(() => /^20 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  check((await p.getAttribute("[data-testid=upload-list] li:first-child", "class")).includes("error"), "the failed file is listed first");
  const page1 = await api(t, "GET", `/api/tasks?project=${pid}&page_size=100`);
  const ids = page1.tasks.map((x) => x.id).sort((a, b) => a - b);
  for (let i = 0; i < 20; i++) {
    const task = page1.tasks.find((x) => x.id === ids[i]);
    check(task.data.image.endsWith(`-raccoon-${ORDER[i]}.jpg`), `task ${i + 1} is file ${i + 1} (${task.data.image})`);
  }
  await t.screenshot("uploaded-in-order");

  // Predictions on the first two tasks: 0.9 and 0.6 above the default 0.3, 0.1 below it.
  for (const id of ids.slice(0, 2)) await api(t, "POST", "/api/predictions", { task: id, model_version: "m1", score: 0.7, result: [region("a", 5, 0.9), region("b", 45, 0.6), region("c", 75, 0.1)] });

  // Task 1 from the list: keyboard review; an unreviewed box is not dropped on submit.
  await p.click(`.task-row[data-task-id="${ids[0]}"]`);
  await waitEditor(p);
  let s = await editorState(p);
  check(s.taskId === ids[0], "the row opens its task");
  check((await p.evaluate(() => window.labelloopEditor.model.threshold)) === 0.3, "the slider starts at 0.3 without a model");
  check(s.visible === 2, "two predictions above 0.3 shown");
  check((await p.textContent("[data-testid=instructions]")).includes("Box every raccoon"), "instructions shown while labeling");
  await checkFits(p, "first task");
  await p.locator("canvas.box-layer").focus();
  await press(p, "Tab");
  await press(p, "Enter");
  check((await p.textContent("[data-testid=box-count]")).includes("(1)") && (await p.textContent("[data-testid=pred-count]")).includes("(1 to review)"), "predictions and boxes counted apart");
  await press(p, "Control+Enter");
  await p.waitForSelector("role=dialog[name='Predicted boxes not reviewed']");
  check((await p.textContent("[data-testid=review-text]")).startsWith("1 predicted box is not reviewed"), "submit names the unreviewed box");
  await t.screenshot("review-before-submit");
  await press(p, "Enter"); // "Accept all 1 and submit" has the focus
  const task2 = await taskIdNot(p, ids[0]);
  check(task2 === ids[1], "the queue goes on to task 2");
  let anns = await annotations(t, ids[0]);
  check(anns.length === 1 && anns[0].result.length === 2 && anns[0].result.every((r) => r.origin === "prediction"), "both shown predictions saved, none dropped");

  // Task 2: accept one, reject the other; the predictions section stays; copy the box.
  await p.locator("input[aria-label='confidence threshold']").evaluate((el) => {
    el.value = "0.5";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await p.locator("canvas.box-layer").focus();
  await press(p, "Tab");
  await press(p, "Enter");
  await press(p, "Tab");
  s = await editorState(p);
  check(s.regions.find((r) => r.id === s.selected)?.predicted, "Tab selects the pending prediction");
  await press(p, "Delete");
  await p.waitForSelector("[data-testid=preds-reviewed]");
  await press(p, "Control+c");
  await press(p, "Control+Enter");
  const task3 = await taskIdNot(p, ids[1]);
  check(task3 === ids[2], "submitted without a question: nothing left to review");
  check((await annotations(t, ids[1]))[0].result.length === 1, "the accepted box saved, the rejected one not");

  // Task 3 with the keyboard only: paste, move, relabel, submit.
  await p.locator("canvas.box-layer").focus();
  await press(p, "Control+v");
  await press(p, "Shift+ArrowRight", 2);
  await press(p, "2");
  s = await editorState(p);
  check(s.regions.length === 1 && s.regions[0].label === "other", "pasted box relabeled");
  await press(p, "Control+Enter");
  const task4 = await taskIdNot(p, ids[2]);
  anns = await annotations(t, ids[2]);
  check(anns.length === 1 && anns[0].result[0].value.rectanglelabels[0] === "other", "pasted box saved");

  // The slider's value is remembered for the project.
  await p.reload();
  await waitEditor(p);
  check((await p.evaluate(() => window.labelloopEditor.model.threshold)) === 0.5, "the slider remembers 0.5");

  // Draw mode: a drag inside a box draws a new box; crosshair on; the overlay lists N.
  await press(p, "Control+v");
  s = await editorState(p);
  const b = s.regions[0];
  await press(p, "Escape");
  await press(p, "n");
  await drag(p, await canvasPoint(p, b.x + b.w * 0.3, b.y + b.h * 0.3), await canvasPoint(p, b.x + b.w * 0.7, b.y + b.h * 0.7));
  s = await editorState(p);
  check(s.regions.length === 2 && s.regions[0].x === b.x, "draw mode drew a second box and left the first in place");
  await press(p, "n");
  await press(p, "?");
  const help = await p.textContent("role=dialog[name=Hotkeys]");
  check(help.includes("draw mode") && help.includes("Ctrl+C / Ctrl+V") && help.includes("Shift + drag"), "the overlay lists every hotkey");
  await press(p, "Escape");

  // Layout changes re-fit: a banner, then a small window.
  await press(p, "Control+c");
  await p.waitForSelector(".msg-info");
  await checkFits(p, "after a banner");
  await p.setViewportSize({ width: 1000, height: 700 });
  await checkFits(p, "in a 1000 x 700 window");
  await t.screenshot("small-window");
  await p.setViewportSize({ width: 1400, height: 900 });

  // Next / previous through the list filtered to unlabeled tasks: no bounce.
  await p.goto(`${t.base}/projects/${pid}`);
  await p.selectOption("select[aria-label=filter]", "unlabeled");
  await p.waitForFunction(() => /^17 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await p.click(`.task-row[data-task-id="${ids[8]}"]`);
  await waitEditor(p);
  const seen = [];
  for (const key of ["BracketLeft", "BracketLeft", "BracketRight", "BracketRight", "BracketRight"]) {
    const before = (await editorState(p)).taskId;
    await p.keyboard.press(key === "BracketLeft" ? "[" : "]");
    seen.push(await taskIdNot(p, before));
  }
  check(JSON.stringify(seen) === JSON.stringify([ids[7], ids[6], ids[7], ids[8], ids[9]]), `prev/next follow the list: ${seen}`);
  // Leave a draft on this task: the list marks it.
  await press(p, "Control+v");
  await p.waitForSelector("[data-testid=save-state]:has-text('Draft saved locally')");

  // Label all but the last task through the API; the last one twice from the editor.
  for (const id of ids.slice(3, 19)) await api(t, "POST", `/api/tasks/${id}/annotations`, { result: [], lead_time: 1 });
  await p.goto(`${t.base}/projects/${pid}/label`);
  await waitEditor(p);
  check((await editorState(p)).taskId === ids[19], "the queue opens the last unlabeled task");
  await p.locator("canvas.box-layer").focus();
  await press(p, "Control+v");
  await press(p, "Control+Enter");
  await p.waitForSelector("[data-testid=queue-done]");
  check(await p.isDisabled("[data-testid=submit]"), "submit is disabled once saved");
  await press(p, "Control+Enter");
  await p.click("[data-testid=submit]", { force: true }).catch(() => undefined);
  await p.waitForTimeout(300);
  check((await annotations(t, ids[19])).length === 1, "the last task submitted twice has one annotation");
  await t.screenshot("queue-done");

  // The task list: draft mark, search, column chooser, bulk delete.
  await p.click(".msg-ok a");
  await p.waitForSelector(".task-row[data-task-id]");
  await p.selectOption("select[aria-label=filter]", "all");
  await p.fill("input[aria-label='search file names']", "raccoon-9");
  await p.waitForFunction(() => /^1 task$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await p.waitForSelector(`.task-row[data-task-id="${ids[9]}"] [data-testid=draft-badge]`);
  await p.fill("input[aria-label='search file names']", "raccoon-1");
  // raccoon-1, -10..-19: 11 of the 20
  await p.waitForFunction(() => /^11 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await p.fill("input[aria-label='search file names']", "");
  await p.waitForFunction(() => /^20 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await p.click("[data-testid=columns]");
  await p.uncheck(".col-menu label:has-text('Model version') input");
  check((await p.locator(".task-head .mv").count()) === 0, "the model version column is hidden");
  await p.check(`.task-row[data-task-id="${ids[1]}"] input[type=checkbox]`);
  await p.check(`.task-row[data-task-id="${ids[2]}"] input[type=checkbox]`);
  await p.click("[data-testid=bulk-delete]");
  await p.click("[data-testid=confirm-delete]");
  await p.waitForFunction(() => /^18 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await t.screenshot("task-list");

  // Export (JSON through the dialog) and re-open the first task: its boxes, "Update".
  await p.click("button:has-text('Export')");
  await p.check("input[name=format][value=JSON]");
  const [dl] = await Promise.all([p.waitForEvent("download", { timeout: 30000 }), p.click("[data-testid=export-download]")]);
  const saved = path.join(t.artifacts, dl.suggestedFilename());
  await dl.saveAs(saved);
  const exported = JSON.parse(fs.readFileSync(saved, "utf8"));
  const first = exported.find((x) => x.id === ids[0]);
  check(exported.length === 18 && first.annotations[0].result.length === 2, "the export has the session's annotations");
  await p.click("button:has-text('Close')");
  await p.click(`.task-row[data-task-id="${ids[0]}"]`);
  await waitEditor(p);
  s = await editorState(p);
  check(s.regions.filter((r) => !r.predicted).length === 2, "re-opened with its two boxes");
  check((await p.textContent("[data-testid=submit]")).includes("Update"), "a labeled task offers Update");
}

if (process.argv[1] && process.argv[1].endsWith("session.e2e.mjs")) await run("session", scenario);
