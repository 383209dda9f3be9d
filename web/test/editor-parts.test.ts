import { describe, expect, it } from "vitest";
import { EditorModel } from "../src/editor/model";
import { editorKeyAction, keyForPage, type EditorKeys, type KeyPress } from "../src/editor/keys";
import { reviewNeeded, settleReview } from "../src/editor/triage";
import type { Region } from "../src/lib/regions";

function pred(id: string, score: number): Region {
  return { id, x: 0, y: 0, w: 10, h: 10, label: "a", origin: "prediction", predicted: true, score, predictionId: 9 };
}

function press(key: string, mods: Partial<KeyPress> = {}): KeyPress {
  return { key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods };
}

/** The page's operations, recording what was asked. */
function page(model: EditorModel, state: { help?: boolean; drawMode?: boolean } = {}) {
  const calls: string[] = [];
  const k: EditorKeys = {
    model,
    labelKeys: new Map([["1", "a"], ["2", "b"]]),
    help: state.help ?? false,
    drawMode: state.drawMode ?? false,
    send: (skip) => calls.push(skip ? "skip" : "submit"),
    copy: () => calls.push("copy"),
    paste: () => calls.push("paste"),
    step: (dir) => calls.push(`step ${dir}`),
    acceptAll: () => calls.push("acceptAll"),
    toggleHelp: () => calls.push("toggleHelp"),
    closeHelp: () => calls.push("closeHelp"),
    setDrawMode: (on) => calls.push(`draw ${on}`),
    fit: () => calls.push("fit"),
    zoomBy: (f) => calls.push(`zoom ${f}`),
  };
  return { k, calls };
}

function run(k: EditorKeys, p: KeyPress): boolean {
  const fn = editorKeyAction(p, k);
  fn?.();
  return fn !== null;
}

describe("editor keys", () => {
  it("maps submit, skip, navigation, zoom and help to the page's operations", () => {
    const { k, calls } = page(new EditorModel(["a", "b"]));
    run(k, press("Enter", { ctrlKey: true }));
    run(k, press(" ", { ctrlKey: true }));
    run(k, press("["));
    run(k, press("]"));
    run(k, press("0"));
    run(k, press("+"));
    run(k, press("-"));
    run(k, press("?", { shiftKey: true }));
    run(k, press("n"));
    expect(calls).toEqual(["submit", "skip", "step -1", "step 1", "fit", "zoom 1.25", "zoom 0.8", "toggleHelp", "draw true"]);
    expect(run(k, press("q"))).toBe(false);
  });

  it("escape closes help first, then leaves draw mode, then deselects", () => {
    const m = new EditorModel(["a"]);
    m.reset([], 100, 100);
    const r = m.add({ x: 1, y: 1, w: 5, h: 5 });
    const help = page(m, { help: true, drawMode: true });
    run(help.k, press("Escape"));
    const draw = page(m, { drawMode: true });
    run(draw.k, press("Escape"));
    expect([help.calls, draw.calls]).toEqual([["closeHelp"], ["draw false"]]);
    expect(m.selectedId).toBe(r.id);
    run(page(m).k, press("Escape"));
    expect(m.selectedId).toBeNull();
  });

  it("label hotkeys relabel, arrows nudge (Shift: 10 px), Delete removes, undo restores", () => {
    const m = new EditorModel(["a", "b"]);
    m.reset([], 100, 100);
    const r = m.add({ x: 10, y: 10, w: 5, h: 5 });
    const { k } = page(m);
    run(k, press("2"));
    expect(m.get(r.id)?.label).toBe("b");
    run(k, press("ArrowRight"));
    run(k, press("ArrowDown", { shiftKey: true }));
    expect(m.get(r.id)).toMatchObject({ x: 11, y: 20 });
    run(k, press("Delete"));
    expect(m.get(r.id)).toBeUndefined();
    run(k, press("z", { ctrlKey: true }));
    expect(m.get(r.id)).toBeDefined();
  });

  it("leaves typing in form fields and keys under a dialog to them", () => {
    const input = { tagName: "INPUT", isContentEditable: false, getAttribute: () => "text" } as unknown as HTMLElement;
    const slider = { tagName: "INPUT", isContentEditable: false, getAttribute: () => "range" } as unknown as HTMLElement;
    expect(keyForPage(input, "n", false)).toBe(false);
    expect(keyForPage(slider, "n", false)).toBe(true);
    expect(keyForPage(null, "n", true)).toBe(false);
    expect(keyForPage(null, "?", true)).toBe(true);
  });
});

describe("prediction triage", () => {
  it("asks for review of pending predictions above the slider unless skipped or forced", () => {
    const m = new EditorModel(["a"]);
    m.reset([pred("p1", 0.3), pred("p2", 0.6), pred("p3", 0.9)], 100, 100);
    m.setThreshold(0.5);
    expect(reviewNeeded(m, false, false)).toBe(2);
    expect(reviewNeeded(m, true, false)).toBe(0);
    expect(reviewNeeded(m, false, true)).toBe(0);
  });

  it("accepting keeps the boxes above the slider, rejecting drops them", () => {
    const a = new EditorModel(["a"]);
    a.reset([pred("p1", 0.3), pred("p2", 0.6)], 100, 100);
    a.setThreshold(0.5);
    settleReview(a, true);
    expect(a.own().map((r) => r.id)).toEqual(["p2"]);
    expect(reviewNeeded(a, false, false)).toBe(0);
    const b = new EditorModel(["a"]);
    b.reset([pred("p1", 0.3), pred("p2", 0.6)], 100, 100);
    b.setThreshold(0.5);
    settleReview(b, false);
    expect(b.own()).toHaveLength(0);
    expect(b.regions.map((r) => r.id)).toEqual(["p1"]);
  });
});
