import { describe, expect, it } from "vitest";
import {
  curveLayout,
  curvePoints,
  fmtAgo,
  fmtAp,
  fmtDuration,
  fmtEta,
  fmtSaved,
  helpTotals,
  jobFraction,
  jobLine,
  linearScale,
  linePath,
  niceTicks,
  parseCount,
  pollDelay,
  tickDecimals,
  upperTick,
  type HelpRow,
} from "../src/lib/loop";
import { job, version } from "./fixtures";
import { sortOf, taskQuery, toggleOrder } from "../src/lib/tasklist";

function help(o: Partial<HelpRow>): HelpRow {
  return { model_version: "v", annotations: 0, shown: 0, accepted: 0, adjusted: 0, deleted: 0, drawn: 0, adjust_iou_mean: 0, lead_time_n: 0, lead_time_mean: 0, box_seconds_saved: 0, ...o };
}

describe("plot ticks and scales", () => {
  it("picks steps of 1, 2 or 5 times a power of ten", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 8, 5)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, 0.3, 4)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0, 1234, 5)).toEqual([0, 500, 1000]);
    expect(niceTicks(3, 17, 5)).toEqual([5, 10, 15]);
  });

  it("has no floating-point noise and handles odd input", () => {
    for (const t of niceTicks(0, 0.7, 7)) expect(String(t).length).toBeLessThanOrEqual(3);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(10, 0, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, Infinity)).toEqual([]);
  });

  it("ends an axis from 0 on a tick at or above the value", () => {
    for (const v of [0.05, 0.1, 0.37, 0.93, 1, 2.1, 4.1, 5.5, 8.4, 9.5, 11, 19, 47, 101, 1234, 99999]) {
      const top = upperTick(v, 5);
      expect(top).toBeGreaterThanOrEqual(v);
      const ticks = niceTicks(0, top, 5);
      expect(ticks[ticks.length - 1]).toBeCloseTo(top, 9);
      expect(ticks.length).toBeGreaterThanOrEqual(2);
    }
  });

  it("gives tick labels the decimals of the step", () => {
    expect(tickDecimals([0, 0.2, 0.4])).toBe(1);
    expect(tickDecimals([0, 0.05, 0.1])).toBe(2);
    expect(tickDecimals([0, 20, 40])).toBe(0);
    expect(tickDecimals([0, 1, 2])).toBe(0);
  });

  it("maps linearly, flipping for SVG's y", () => {
    const y = linearScale(0, 1, 170, 10);
    expect(y(0)).toBe(170);
    expect(y(1)).toBe(10);
    expect(y(0.5)).toBe(90);
    expect(linearScale(3, 3, 0, 100)(3)).toBe(50);
  });

  it("lays out the learning curve inside the frame", () => {
    const pts = curvePoints([version(2), version(1), version(3, { metrics: null }), version(4, { train_images: 8, seq: 4 })]);
    expect(pts.map((p) => p.version)).toEqual(["fcos-s-v4", "fcos-s-v1", "fcos-s-v2"]); // by training images; no metrics, no point
    const L = curveLayout(pts, 400, 200);
    expect(L.xDomain[0]).toBe(0);
    expect(L.xDomain[1]).toBeGreaterThan(20); // room past the largest set
    expect(L.xTicks[L.xTicks.length - 1]).toBe(L.xDomain[1]);
    expect(L.yDomain[1]).toBeGreaterThanOrEqual(0.404);
    expect(L.yDomain[1]).toBeLessThanOrEqual(1);
    for (const p of pts) {
      expect(L.x(p.x)).toBeGreaterThanOrEqual(L.left);
      expect(L.x(p.x)).toBeLessThan(L.width - L.right);
      expect(L.y(p.ap50)).toBeGreaterThanOrEqual(L.top);
      expect(L.y(p.ap)).toBeLessThanOrEqual(L.height - L.bottom);
    }
    expect(L.y(0)).toBe(200 - L.bottom);
    expect(L.x(0)).toBe(L.left);
  });

  it("never lets AP run past 1 and copes with all-zero metrics", () => {
    const one = curveLayout(curvePoints([version(1, { metrics: { ap: 0.9, ap50: 0.99, ap75: 0.9 } })]), 400, 200);
    expect(one.yDomain[1]).toBe(1);
    const zero = curveLayout(curvePoints([version(1, { metrics: { ap: 0, ap50: 0, ap75: 0 }, train_images: 0 })]), 400, 200);
    expect(zero.yDomain[1]).toBeGreaterThan(0);
    expect(zero.xDomain[1]).toBeGreaterThan(0);
    expect(Number.isFinite(zero.x(0)) && Number.isFinite(zero.y(0))).toBe(true);
  });

  it("writes SVG paths", () => {
    expect(linePath([[1, 2], [3.14159, 4]])).toBe("M1 2 L3.1 4");
    expect(linePath([])).toBe("");
  });
});

