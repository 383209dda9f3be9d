// The drawing surface of the box editor: two stacked canvases (image below, boxes above) so that
// drawing or dragging a box never repaints the image. Boxes are stroked in device pixels on half-pixel
// positions, so they stay crisp at any zoom; the image is drawn from a pyramid of downscaled copies so
// that panning a 4000x3000 photo with 500 boxes costs a small blit per frame.

import {
  clamp, containsPoint, fitView, handleCursor, handlePoints, hitHandle, moveRect, rectFromCorners, resizeRect, toImage, toScreen, zoomAt,
  type Handle, type Rect, type View,
} from "../lib/geometry";
import type { EditorModel } from "./model";
import type { Region } from "../lib/regions";

type Drag =
  | { kind: "pan"; sx: number; sy: number; view: View }
  | { kind: "draw"; x0: number; y0: number; rect: Rect | null }
  | { kind: "move"; id: string; x0: number; y0: number; orig: Rect }
  | { kind: "resize"; id: string; handle: Handle; orig: Rect };

interface Level {
  src: CanvasImageSource;
  /** pixels of this level per image pixel (1 for the original) */
  density: number;
}

const MIN_BOX_SCREEN = 3;

export class CanvasView {
  readonly root: HTMLDivElement;
  private imgCanvas: HTMLCanvasElement;
  private boxCanvas: HTMLCanvasElement;
  private levels: Level[] = [];
  private afterFirstFrame: (() => void) | null = null;
  private tagWidths = new Map<string, number>();
  private view: View = { scale: 1, tx: 0, ty: 0 };
  private cssW = 1;
  private cssH = 1;
  private dpr = 1;
  private drag: Drag | null = null;
  private spaceDown = false;
  private raf = 0;
  private imageDirty = true;
  private boxesDirty = true;
  private unsub: () => void;
  private resizeObs: ResizeObserver;
  /** Durations of the last renders in ms (read by the benchmark). */
  readonly frameTimes: number[] = [];
  /** Called after the first frame with an image has been painted. */
  onFirstFrame: (() => void) | null = null;
  /** Called when zoom or pan changes (the toolbar shows the zoom percentage). */
  onView: (() => void) | null = null;
  colours: Map<string, string>;
  showLabels = true;
  /** Draw mode (N): a drag always draws, even starting inside a box (as Shift+drag does). */
  drawMode = false;
  /** The view is the fitted one: a layout change (banner, window size) fits again. */
  private fitted = true;
  /** Pointer position for the crosshair lines (CSS px), null when outside. */
  private pointer: [number, number] | null = null;

  constructor(parent: HTMLElement, private model: EditorModel, colours: Map<string, string>) {
    this.colours = colours;
    this.root = document.createElement("div");
    this.root.className = "canvas-root";
    this.imgCanvas = document.createElement("canvas");
    this.boxCanvas = document.createElement("canvas");
    this.boxCanvas.className = "box-layer";
    this.boxCanvas.tabIndex = -1;
    this.root.append(this.imgCanvas, this.boxCanvas);
    parent.appendChild(this.root);
    this.unsub = model.subscribe(() => this.invalidate(false));
    this.resizeObs = new ResizeObserver(() => this.measure());
    this.resizeObs.observe(this.root);
    this.bindEvents();
    this.measure();
  }

  destroy(): void {
    cancelAnimationFrame(this.raf);
    this.unsub();
    this.resizeObs.disconnect();
    this.unbind();
    this.root.remove();
  }

  /** Sets the image; the downscaled copies are built in the background. */
  setImage(img: HTMLImageElement): void {
    this.levels = [{ src: img, density: 1 }];
    this.fit();
    // Built after the first frame so that it never delays it.
    this.afterFirstFrame = () => setTimeout(() => void this.buildPyramid(img), 0);
  }

  private async buildPyramid(img: HTMLImageElement): Promise<void> {
    const w = img.naturalWidth, h = img.naturalHeight;
    const levels: Level[] = [{ src: img, density: 1 }];
    for (let d = 0.5; w * d >= 256 && h * d >= 64; d /= 2) {
      try {
        const bm = await createImageBitmap(img, { resizeWidth: Math.round(w * d), resizeHeight: Math.round(h * d), resizeQuality: "medium" });
        levels.push({ src: bm, density: d });
      } catch {
        break;
      }
    }
    if (this.levels[0]?.src === img) {
      this.levels = levels;
      this.invalidate(true);
    }
  }

