import { describe, expect, it } from "vitest";
import { EditorModel } from "../src/editor/model";
import { History } from "../src/lib/history";
import type { Region } from "../src/lib/regions";

function pred(id: string, score: number, x = 0): Region {
  return { id, x, y: 0, w: 10, h: 10, label: "a", origin: "prediction", predicted: true, score, predictionId: 9 };
}

function fresh(): EditorModel {
  const m = new EditorModel(["a", "b"]);
  m.reset([], 100, 100);
  return m;
}

describe("history", () => {
  it("undoes and redoes, and a new change clears redo", () => {
    const h = new History<number>(3);
    h.push(1);
    h.push(2);
    expect(h.undo(3)).toBe(2);
    expect(h.redo(2)).toBe(3);
    expect(h.undo(3)).toBe(2);
    h.push(2);
    expect(h.canRedo).toBe(false);
    h.push(5);
    h.push(6);
    h.push(7);
    expect([h.undo(8), h.undo(7), h.undo(6), h.undo(5)]).toEqual([7, 6, 5, null]);
  });
});

describe("editor model", () => {
  it("adds, relabels, deletes with undo/redo", () => {
    const m = fresh();
    const r = m.add({ x: 1, y: 2, w: 3, h: 4 });
    expect(m.selectedId).toBe(r.id);
    m.chooseLabel("b");
    expect(m.get(r.id)?.label).toBe("b");
    expect(m.activeLabel).toBe("b");
    m.remove(r.id);
    expect(m.regions).toHaveLength(0);
    m.undo();
    expect(m.get(r.id)?.label).toBe("b");
    m.undo();
    expect(m.get(r.id)?.label).toBe("a");
    m.undo();
    expect(m.regions).toHaveLength(0);
    m.redo();
    m.redo();
    expect(m.get(r.id)?.label).toBe("b");
  });

  it("records a drag as one undo step and tells listeners once it is committed", () => {
    const m = fresh();
    const r = m.add({ x: 1, y: 1, w: 5, h: 5 });
    const events: boolean[] = [];
    m.subscribe((c) => events.push(c));
    m.beginEdit();
    m.setRectLive(r.id, { x: 2, y: 2, w: 5, h: 5 });
    m.setRectLive(r.id, { x: 3, y: 3, w: 5, h: 5 });
    m.endEdit();
    expect(events).toEqual([false, false, true]);
    expect(m.get(r.id)?.x).toBe(3);
    m.undo();
    expect(m.get(r.id)?.x).toBe(1);
  });

  it("a click without movement records nothing", () => {
    const m = fresh();
    m.add({ x: 1, y: 1, w: 5, h: 5 });
    m.undo();
    expect(m.canUndo).toBe(false);
    m.beginEdit();
    m.endEdit();
    expect(m.canUndo).toBe(false);
  });

  it("hides predictions under the slider and accepts those above", () => {
    const m = new EditorModel(["a"]);
    m.reset([pred("p1", 0.3), pred("p2", 0.6), pred("p3", 0.9)], 100, 100);
    m.setThreshold(0.5);
    expect(m.visible().map((r) => r.id)).toEqual(["p2", "p3"]);
    expect(m.acceptAbove()).toBe(2);
    expect(m.own().map((r) => [r.id, r.origin])).toEqual([["p2", "prediction"], ["p3", "prediction"]]);
    expect(m.parentPrediction()).toBe(9);
    m.undo();
    expect(m.own()).toHaveLength(0);
    expect(m.parentPrediction()).toBeNull();
  });

  it("editing a predicted box makes it the annotation's own, changed", () => {
    const m = new EditorModel(["a", "b"]);
    m.reset([pred("p1", 0.8)], 100, 100);
    m.beginEdit();
    m.setRectLive("p1", { x: 5, y: 5, w: 10, h: 10 });
    m.endEdit();
    expect(m.get("p1")).toMatchObject({ predicted: false, origin: "prediction-changed", predictionId: 9 });
    m.reset([pred("p2", 0.8)], 100, 100);
    m.setLabel("p2", "b");
    expect(m.get("p2")).toMatchObject({ predicted: false, origin: "prediction-changed", label: "b" });
    m.reset([pred("p3", 0.8)], 100, 100);
    m.accept("p3");
    m.nudge("p3", 1, 0);
    expect(m.get("p3")?.origin).toBe("prediction-changed");
  });

  it("rejecting a prediction removes it, undoably", () => {
    const m = new EditorModel(["a"]);
    m.reset([pred("p1", 0.8)], 100, 100);
    m.remove("p1");
    expect(m.regions).toHaveLength(0);
    m.undo();
    expect(m.get("p1")?.predicted).toBe(true);
  });

  it("cycles through visible boxes in reading order", () => {
    const m = new EditorModel(["a"]);
    m.reset([pred("c", 0.9, 50), pred("a", 0.9, 0), pred("hidden", 0.1, 20)], 100, 100);
    m.setThreshold(0.5);
    m.cycle(1);
    expect(m.selectedId).toBe("a");
    m.cycle(1);
    expect(m.selectedId).toBe("c");
    m.cycle(1);
    expect(m.selectedId).toBe("a");
    m.cycle(-1);
    expect(m.selectedId).toBe("c");
  });

  it("nudges inside the image", () => {
    const m = fresh();
    const r = m.add({ x: 95, y: 0, w: 5, h: 5 });
    m.nudge(r.id, 10, -3);
    expect(m.get(r.id)).toMatchObject({ x: 95, y: 0 });
  });
});
