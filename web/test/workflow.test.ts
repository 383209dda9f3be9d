import { describe, expect, it } from "vitest";
import { EditorModel } from "../src/editor/model";
import { TaskNav } from "../src/lib/nav";
import { taskQuery } from "../src/lib/tasklist";
import type { Region } from "../src/lib/regions";

function pred(id: string, score: number, x = 0): Region {
  return { id, x, y: 0, w: 10, h: 10, label: "a", origin: "prediction", predicted: true, score, predictionId: 9 };
}

/** A list of ids served in chunks, counting the fetches. */
function fetcher(ids: number[]) {
  const calls: number[] = [];
  const fn = async (page: number, size: number) => {
    calls.push(page);
    return { ids: ids.slice((page - 1) * size, page * size), total: ids.length };
  };
  return { fn, calls };
}

describe("task list navigation", () => {
  it("steps through the list's order, not the queue's, and says where it ends", async () => {
    const { fn } = fetcher([9, 3, 7, 1, 8]);
    const nav = new TaskNav("k", fn, 2);
    expect(await nav.neighbor(7, 1)).toBe(1);
    expect(await nav.neighbor(7, -1)).toBe(3);
    expect(await nav.neighbor(9, -1)).toBeNull();
    expect(await nav.neighbor(8, 1)).toBeNull();
    expect(await nav.neighbor(42, 1)).toBeUndefined();
    expect(nav.position(1)).toEqual([4, 5]);
  });

  it("keeps its snapshot: a task that left the filter keeps its place", async () => {
    const ids = [1, 2, 3, 4];
    const { fn, calls } = fetcher(ids);
    const nav = new TaskNav("k", fn, 10);
    expect(await nav.neighbor(2, 1)).toBe(3);
    ids.splice(1, 1); // task 2 was labeled and left "Unlabeled"
    expect(await nav.neighbor(3, -1)).toBe(2);
    expect(await nav.neighbor(2, 1)).toBe(3);
    expect(calls).toEqual([1]);
  });

  it("fetches only as far as it needs", async () => {
    const { fn, calls } = fetcher(Array.from({ length: 50 }, (_, i) => i + 1));
    const nav = new TaskNav("k", fn, 10);
    expect(await nav.neighbor(5, 1)).toBe(6);
    expect(calls).toEqual([1]);
    expect(await nav.neighbor(10, 1)).toBe(11);
    expect(calls).toEqual([1, 2]);
  });

  it("searches file names with a contains filter on the image's data key", () => {
    const q = JSON.parse(new URL(taskQuery(1, 1, 10, "unlabeled", "id", " raccoon-1 ", "img"), "http://x").searchParams.get("query")!);
    expect(q.filters.items.at(-1)).toEqual({ filter: "filter:tasks:data.img", operator: "contains", type: "String", value: "raccoon-1" });
    expect(q.filters.items.length).toBe(3);
  });
});

describe("editor model: review, hide, lock, paste", () => {
  it("counts pending predictions above the slider and rejects them", () => {
    const m = new EditorModel(["a"], 0.3);
    m.reset([pred("p1", 0.9), pred("p2", 0.5), pred("p3", 0.1)], 100, 100);
    expect(m.hadPredictions).toBe(true);
    expect(m.pending().map((r) => r.id)).toEqual(["p1", "p2"]);
    m.accept("p1");
    expect(m.rejectAbove()).toBe(1);
    expect(m.regions.map((r) => [r.id, r.predicted])).toEqual([["p1", false], ["p3", true]]);
    expect(m.pending()).toEqual([]);
  });

  it("hides and locks boxes; a locked box does not move by arrows", () => {
    const m = new EditorModel(["a"]);
    m.reset([], 100, 100);
    const r = m.add({ x: 10, y: 10, w: 20, h: 20 });
    m.toggleLocked(r.id);
    m.nudge(r.id, 5, 0);
    expect(m.get(r.id)!.x).toBe(10);
    m.toggleHidden(r.id);
    expect(m.isVisible(m.get(r.id)!)).toBe(false);
    expect(m.selectedId).toBeNull();
    m.showAll();
    expect(m.isVisible(m.get(r.id)!)).toBe(true);
  });

  it("pastes boxes given in fractions onto an image of another size", () => {
    const m = new EditorModel(["a", "b"]);
    m.reset([], 200, 100);
    expect(m.paste([{ label: "b", fx: 0.5, fy: 0.5, fw: 0.25, fh: 0.5 }, { label: "zz", fx: 0, fy: 0, fw: 0.1, fh: 0.1 }])).toBe(2);
    expect(m.regions.map((r) => [r.x, r.y, r.w, r.h, r.label, r.origin])).toEqual([
      [100, 50, 50, 50, "b", "manual"],
      [0, 0, 20, 10, "a", "manual"],
    ]);
    expect(m.canUndo).toBe(true);
  });
});

describe("editor preferences", () => {
  /** A Storage stand-in for the node environment. */
  function storage(): Storage {
    const m = new Map<string, string>();
    return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), clear: () => m.clear(), key: () => null, length: 0 } as Storage;
  }

  it("remembers the slider per project and the copied boxes, refusing junk", async () => {
    const g = globalThis as unknown as Record<string, unknown>;
    g.localStorage = storage();
    g.sessionStorage = storage();
    const { copiedBoxes, copyBoxes, savedThreshold, saveThreshold } = await import("../src/editor/prefs");
    expect(savedThreshold(1)).toBeNull();
    saveThreshold(1, 0.45);
    expect([savedThreshold(1), savedThreshold(2)]).toEqual([0.45, null]);
    (g.localStorage as Storage).setItem("labelloop.threshold.3", "7");
    expect(savedThreshold(3)).toBeNull();
    copyBoxes([{ label: "a", fx: 0.1, fy: 0.2, fw: 0.3, fh: 0.4 }]);
    expect(copiedBoxes()).toEqual([{ label: "a", fx: 0.1, fy: 0.2, fw: 0.3, fh: 0.4 }]);
    (g.sessionStorage as Storage).setItem("labelloop.clipboard", '[{"label":"a","fx":"x"}, 3, null]');
    expect(copiedBoxes()).toEqual([]);
    delete g.localStorage;
    delete g.sessionStorage;
  });
});
