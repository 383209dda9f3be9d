import { describe, expect, it } from "vitest";
import { adopt, foreignResults, fromResults, newRegionId, normScore, toResults, type Region } from "../src/lib/regions";
import type { BoxConfig } from "../src/lib/config";

const cfg: BoxConfig = { fromName: "label", toName: "image", type: "rectanglelabels", dataKey: "image", labels: [{ value: "face", background: "#f00", hotkey: "1" }] };

function box(p: Partial<Region>): Region {
  return { id: "abc", x: 211, y: 52, w: 75, h: 122, label: "face", origin: "manual", predicted: false, score: null, predictionId: null, ...p };
}

describe("Label Studio results", () => {
  it("writes the exact result shape", () => {
    const [r] = toResults([box({})], cfg, 500, 281);
    expect(Object.keys(r).sort()).toEqual(["from_name", "id", "image_rotation", "origin", "original_height", "original_width", "to_name", "type", "value"]);
    expect(r.id).toBe("abc");
    expect(r.type).toBe("rectanglelabels");
    expect(r.from_name).toBe("label");
    expect(r.to_name).toBe("image");
    expect(r.original_width).toBe(500);
    expect(r.original_height).toBe(281);
    expect(r.value.rotation).toBe(0);
    expect(r.value.rectanglelabels).toEqual(["face"]);
    expect(r.value.x).toBeCloseTo(42.2);
    expect(r.value.height).toBeCloseTo((122 / 281) * 100);
  });

  it("leaves pending predictions out of the result", () => {
    expect(toResults([box({}), box({ id: "p", predicted: true, origin: "prediction", score: 0.9 })], cfg, 500, 281)).toHaveLength(1);
  });

  it("reads the seed's annotation and a prediction without original size or string id", () => {
    const seed = {
      original_width: 500, original_height: 281, image_rotation: 0,
      value: { x: 42.3718109130859, y: 18.598973284412555, width: 15.094127681337586, height: 43.737500205746926, rotation: 0, rectanglelabels: ["face"] },
      id: "0", from_name: "label", to_name: "image", type: "rectanglelabels", origin: "prediction-changed", score: 83.13779830932617,
    };
    const [a] = fromResults([seed], cfg, 500, 281, { predicted: false, predictionId: null, score: null });
    expect(a.x).toBeCloseTo(211.859, 2);
    expect(a.origin).toBe("prediction-changed");
    const [p] = fromResults([{ ...seed, id: 7, origin: undefined, original_width: undefined }], cfg, 500, 281, { predicted: true, predictionId: 4, score: 0.5 });
    expect(p.id).toBe("7");
    expect(p.predicted).toBe(true);
    expect(p.origin).toBe("prediction");
    expect(p.predictionId).toBe(4);
  });

  it("round-trips within float noise", () => {
    const [r] = toResults([box({ x: 1.5, y: 2.25, w: 3000, h: 1999.75 })], cfg, 4000, 3000);
    const [b] = fromResults([r], cfg, 4000, 3000, { predicted: false, predictionId: null, score: null });
    expect(b.x).toBeCloseTo(1.5, 9);
    expect(b.h).toBeCloseTo(1999.75, 9);
  });

  it("skips foreign or broken items and keeps foreign ones for saving", () => {
    const items = [{ from_name: "other", type: "choices", value: { choices: ["x"] } }, { from_name: "label", type: "rectanglelabels", value: { x: "1" } }, null];
    expect(fromResults(items, cfg, 10, 10, { predicted: false, predictionId: null, score: null })).toEqual([]);
    expect(foreignResults(items, cfg)).toEqual([items[0], items[1], null].filter((x) => x !== items[1]));
  });

  it("makes 10-character ids", () => {
    const id = newRegionId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{10}$/);
    expect(newRegionId()).not.toBe(id);
  });

  it("normalises 0-100 scores", () => {
    expect(normScore(83.1)).toBeCloseTo(0.831);
    expect(normScore(0.4)).toBe(0.4);
    expect(normScore(null)).toBeNull();
  });

  it("adopts predictions as accepted or edited", () => {
    const p = box({ predicted: true, origin: "prediction", score: 0.8, predictionId: 3 });
    expect(adopt(p, false)).toMatchObject({ predicted: false, origin: "prediction", predictionId: 3, id: "abc" });
    expect(adopt(p, true).origin).toBe("prediction-changed");
    expect(adopt(adopt(p, false), true).origin).toBe("prediction-changed");
    const m = box({});
    expect(adopt(m, true)).toBe(m);
  });
});