describe("durations and ETAs", () => {
  it("formats durations", () => {
    expect(fmtDuration(3.14)).toBe("3.1 s");
    expect(fmtDuration(45)).toBe("45 s");
    expect(fmtDuration(59.6)).toBe("1 min 00 s");
    expect(fmtDuration(185)).toBe("3 min 05 s");
    expect(fmtDuration(3720)).toBe("1 h 02 min");
    expect(fmtDuration(null)).toBe("–");
    expect(fmtDuration(-1)).toBe("–");
    expect(fmtDuration(NaN)).toBe("–");
  });

  it("formats ETAs and savings", () => {
    expect(fmtEta(40)).toBe("about 40 s left");
    expect(fmtEta(2.2)).toBe("about 3.0 s left");
    expect(fmtEta(0)).toBe("");
    expect(fmtEta(undefined)).toBe("");
    expect(fmtSaved(90)).toBe("1 min 30 s");
    expect(fmtSaved(-40)).toBe("−40 s");
  });

  it("says how long ago", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(fmtAgo("2026-01-01T11:59:50Z", now)).toBe("just now");
    expect(fmtAgo("2026-01-01T11:55:00Z", now)).toBe("5 min ago");
    expect(fmtAgo("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
    expect(fmtAgo("2025-12-30T12:00:00Z", now)).toBe("2 d ago");
    expect(fmtAgo("2025-11-01T12:00:00Z", now)).toBe("2025-11-01");
    expect(fmtAgo(null, now)).toBe("–");
    expect(fmtAgo("garbage", now)).toBe("–");
    expect(fmtAp(0.41234)).toBe("0.412");
    expect(fmtAp(null)).toBe("–");
  });
});

describe("job progress", () => {
  it("measures each phase by its own counter", () => {
    expect(jobFraction(job())).toBeCloseTo(30 / 200);
    expect(jobFraction(job({ phase: "loading", progress: { loaded: 4, to_load: 8 } }))).toBe(0.5);
    expect(jobFraction(job({ phase: "predicting", progress: { done: 3, total: 12 } }))).toBe(0.25);
    expect(jobFraction(job({ phase: "evaluating", progress: {} }))).toBeNull();
    expect(jobFraction(job({ state: "queued", phase: "", progress: null }))).toBeNull();
    expect(jobFraction(job({ progress: { epoch: 3, epochs: 4 } }))).toBe(0.5);
  });

  it("says where a job is in one line", () => {
    expect(jobLine(job())).toBe("training · epoch 3/20 · loss 1.235 · 45.3 img/s · about 40 s left");
    expect(jobLine(job({ phase: "predicting", progress: { done: 3, total: 12, eta_s: 2 } }))).toBe("predicting · 3/12 tasks · about 2.0 s left");
    expect(jobLine(job({ phase: "loading", progress: { loaded: 0, to_load: 8, epoch: 0, epochs: 150, step: 0, loss: 0 } }))).toBe("loading · 0/8 images");
    expect(jobLine(job({ state: "queued", phase: "", reason: "manual" }))).toBe("queued (manual)");
    expect(jobLine(job({ cancel_requested: true, progress: {} }))).toBe("training · cancelling…");
    expect(jobLine(job({ phase: "", progress: {} }))).toBe("starting");
    expect(jobLine(job({ attempt: 2, progress: {} }))).toBe("training · attempt 2");
  });

  it("polls fast only while something happens", () => {
    expect(pollDelay({ running: job(), queued: null })).toBe(2000);
    expect(pollDelay({ running: null, queued: job({ state: "queued" }) })).toBe(2000);
    expect(pollDelay({ running: null, queued: null })).toBe(15000);
    expect(pollDelay(null)).toBe(15000);
  });
});

describe("effort saved", () => {
  it("adds counts and weights the means", () => {
    const rows = [
      help({ model_version: "", annotations: 10, drawn: 30, lead_time_n: 10, lead_time_mean: 20 }),
      help({ model_version: "v1", annotations: 5, accepted: 8, adjusted: 2, deleted: 3, drawn: 1, adjust_iou_mean: 0.6, lead_time_n: 5, lead_time_mean: 8, box_seconds_saved: 89 }),
      help({ model_version: "v2", annotations: 5, accepted: 10, adjusted: 6, deleted: 1, adjust_iou_mean: 0.8, lead_time_n: 4, lead_time_mean: 5, box_seconds_saved: 135 }),
    ];
    const t = helpTotals(rows);
    expect(t).toMatchObject({ model_version: "total", annotations: 20, accepted: 18, adjusted: 8, deleted: 4, drawn: 31, lead_time_n: 19, box_seconds_saved: 224 });
    expect(t.adjust_iou_mean).toBeCloseTo((0.6 * 2 + 0.8 * 6) / 8);
    expect(t.lead_time_mean).toBeCloseTo((200 + 40 + 20) / 19);
  });

  it("has zero means, not NaN, when nothing was adjusted or timed", () => {
    const t = helpTotals([help({ drawn: 3 })]);
    expect(t.adjust_iou_mean).toBe(0);
    expect(t.lead_time_mean).toBe(0);
    expect(helpTotals([]).annotations).toBe(0);
  });
});

describe("task list columns and settings", () => {
  it("sorts by score and uncertainty through the data-manager query", () => {
    expect(toggleOrder("id", "uncertainty")).toBe("-uncertainty");
    expect(toggleOrder("-uncertainty", "uncertainty")).toBe("uncertainty");
    expect(toggleOrder("uncertainty", "uncertainty")).toBe("id");
    expect(toggleOrder("-uncertainty", "predictions_score")).toBe("-predictions_score");
    expect(sortOf("-uncertainty", "uncertainty")).toBe("descending");
    expect(sortOf("uncertainty", "uncertainty")).toBe("ascending");
    expect(sortOf("uncertainty", "predictions_score")).toBeNull();
    const q = JSON.parse(new URLSearchParams(taskQuery(1, 1, 100, "all", "-uncertainty").split("?")[1]).get("query")!);
    expect(q.ordering).toEqual(["-tasks:uncertainty"]);
  });

  it("sends whole numbers as numbers and anything else as typed", () => {
    expect(parseCount(" 12 ")).toBe(12);
    expect(parseCount("-1")).toBe(-1);
    expect(parseCount("1.5")).toBe("1.5");
    expect(parseCount("ten")).toBe("ten");
  });
});