  get currentView(): View {
    return { ...this.view };
  }

  setView(v: View): void {
    this.view = v;
    this.fitted = false;
    this.viewChanged();
  }

  fit(): void {
    this.view = fitView(this.model.imgW, this.model.imgH, this.cssW, this.cssH);
    this.fitted = true;
    this.viewChanged();
  }

  zoomBy(factor: number): void {
    this.view = zoomAt(this.view, factor, this.cssW / 2, this.cssH / 2);
    this.fitted = false;
    this.viewChanged();
  }

  /** Zoom in percent of the image's own pixels (100: one image pixel per CSS pixel). */
  get zoomPercent(): number {
    return Math.round(this.view.scale * 100);
  }

  /** Brightness and contrast of the image as factors (1: unchanged); the boxes are not affected. */
  setAdjust(brightness: number, contrast: number): void {
    this.imgCanvas.style.filter = brightness === 1 && contrast === 1 ? "" : `brightness(${brightness}) contrast(${contrast})`;
  }

  private viewChanged(): void {
    this.invalidate(true);
    this.onView?.();
  }

  /** Screen position (CSS px, relative to the canvas) of an image point: used by tests and the panel. */
  screenOf(x: number, y: number): [number, number] {
    return toScreen(this.view, x, y);
  }

  get element(): HTMLCanvasElement {
    return this.boxCanvas;
  }

  private measure(): void {
    const r = this.root.getBoundingClientRect();
    const first = this.cssW <= 1;
    this.cssW = Math.max(1, r.width);
    this.cssH = Math.max(1, r.height);
    this.dpr = window.devicePixelRatio || 1;
    for (const c of [this.imgCanvas, this.boxCanvas]) {
      c.width = Math.round(this.cssW * this.dpr);
      c.height = Math.round(this.cssH * this.dpr);
    }
    // Banners, the window or the side panel changed the canvas's size: a fitted image fits again,
    // so its bottom is never hidden; a zoomed-in view keeps its place.
    if ((first || this.fitted) && this.levels.length) this.fit();
    this.invalidate(true);
  }

  invalidate(image: boolean): void {
    if (image) this.imageDirty = true;
    this.boxesDirty = true;
    if (!this.raf) this.raf = requestAnimationFrame(() => this.render());
  }

  /** Paints now (also used by the benchmark to time frames without waiting for vsync). */
  render(): void {
    this.raf = 0;
    const t0 = performance.now();
    if (this.imageDirty) this.drawImage();
    if (this.boxesDirty) this.drawBoxes();
    this.imageDirty = this.boxesDirty = false;
    const dt = performance.now() - t0;
    this.frameTimes.push(dt);
    if (this.frameTimes.length > 600) this.frameTimes.shift();
    if (this.levels.length && this.afterFirstFrame) {
      const after = this.afterFirstFrame;
      this.afterFirstFrame = null;
      this.onFirstFrame?.();
      this.onFirstFrame = null;
      after();
    }
  }

  private pickLevel(): Level | undefined {
    const need = this.view.scale * this.dpr;
    let best = this.levels[0];
    for (const l of this.levels) if (l.density >= need && l.density < best.density) best = l;
    return best;
  }

