// Helpers to drive the box editor from a test: image pixels to page coordinates, mouse drags,
// and a plain-data snapshot of the editor's state (window.labelloopEditor).

import path from "node:path";
import { ROOT } from "./harness.mjs";

export function shared() {
  return process.env.LL_SHARED || path.join(ROOT, "../shared");
}

export async function waitEditor(page) {
  await page.waitForFunction(() => window.labelloopEditor && window.labelloopEditor.view.frameTimes.length > 0, null, { timeout: 15000 });
}

/** Page coordinates of an image pixel in the editor. */
export function canvasPoint(page, x, y) {
  return page.evaluate(([x, y]) => {
    const e = window.labelloopEditor;
    const [sx, sy] = e.view.screenOf(x, y);
    const r = e.view.element.getBoundingClientRect();
    return [r.left + sx, r.top + sy];
  }, [x, y]);
}

export async function drag(page, [x0, y0], [x1, y1]) {
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 3 });
  await page.mouse.move(x1, y1, { steps: 3 });
  await page.mouse.up();
}

export function editorState(page) {
  return page.evaluate(() => {
    const e = window.labelloopEditor;
    return { taskId: e.taskId, imgW: e.model.imgW, imgH: e.model.imgH, regions: e.model.regions.map((r) => ({ ...r })), selected: e.model.selectedId, visible: e.model.visible().length, active: e.model.activeLabel };
  });
}
