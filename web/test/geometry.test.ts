import { describe, expect, it } from "vitest";
import { crisp, fitView, hitHandle, moveRect, percentToPx, pxToPercent, rectFromCorners, resizeRect, toImage, toScreen, zoomAt } from "../src/lib/geometry";

describe("view transform", () => {
  it("round-trips image and screen points", () => {
    const v = { scale: 0.37, tx: 12.5, ty: -40 };
    const [sx, sy] = toScreen(v, 1234.5, 987.25);
    const [x, y] = toImage(v, sx, sy);
    expect(x).toBeCloseTo(1234.5, 9);
    expect(y).toBeCloseTo(987.25, 9);
  });

  it("zooms around the cursor: the image point under it stays put", () => {
    const v = { scale: 0.5, tx: 100, ty: 50 };
    const before = toImage(v, 300, 200);
    const z = zoomAt(v, 3, 300, 200);
    expect(z.scale).toBeCloseTo(1.5);
    const after = toImage(z, 300, 200);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
  });

  it("clamps zoom", () => {
    expect(zoomAt({ scale: 1, tx: 0, ty: 0 }, 1e6, 0, 0).scale).toBe(64);
    expect(zoomAt({ scale: 1, tx: 0, ty: 0 }, 1e-6, 0, 0).scale).toBe(0.01);
  });

  it("fits a wide image in a viewport, centred", () => {
    const v = fitView(4000, 3000, 1032, 632, 16);
    expect(v.scale).toBeCloseTo(0.2);
    const [l, t] = toScreen(v, 0, 0);
    const [r, b] = toScreen(v, 4000, 3000);
    expect(l).toBeCloseTo(1032 - r);
    expect(t).toBeCloseTo(632 - b);
    expect(t).toBeCloseTo(16);
  });
});

describe("rectangles", () => {
  it("builds from corners in any order and clips to the image", () => {
    expect(rectFromCorners(50, 60, 10, 20, 100, 100)).toEqual({ x: 10, y: 20, w: 40, h: 40 });
    expect(rectFromCorners(-5, -5, 120, 30, 100, 100)).toEqual({ x: 0, y: 0, w: 100, h: 30 });
  });

  it("moves inside the image only", () => {
    expect(moveRect({ x: 10, y: 10, w: 20, h: 20 }, 100, -50, 100, 100)).toEqual({ x: 80, y: 0, w: 20, h: 20 });
  });

  it("resizes by a handle and flips when dragged past the opposite side", () => {
    const r = { x: 10, y: 10, w: 20, h: 20 };
    expect(resizeRect(r, "se", 50, 60, 100, 100)).toEqual({ x: 10, y: 10, w: 40, h: 50 });
    expect(resizeRect(r, "n", 99, 5, 100, 100)).toEqual({ x: 10, y: 5, w: 20, h: 25 });
    expect(resizeRect(r, "w", 40, 0, 100, 100)).toEqual({ x: 30, y: 10, w: 10, h: 20 });
  });

  it("finds handles within tolerance in screen space", () => {
    const v = { scale: 2, tx: 0, ty: 0 };
    const r = { x: 10, y: 10, w: 20, h: 20 };
    expect(hitHandle(v, r, 60, 60)).toBe("se");
    expect(hitHandle(v, r, 40, 22)).toBe("n");
    expect(hitHandle(v, r, 40, 40)).toBeNull();
  });

  it("converts to Label Studio percentages and back", () => {
    const p = pxToPercent({ x: 211, y: 52, w: 75, h: 122 }, 500, 281);
    expect(p.x).toBeCloseTo(42.2);
    const px = percentToPx(p, 500, 281);
    expect(px.x).toBeCloseTo(211, 9);
    expect(px.h).toBeCloseTo(122, 9);
  });

  it("snaps odd-width lines to half pixels", () => {
    expect(crisp(10.2)).toBe(10.5);
    expect(crisp(10.2, 2)).toBe(10);
  });
});