  private drawImage(): void {
    const ctx = this.imgCanvas.getContext("2d")!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.imgCanvas.width, this.imgCanvas.height);
    const lvl = this.pickLevel();
    if (!lvl) return;
    const s = this.view.scale * this.dpr;
    // Past 2 screen pixels per image pixel show the pixels themselves (crisp), as an image viewer does.
    ctx.imageSmoothingEnabled = s < 2;
    // Bilinear is enough: the pyramid keeps the scale factor within (1/2, 1] below 1:1 (a
    // mipmapped filter would also rebuild mipmaps of the source, a large photo's first frame
    // included, which costs far more than it shows).
    ctx.imageSmoothingQuality = "low";
    const k = s / lvl.density;
    ctx.setTransform(k, 0, 0, k, this.view.tx * this.dpr, this.view.ty * this.dpr);
    ctx.drawImage(lvl.src, 0, 0);
  }

  private colourOf(r: Region): string {
    return this.colours.get(r.label) ?? "#ff00ff";
  }

  /** A box in whole device pixels: [left, top, width, height]. */
  private deviceRect(r: Rect): [number, number, number, number] {
    const d = this.dpr;
    const [l, t] = toScreen(this.view, r.x, r.y);
    const [rr, b] = toScreen(this.view, r.x + r.w, r.y + r.h);
    const x0 = Math.round(l * d), y0 = Math.round(t * d), x1 = Math.round(rr * d), y1 = Math.round(b * d);
    return [x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0)];
  }

  private drawBoxes(): void {
    const ctx = this.boxCanvas.getContext("2d")!;
    const W = this.boxCanvas.width, H = this.boxCanvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const groups = new Map<string, Array<[number, number, number, number]>>();
    const tags: Array<[Region, number, number, number]> = [];
    const sel = this.model.selectedId;
    for (const r of this.model.regions) {
      if (!this.model.isVisible(r) || r.id === sel) continue;
      const dr = this.deviceRect(r);
      if (dr[0] > W || dr[1] > H || dr[0] + dr[2] < 0 || dr[1] + dr[3] < 0) continue;
      const key = (r.predicted ? "p" : "o") + this.colourOf(r);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(dr);
      if (this.showLabels && (r.predicted || dr[2] > 40 * this.dpr)) tags.push([r, dr[0], dr[1], dr[2]]);
    }
    ctx.lineWidth = 1;
    for (const [key, rects] of groups) {
      if (key[0] === "p") {
        // Predictions: a dark halo under a two-tone dash (the label's colour, white in the gaps),
        // so that they stand out on light, dark and same-coloured backgrounds alike.
        ctx.beginPath();
        for (const [x, y, w, h] of rects) ctx.rect(x + 0.5, y + 0.5, w - 1, h - 1);
        ctx.lineWidth = 3 * this.dpr;
        ctx.strokeStyle = "rgba(0,0,0,0.55)";
        ctx.stroke();
        ctx.lineWidth = Math.max(1, Math.round(this.dpr));
        ctx.setLineDash([6 * this.dpr, 4 * this.dpr]);
        ctx.strokeStyle = key.slice(1);
        ctx.stroke();
        ctx.lineDashOffset = 6 * this.dpr;
        ctx.setLineDash([4 * this.dpr, 6 * this.dpr]);
        ctx.strokeStyle = "#fff";
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.lineDashOffset = 0;
        ctx.lineWidth = 1;
      } else {
        // Own boxes: four one-pixel fills each, pixel-exact and far cheaper to raster than paths.
        ctx.fillStyle = key.slice(1);
        for (const [x, y, w, h] of rects) {
          ctx.fillRect(x, y, w, 1);
          ctx.fillRect(x, y + h - 1, w, 1);
          ctx.fillRect(x, y + 1, 1, h - 2);
          ctx.fillRect(x + w - 1, y + 1, 1, h - 2);
        }
      }
    }
    // Text is the costly part of a frame; with many boxes in view the colours say enough.
    if (tags.length <= 120) this.drawTags(ctx, tags);
    const s = this.model.selected;
    if (s && this.model.isVisible(s)) this.drawSelected(ctx, s);
    if (this.drag?.kind === "draw" && this.drag.rect) {
      ctx.strokeStyle = this.colours.get(this.model.activeLabel) ?? "#fff";
      const [x, y, w, h] = this.deviceRect(this.drag.rect);
      ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    }
    if (this.pointer && (this.drawMode || this.drag?.kind === "draw")) this.drawCrosshair(ctx, W, H);
  }

  /** Full-width and full-height lines through the pointer while drawing, to line a box up. */
  private drawCrosshair(ctx: CanvasRenderingContext2D, W: number, H: number): void {
    const x = Math.round(this.pointer![0] * this.dpr) + 0.5, y = Math.round(this.pointer![1] * this.dpr) + 0.5;
    ctx.lineWidth = 1;
    for (const [colour, dash] of [["rgba(0,0,0,0.7)", 0], ["rgba(255,255,255,0.9)", 4 * this.dpr]] as const) {
      ctx.strokeStyle = colour;
      ctx.setLineDash([4 * this.dpr, 4 * this.dpr]);
      ctx.lineDashOffset = dash;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(W, y);
      ctx.moveTo(x, 0);
      ctx.lineTo(x, H);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.lineDashOffset = 0;
  }

  private drawTags(ctx: CanvasRenderingContext2D, tags: Array<[Region, number, number, number]>): void {
    const fs = Math.round(11 * this.dpr);
    ctx.font = `${fs}px system-ui, sans-serif`;
    ctx.textBaseline = "bottom";
    for (const [r, x, y] of tags) {
      const text = r.predicted && r.score !== null ? `${r.label} ${r.score.toFixed(2)}` : r.label;
      let tw = this.tagWidths.get(text);
      if (tw === undefined) this.tagWidths.set(text, (tw = ctx.measureText(text).width + 6 * this.dpr));
      const ty = y < fs + 4 ? y + fs + 4 : y;
      ctx.fillStyle = r.predicted ? "rgba(20,20,20,0.75)" : this.colourOf(r);
      ctx.fillRect(x, ty - fs - 3, tw, fs + 3);
      ctx.fillStyle = r.predicted ? this.colourOf(r) : "#111";
      ctx.fillText(text, x + 2.5 * this.dpr, ty - 1);
    }
  }

  private drawSelected(ctx: CanvasRenderingContext2D, r: Region): void {
    const [x, y, w, h] = this.deviceRect(r);
    const c = this.colourOf(r);
    ctx.fillStyle = c + "33";
    ctx.fillRect(x, y, w, h);
    ctx.lineWidth = 1;
    ctx.strokeStyle = c;
    ctx.setLineDash(r.predicted ? [6 * this.dpr, 4 * this.dpr] : []);
    ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
    ctx.setLineDash([]);
    ctx.strokeStyle = "#fff";
    ctx.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
    this.drawTags(ctx, [[r, x, y, w]]);
    const hs = Math.round(4 * this.dpr);
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#222";
    for (const [, hx, hy] of handlePoints(this.view, r)) {
      const px = Math.round(hx * this.dpr), py = Math.round(hy * this.dpr);
      ctx.fillRect(px - hs, py - hs, 2 * hs, 2 * hs);
      ctx.strokeRect(px - hs + 0.5, py - hs + 0.5, 2 * hs - 1, 2 * hs - 1);
    }
  }

  // ---- input ---------------------------------------------------------------------------------

  private local(e: MouseEvent): [number, number] {
    const r = this.boxCanvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  /** The box under a screen point: the smallest visible one, so nested boxes stay reachable. */
  hitBox(sx: number, sy: number): Region | null {
    const [x, y] = toImage(this.view, sx, sy);
    const slack = 3 / this.view.scale;
    let best: Region | null = null;
    for (const r of this.model.regions) {
      if (!this.model.isVisible(r) || !containsPoint(r, x, y, slack)) continue;
      if (!best || r.w * r.h < best.w * best.h) best = r;
    }
    return best;
  }

  private onDown = (e: PointerEvent): void => {
    this.boxCanvas.focus({ preventScroll: true });
    const [sx, sy] = this.local(e);
    this.boxCanvas.setPointerCapture(e.pointerId);
    if (e.button === 1 || e.button === 2 || this.spaceDown) {
      this.drag = { kind: "pan", sx, sy, view: this.view };
      this.boxCanvas.style.cursor = "grabbing";
      return;
    }
    if (e.button !== 0) return;
    const sel = this.model.selected;
    const drawing = e.shiftKey || this.drawMode;
    const h = sel && !sel.locked && !drawing && this.model.isVisible(sel) ? hitHandle(this.view, sel, sx, sy) : null;
    if (sel && h) {
      this.model.beginEdit();
      this.drag = { kind: "resize", id: sel.id, handle: h, orig: { x: sel.x, y: sel.y, w: sel.w, h: sel.h } };
      return;
    }
    const hit = this.hitBox(sx, sy);
    const [ix, iy] = toImage(this.view, sx, sy);
    if (hit && !drawing) {
      this.model.select(hit.id);
      if (hit.locked) return;
      this.model.beginEdit();
      this.drag = { kind: "move", id: hit.id, x0: ix, y0: iy, orig: { x: hit.x, y: hit.y, w: hit.w, h: hit.h } };
      return;
    }
    this.drag = { kind: "draw", x0: clamp(ix, 0, this.model.imgW), y0: clamp(iy, 0, this.model.imgH), rect: null };
  };

  private onMove = (e: PointerEvent): void => {
    const [sx, sy] = this.local(e);
    const d = this.drag;
    this.pointer = [sx, sy];
    if (this.drawMode && (!d || d.kind !== "draw")) this.invalidate(false);
    if (!d) return this.hover(sx, sy);
    const [ix, iy] = toImage(this.view, sx, sy);
    const W = this.model.imgW, H = this.model.imgH;
    if (d.kind === "pan") {
      this.view = { scale: d.view.scale, tx: d.view.tx + sx - d.sx, ty: d.view.ty + sy - d.sy };
      this.fitted = false;
      this.viewChanged();
    } else if (d.kind === "draw") {
      d.rect = rectFromCorners(d.x0, d.y0, ix, iy, W, H);
      this.invalidate(false);
    } else if (d.kind === "move") {
      this.model.setRectLive(d.id, moveRect(d.orig, ix - d.x0, iy - d.y0, W, H));
    } else {
      this.model.setRectLive(d.id, resizeRect(d.orig, d.handle, ix, iy, W, H));
    }
  };

  private onUp = (e: PointerEvent): void => {
    const d = this.drag;
    this.drag = null;
    if (this.boxCanvas.hasPointerCapture(e.pointerId)) this.boxCanvas.releasePointerCapture(e.pointerId);
    this.boxCanvas.style.cursor = "";
    if (!d) return;
    if (d.kind === "draw") {
      const r = d.rect;
      if (r && r.w * this.view.scale >= MIN_BOX_SCREEN && r.h * this.view.scale >= MIN_BOX_SCREEN && this.model.activeLabel) this.model.add(r);
      else this.model.select(null);
      this.invalidate(false);
    } else if (d.kind === "move" || d.kind === "resize") {
      this.model.endEdit();
    }
  };

  private hover(sx: number, sy: number): void {
    if (this.spaceDown) {
      this.boxCanvas.style.cursor = "grab";
      return;
    }
    const sel = this.model.selected;
    if (this.drawMode) {
      this.boxCanvas.style.cursor = "crosshair";
      return;
    }
    const h = sel && !sel.locked && this.model.isVisible(sel) ? hitHandle(this.view, sel, sx, sy) : null;
    const hit = this.hitBox(sx, sy);
    this.boxCanvas.style.cursor = h ? handleCursor(h) : hit && !hit.locked ? "move" : "crosshair";
  }

  private onWheel = (e: WheelEvent): void => {
    e.preventDefault();
    const [sx, sy] = this.local(e);
    const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
    this.view = zoomAt(this.view, Math.exp(-dy * 0.0015), sx, sy);
    this.fitted = false;
    this.viewChanged();
  };

  private onKey = (e: KeyboardEvent): void => {
    if (e.key !== " ") return;
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    this.spaceDown = e.type === "keydown";
    if (this.spaceDown) e.preventDefault();
    this.boxCanvas.style.cursor = this.spaceDown ? "grab" : "";
  };

  private noMenu = (e: Event): void => e.preventDefault();

  private onLeave = (): void => {
    this.pointer = null;
    this.invalidate(false);
  };

  private bindEvents(): void {
    const c = this.boxCanvas;
    c.addEventListener("pointerdown", this.onDown);
    c.addEventListener("pointermove", this.onMove);
    c.addEventListener("pointerup", this.onUp);
    c.addEventListener("pointercancel", this.onUp);
    c.addEventListener("wheel", this.onWheel, { passive: false });
    c.addEventListener("contextmenu", this.noMenu);
    c.addEventListener("pointerleave", this.onLeave);
    window.addEventListener("keydown", this.onKey);
    window.addEventListener("keyup", this.onKey);
  }

  private unbind(): void {
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("keyup", this.onKey);
  }
}
