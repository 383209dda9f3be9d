// Boxes as the editor holds them (image pixels) and their exact Label Studio result JSON:
// percentages of original_width/height, string region ids, from_name/to_name/type from the config,
// rotation 0, and `origin` telling whether a box was drawn, accepted from a prediction or edited from one.

import { percentToPx, pxToPercent, type Rect } from "./geometry";
import type { BoxConfig } from "./config";

export type Origin = "manual" | "prediction" | "prediction-changed";

export interface Region extends Rect {
  id: string;
  label: string;
  origin: Origin;
  /** Pre-annotation not yet accepted: shown dashed with its score, not part of the result. */
  predicted: boolean;
  score: number | null;
  /** The prediction this box came from, if any. */
  predictionId: number | null;
  /** Hidden from view by the user (still part of the annotation). */
  hidden?: boolean;
  /** Locked against moving and resizing. */
  locked?: boolean;
}

export interface LSResult {
  id: string;
  type: string;
  from_name: string;
  to_name: string;
  original_width: number;
  original_height: number;
  image_rotation: number;
  value: { x: number; y: number; width: number; height: number; rotation: number; rectanglelabels: string[] };
  origin?: string;
  score?: number;
}

export interface LSPrediction {
  id: number;
  result: unknown[];
  score: number | null;
  model_version: string;
}

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/** A 10-character region id as the Label Studio frontend makes them. */
export function newRegionId(): string {
  const bytes = new Uint8Array(10);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += ID_CHARS[b & 63];
  return s;
}

export function toResult(r: Region, cfg: BoxConfig, imgW: number, imgH: number): LSResult {
  const p = pxToPercent(r, imgW, imgH);
  const out: LSResult = {
    id: r.id,
    type: cfg.type,
    from_name: cfg.fromName,
    to_name: cfg.toName,
    original_width: imgW,
    original_height: imgH,
    image_rotation: 0,
    value: { x: p.x, y: p.y, width: p.w, height: p.h, rotation: 0, rectanglelabels: [r.label] },
    origin: r.origin,
  };
  if (r.score !== null && r.origin !== "manual") out.score = r.score;
  return out;
}

/** The result list of an annotation: every box that is the annotation's own (not pending predictions). */
export function toResults(regions: Region[], cfg: BoxConfig, imgW: number, imgH: number): LSResult[] {
  return regions.filter((r) => !r.predicted).map((r) => toResult(r, cfg, imgW, imgH));
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Reads the rectangle items of a result list that belong to this config's control (others are
 * skipped; see foreignResults). Percentages are relative, so they are mapped onto the natural size of
 * the image as loaded, whatever original_width/height the producer wrote.
 */
export function fromResults(items: unknown[], cfg: BoxConfig, imgW: number, imgH: number, opts: { predicted: boolean; predictionId: number | null; score: number | null }): Region[] {
  const out: Region[] = [];
  for (const it of items) {
    if (!isObj(it) || !isObj(it.value)) continue;
    if (it.from_name !== cfg.fromName || (it.type !== cfg.type && it.type !== "rectangle")) continue;
    const v = it.value;
    const nums = [v.x, v.y, v.width, v.height];
    if (!nums.every((n) => typeof n === "number" && Number.isFinite(n))) continue;
    const labels = Array.isArray(v.rectanglelabels) ? v.rectanglelabels : [];
    const px = percentToPx({ x: v.x as number, y: v.y as number, w: v.width as number, h: v.height as number }, imgW, imgH);
    const score = typeof it.score === "number" ? it.score : opts.score;
    const origin = typeof it.origin === "string" && ["manual", "prediction", "prediction-changed"].includes(it.origin) ? (it.origin as Origin) : opts.predicted ? "prediction" : "manual";
    out.push({
      ...px,
      id: typeof it.id === "string" && it.id ? it.id : it.id !== undefined ? String(it.id) : newRegionId(),
      label: typeof labels[0] === "string" ? labels[0] : cfg.labels[0]?.value ?? "",
      origin,
      predicted: opts.predicted,
      score,
      predictionId: opts.predictionId,
    });
  }
  return out;
}

/** Items of a result list that the box editor does not handle, kept so that a save never drops them. */
export function foreignResults(items: unknown[], cfg: BoxConfig): unknown[] {
  return items.filter((it) => !(isObj(it) && it.from_name === cfg.fromName && (it.type === cfg.type || it.type === "rectangle")));
}

/**
 * Scores of Label Studio predictions come on a 0-1 scale or (as in the seed data) 0-100. The editor
 * shows and filters on 0-1.
 */
export function normScore(s: number | null): number | null {
  if (s === null || !Number.isFinite(s)) return null;
  return s > 1 ? s / 100 : s;
}

/** Turns an accepted or edited prediction box into the annotation's own box. */
export function adopt(r: Region, changed: boolean): Region {
  if (!r.predicted && !(changed && r.origin === "prediction")) return r;
  return { ...r, predicted: false, origin: changed ? "prediction-changed" : "prediction" };
}
