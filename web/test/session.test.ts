import { describe, expect, it, vi } from "vitest";
import { buildSubmit, currentAnnotation, initialRegions, LeadTimer, pickPrediction, sendWithRetry } from "../src/editor/session";
import { ApiError, errorMessage, type Task } from "../src/lib/api";
import { DraftStore, type KV } from "../src/lib/draft";
import type { BoxConfig } from "../src/lib/config";
import type { Region } from "../src/lib/regions";

const cfg: BoxConfig = { fromName: "label", toName: "image", type: "rectanglelabels", dataKey: "image", labels: [{ value: "face", background: "#f00", hotkey: "1" }] };
const item = (x: number, id = "r1") => ({ id, type: "rectanglelabels", from_name: "label", to_name: "image", value: { x, y: 10, width: 20, height: 20, rotation: 0, rectanglelabels: ["face"] } });

function task(p: Partial<Task>): Task {
  return { id: 5, project: 1, data: { image: "/data/upload/1/a.jpg" }, is_labeled: false, total_annotations: 0, cancelled_annotations: 0, total_predictions: 0, ...p };
}

const ann = (id: number, cancelled = false, result: unknown[] = [item(10)], parent: number | null = null) => ({ id, result, was_cancelled: cancelled, ground_truth: false, lead_time: 1, parent_prediction: parent, completed_by: 1, updated_at: "" });

describe("task to editor boxes", () => {
  it("opens the newest annotation that is not a skip", () => {
    expect(currentAnnotation(task({ annotations: [ann(1), ann(3, true), ann(2)] }))?.id).toBe(2);
    expect(currentAnnotation(task({ annotations: [ann(3, true)] }))).toBeNull();
  });

  it("prefers the project's model version, else the newest prediction", () => {
    const preds = [
      { id: 1, result: [], score: 0.5, model_version: "v1" },
      { id: 2, result: [], score: 0.5, model_version: "v2" },
      { id: 3, result: [], score: 0.5, model_version: "v1" },
    ];
    expect(pickPrediction(preds, "v2")?.id).toBe(2);
    expect(pickPrediction(preds, "")?.id).toBe(3);
    expect(pickPrediction([], "v1")).toBeNull();
  });

  it("shows a prediction as pending boxes with a 0-1 score when there is no annotation", () => {
    const rs = initialRegions(task({ predictions: [{ id: 7, result: [item(10)], score: 83, model_version: "m" }] }), cfg, 200, 100, "");
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ predicted: true, predictionId: 7, x: 20, y: 10, w: 40, h: 20 });
    expect(rs[0].score).toBeCloseTo(0.83);
  });

  it("an existing annotation wins over predictions and keeps its prediction link", () => {
    const t = task({ annotations: [ann(4, false, [{ ...item(10), origin: "prediction" }, { ...item(50, "r2"), origin: "manual" }], 7)], predictions: [{ id: 7, result: [item(90)], score: 0.9, model_version: "m" }] });
    const rs = initialRegions(t, cfg, 100, 100, "");
    expect(rs.map((r) => [r.x, r.predicted, r.predictionId])).toEqual([[10, false, 7], [50, false, null]]);
  });
});

describe("submit", () => {
  it("builds the annotation with lead time and parent prediction, keeping foreign results", () => {
    const boxes: Region[] = [{ id: "a", x: 10, y: 10, w: 10, h: 10, label: "face", origin: "prediction", predicted: false, score: 0.9, predictionId: 7 }, { id: "b", x: 0, y: 0, w: 1, h: 1, label: "face", origin: "prediction", predicted: true, score: 0.2, predictionId: 7 }];
    const other = { id: "c", type: "choices", from_name: "q", to_name: "image", value: { choices: ["x"] } };
    const body = buildSubmit(boxes, cfg, 100, 50, 12.34567, 7, ann(1, false, [other, item(1)]));
    expect(body.lead_time).toBe(12.346);
    expect(body.parent_prediction).toBe(7);
    expect(body.was_cancelled).toBe(false);
    expect(body.result).toHaveLength(2);
    expect(body.result[0]).toBe(other);
    expect(body.result[1]).toMatchObject({ id: "a", origin: "prediction", score: 0.9, value: { x: 10, y: 20, width: 10, height: 20, rotation: 0 } });
  });

  it("retries network errors and 5xx, then succeeds", async () => {
    const send = vi.fn().mockRejectedValueOnce(new ApiError(0, "network")).mockRejectedValueOnce(new ApiError(503, "busy")).mockResolvedValueOnce("ok");
    const retries: number[] = [];
    await expect(sendWithRetry(send, [1, 1, 1], (n) => retries.push(n))).resolves.toBe("ok");
    expect(retries).toEqual([1, 2]);
  });

  it("gives up after the last retry, and at once on 4xx", async () => {
    await expect(sendWithRetry(() => Promise.reject(new ApiError(0, "down")), [1, 1], () => undefined)).rejects.toThrow("down");
    const send = vi.fn().mockRejectedValue(new ApiError(400, "bad result"));
    await expect(sendWithRetry(send, [1, 1], () => undefined)).rejects.toThrow("bad result");
    expect(send).toHaveBeenCalledTimes(1);
  });

  it("counts lead time only while running", () => {
    const t = new LeadTimer(2);
    t.start(1000);
    t.stop(3500);
    t.start(10000);
    expect(t.seconds(10500)).toBeCloseTo(5);
  });
});

describe("drafts", () => {
  function memory(): KV & { m: Map<string, string> } {
    const m = new Map<string, string>();
    return { m, getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v), removeItem: (k) => void m.delete(k) };
  }

  it("saves, loads and clears", () => {
    const kv = memory();
    const s = new DraftStore(kv);
    const r: Region = { id: "a", x: 1, y: 2, w: 3, h: 4, label: "face", origin: "manual", predicted: false, score: null, predictionId: null };
    expect(s.save({ version: 1, taskId: 4, annotationId: null, regions: [r], leadTime: 3, savedAt: 1 })).toBe(true);
    expect(s.load(4)?.regions).toEqual([r]);
    expect(s.load(5)).toBeNull();
    s.clear(4);
    expect(s.load(4)).toBeNull();
  });

  it("drops unreadable drafts and survives a full storage", () => {
    const kv = memory();
    kv.setItem("labelloop.draft.9", "{not json");
    const s = new DraftStore(kv);
    expect(s.load(9)).toBeNull();
    expect(kv.m.size).toBe(0);
    kv.setItem("labelloop.draft.9", JSON.stringify({ version: 1, taskId: 9, regions: [{ id: 1 }] }));
    expect(s.load(9)).toBeNull();
    const full = new DraftStore({ ...kv, setItem: () => { throw new Error("QuotaExceededError"); } });
    expect(full.save({ version: 1, taskId: 1, annotationId: null, regions: [], leadTime: 0, savedAt: 0 })).toBe(false);
  });
});

describe("error messages", () => {
  it("reads Label Studio's error shape", () => {
    expect(errorMessage(400, { status_code: 400, detail: "Validation error", validation_errors: { label_config: ["toName=\"x\" not found"] } }).message).toBe('toName="x" not found');
    expect(errorMessage(401, { status_code: 401, detail: "Authentication credentials were not provided." }).message).toMatch(/credentials/);
    expect(errorMessage(502, "", "Bad Gateway").message).toBe("request failed: 502 Bad Gateway");
  });
});
