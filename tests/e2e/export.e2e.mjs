// Export what was drawn: a box drawn and resized with the mouse in the editor comes out of the
// export dialog's COCO download at the same pixel coordinates (within 1 px: COCO truncates).
// Then the other way: the seed COCO data set imported from the import panel as predictions.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { check, near, run } from "./harness.mjs";
import { api, drawResizeRelabel } from "./labeling.e2e.mjs";
import { shared, waitEditor } from "./util.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face" background="#FF6B6B"/><Label value="hair" background="#4DABF7"/></RectangleLabels></View>';

function readCoco(file) {
  if (!file.endsWith(".zip")) return JSON.parse(fs.readFileSync(file, "utf8"));
  const py = "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);n=[x for x in z.namelist() if x.endswith('.json')][0];sys.stdout.write(z.read(n).decode())";
  return JSON.parse(execFileSync("python3", ["-c", py, file]).toString());
}

export async function scenario(t) {
  const p = t.page;
  await t.login();
  const project = await api(t, "POST", "/api/projects", { title: "Export e2e", label_config: CONFIG });
  const image = path.join(shared(), "datasets/seed-faces16/images/000002.jpg");
  const up = await p.request.post(`${t.base}/api/projects/${project.id}/import`, {
    headers: { Origin: t.base },
    multipart: { file: { name: "000002.jpg", mimeType: "image/jpeg", buffer: fs.readFileSync(image) } },
  });
  check(up.ok(), "image imported");
  await p.goto(`${t.base}/projects/${project.id}/label`);
  await waitEditor(p);
  const box = await drawResizeRelabel(t);
  const taskId = await p.evaluate(() => window.labelloopEditor.taskId);
  await p.keyboard.press("Control+Enter");
  await p.waitForSelector("[data-testid=save-state]:has-text('Saved annotation')");
  const task = await api(t, "GET", `/api/tasks/${taskId}`);
  const file = String(Object.values(task.data)[0]).split("/").pop();

  await p.goto(`${t.base}/projects/${project.id}`);
  await p.click("button:has-text('Export')");
  await p.check("input[name=format][value=COCO]");
  await t.screenshot("export-dialog");
  const [dl] = await Promise.all([p.waitForEvent("download", { timeout: 30000 }), p.click("[data-testid=export-download]")]);
  const saved = path.join(t.artifacts, dl.suggestedFilename());
  await dl.saveAs(saved);
  const coco = readCoco(saved);
  const img = coco.images.find((i) => i.file_name.endsWith(file));
  check(img && img.width === box.W && img.height === box.H, "COCO image of the task");
  const ann = coco.annotations.find((a) => a.image_id === img.id);
  check(ann, "COCO annotation of the box");
  check(coco.categories.find((c) => c.id === ann.category_id)?.name === "hair", "COCO category");
  near(ann.bbox[0], box.x, 1, "COCO x");
  near(ann.bbox[1], box.y, 1, "COCO y");
  near(ann.bbox[2], box.w, 1, "COCO width");
  near(ann.bbox[3], box.h, 1, "COCO height");
  await p.click("button:has-text('Close')");

  // Import the seed COCO data set (annotations + 16 images) as predictions of model "seed".
  const seed = path.join(shared(), "datasets/seed-faces16");
  const files = [path.join(seed, "annotations/train.json"), ...fs.readdirSync(path.join(seed, "images")).map((f) => path.join(seed, "images", f))];
  await p.click("button:has-text('Import')");
  await p.click("role=tab[name=/Data set/]");
  await p.setInputFiles("[data-testid=dataset-files]", files);
  await p.check("text=as predictions");
  await p.fill("input[aria-label='model version']", "seed");
  await p.click("[data-testid=dataset-import]");
  await p.waitForSelector(".msg-ok:has-text('Imported 16 tasks with 16 predictions')", { timeout: 30000 });
  await p.waitForFunction(() => /^17 tasks$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await t.screenshot("dataset-imported");
}

if (process.argv[1] && process.argv[1].endsWith("export.e2e.mjs")) await run("export", scenario);
