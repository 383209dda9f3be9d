// Coordinate maths of the box editor, kept free of the DOM so it can be unit tested.
// Boxes live in image pixels (floats, origin top-left); the view maps them to canvas pixels with
// screen = image * scale + t. Label Studio results use percentages of the original size.

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface View {
  scale: number;
  tx: number;
  ty: number;
}

export type Handle = "nw" | "n" | "ne" | "e" | "se" | "s" | "sw" | "w";

export const MIN_SCALE = 0.01;
export const MAX_SCALE = 64;

export function toScreen(v: View, x: number, y: number): [number, number] {
  return [x * v.scale + v.tx, y * v.scale + v.ty];
}

export function toImage(v: View, sx: number, sy: number): [number, number] {
  return [(sx - v.tx) / v.scale, (sy - v.ty) / v.scale];
}

/** Zooms by `factor` keeping the image point under the screen point (sx, sy) fixed. */
export function zoomAt(v: View, factor: number, sx: number, sy: number): View {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, v.scale * factor));
  const k = scale / v.scale;
  return { scale, tx: sx - (sx - v.tx) * k, ty: sy - (sy - v.ty) * k };
}

/** The view that shows the whole image centred in a viewport, with a margin in screen pixels. */
export function fitView(imgW: number, imgH: number, viewW: number, viewH: number, margin = 16): View {
  const aw = Math.max(1, viewW - 2 * margin);
  const ah = Math.max(1, viewH - 2 * margin);
  const scale = Math.min(aw / imgW, ah / imgH);
  return { scale, tx: (viewW - imgW * scale) / 2, ty: (viewH - imgH * scale) / 2 };
}

/** The rectangle spanned by two corners, in any order, clipped to the image. */
export function rectFromCorners(x0: number, y0: number, x1: number, y1: number, imgW: number, imgH: number): Rect {
  const l = clamp(Math.min(x0, x1), 0, imgW);
  const r = clamp(Math.max(x0, x1), 0, imgW);
  const t = clamp(Math.min(y0, y1), 0, imgH);
  const b = clamp(Math.max(y0, y1), 0, imgH);
  return { x: l, y: t, w: r - l, h: b - t };
}

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Moves a rectangle by (dx, dy) without letting it leave the image. */
export function moveRect(r: Rect, dx: number, dy: number, imgW: number, imgH: number): Rect {
  return { x: clamp(r.x + dx, 0, Math.max(0, imgW - r.w)), y: clamp(r.y + dy, 0, Math.max(0, imgH - r.h)), w: r.w, h: r.h };
}

const HANDLE_SIGNS: Record<Handle, [number, number]> = {
  nw: [-1, -1], n: [0, -1], ne: [1, -1], e: [1, 0], se: [1, 1], s: [0, 1], sw: [-1, 1], w: [-1, 0],
};

/** Drags one handle of `r` to the image point (px, py); the opposite side stays put. Flips are allowed. */
export function resizeRect(r: Rect, h: Handle, px: number, py: number, imgW: number, imgH: number): Rect {
  const [hx, hy] = HANDLE_SIGNS[h];
  let x0 = r.x, x1 = r.x + r.w, y0 = r.y, y1 = r.y + r.h;
  if (hx < 0) x0 = px;
  if (hx > 0) x1 = px;
  if (hy < 0) y0 = py;
  if (hy > 0) y1 = py;
  return rectFromCorners(x0, y0, x1, y1, imgW, imgH);
}

/** Screen positions of the eight handles of a rectangle. */
export function handlePoints(v: View, r: Rect): Array<[Handle, number, number]> {
  const [l, t] = toScreen(v, r.x, r.y);
  const [rr, b] = toScreen(v, r.x + r.w, r.y + r.h);
  const cx = (l + rr) / 2, cy = (t + b) / 2;
  return [["nw", l, t], ["n", cx, t], ["ne", rr, t], ["e", rr, cy], ["se", rr, b], ["s", cx, b], ["sw", l, b], ["w", l, cy]];
}

/** The handle of `r` within `tol` screen pixels of (sx, sy), or null. */
export function hitHandle(v: View, r: Rect, sx: number, sy: number, tol = 6): Handle | null {
  for (const [h, hx, hy] of handlePoints(v, r)) {
    if (Math.abs(sx - hx) <= tol && Math.abs(sy - hy) <= tol) return h;
  }
  return null;
}

export function containsPoint(r: Rect, x: number, y: number, slack = 0): boolean {
  return x >= r.x - slack && x <= r.x + r.w + slack && y >= r.y - slack && y <= r.y + r.h + slack;
}

/** Label Studio percentages (0-100 of the original size) from image pixels. */
export function pxToPercent(r: Rect, imgW: number, imgH: number): Rect {
  return { x: (r.x / imgW) * 100, y: (r.y / imgH) * 100, w: (r.w / imgW) * 100, h: (r.h / imgH) * 100 };
}

export function percentToPx(r: Rect, imgW: number, imgH: number): Rect {
  return { x: (r.x / 100) * imgW, y: (r.y / 100) * imgH, w: (r.w / 100) * imgW, h: (r.h / 100) * imgH };
}

/** A crisp 1-pixel canvas line sits on half pixels: snaps a screen coordinate for stroking. */
export function crisp(v: number, lineWidth = 1): number {
  const odd = Math.round(lineWidth) % 2 === 1;
  return odd ? Math.round(v - 0.5) + 0.5 : Math.round(v);
}

/** Picks the cursor for a handle (CSS cursor names). */
export function handleCursor(h: Handle): string {
  return h === "n" || h === "s" ? "ns-resize" : h === "e" || h === "w" ? "ew-resize" : h === "nw" || h === "se" ? "nwse-resize" : "nesw-resize";
}
