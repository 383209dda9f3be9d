// The box editor's state without any DOM: boxes (own and predicted), selection, active label,
// confidence threshold and undo history. The canvas and the side panel both read it and call its
// operations; every committed change notifies listeners (which redraw and save the draft).

import { History } from "../lib/history";
import { adopt, newRegionId, type Region } from "../lib/regions";
import { moveRect, type Rect } from "../lib/geometry";

export type Listener = (committed: boolean) => void;

export class EditorModel {
  regions: Region[] = [];
  selectedId: string | null = null;
  activeLabel: string;
  threshold: number;
  imgW = 1;
  imgH = 1;
  private history = new History<Region[]>();
  private listeners = new Set<Listener>();
  private editBefore: Region[] | null = null;
  private editChanged = false;

  /** The task came with predicted boxes (the sidebar keeps their section once all are reviewed). */
  hadPredictions = false;

  constructor(
    public labels: string[],
    threshold = 0,
  ) {
    this.activeLabel = labels[0] ?? "";
    this.threshold = threshold;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(committed: boolean): void {
    for (const fn of this.listeners) fn(committed);
  }

  /** Replaces everything (task load, draft restore); not undoable. */
  reset(regions: Region[], imgW: number, imgH: number): void {
    this.regions = regions;
    this.hadPredictions = regions.some((r) => r.predicted || r.predictionId !== null);
    this.imgW = imgW;
    this.imgH = imgH;
    this.selectedId = null;
    this.history.clear();
    this.emit(false);
  }

  private apply(next: Region[]): void {
    this.history.push(this.regions);
    this.regions = next;
    if (this.selectedId && !next.some((r) => r.id === this.selectedId)) this.selectedId = null;
    this.emit(true);
  }

  get(id: string | null): Region | undefined {
    return id === null ? undefined : this.regions.find((r) => r.id === id);
  }

  get selected(): Region | undefined {
    return this.get(this.selectedId);
  }

  /** Predicted boxes below the slider are hidden; own boxes are shown unless hidden by the user. */
  isVisible(r: Region): boolean {
    if (r.hidden) return false;
    return !r.predicted || (r.score ?? 1) >= this.threshold;
  }

  /** Predicted boxes at or above the slider that nobody has accepted or rejected yet. */
  pending(): Region[] {
    return this.regions.filter((r) => r.predicted && (r.score ?? 1) >= this.threshold);
  }

  /** Rejects every predicted box at or above the slider; returns how many. */
  rejectAbove(): number {
    const n = this.pending().length;
    if (n) this.apply(this.regions.filter((r) => !(r.predicted && (r.score ?? 1) >= this.threshold)));
    return n;
  }

  /** Hides or shows a box (it stays in the annotation); hidden boxes cannot be selected. */
  toggleHidden(id: string): void {
    this.replace(id, (x) => ({ ...x, hidden: !x.hidden }));
    if (this.get(id)?.hidden && this.selectedId === id) this.select(null);
  }

  /** Locks a box against moving and resizing by mouse or arrows. */
  toggleLocked(id: string): void {
    this.replace(id, (x) => ({ ...x, locked: !x.locked }));
  }

  /** Shows every hidden box again. */
  showAll(): void {
    if (this.regions.some((r) => r.hidden)) this.apply(this.regions.map((r) => (r.hidden ? { ...r, hidden: false } : r)));
  }

  /** Adds copies of boxes given in fractions of the image (from another image, maybe of another
   * size) as new drawn boxes, selecting the last; returns how many. */
  paste(boxes: Array<{ label: string; fx: number; fy: number; fw: number; fh: number }>): number {
    const add: Region[] = boxes.map((b) => ({
      x: b.fx * this.imgW, y: b.fy * this.imgH, w: b.fw * this.imgW, h: b.fh * this.imgH,
      id: newRegionId(), label: this.labels.includes(b.label) ? b.label : this.activeLabel, origin: "manual", predicted: false, score: null, predictionId: null,
    }));
    if (!add.length) return 0;
    this.apply([...this.regions, ...add]);
    this.selectedId = add[add.length - 1].id;
    this.emit(false);
    return add.length;
  }

  visible(): Region[] {
    return this.regions.filter((r) => this.isVisible(r));
  }

  own(): Region[] {
    return this.regions.filter((r) => !r.predicted);
  }

  select(id: string | null): void {
    if (this.selectedId === id) return;
    this.selectedId = id;
    this.emit(false);
  }

  add(rect: Rect, label = this.activeLabel): Region {
    const r: Region = { ...rect, id: newRegionId(), label, origin: "manual", predicted: false, score: null, predictionId: null };
    this.apply([...this.regions, r]);
    this.selectedId = r.id;
    this.emit(false);
    return r;
  }

  private replace(id: string, fn: (r: Region) => Region): void {
    const i = this.regions.findIndex((r) => r.id === id);
    if (i < 0) return;
    const next = this.regions.slice();
    next[i] = fn(next[i]);
    this.apply(next);
  }

  setLabel(id: string, label: string): void {
    const r = this.get(id);
    if (!r || r.label === label) return;
    this.replace(id, (x) => ({ ...adopt(x, true), label }));
  }

  /** Label hotkey: makes the label active and relabels the selected box, as Label Studio does. */
  chooseLabel(label: string): void {
    this.activeLabel = label;
    if (this.selectedId) this.setLabel(this.selectedId, label);
    else this.emit(false);
  }

  remove(id: string): void {
    if (!this.get(id)) return;
    this.apply(this.regions.filter((r) => r.id !== id));
  }

  /** Accepts a predicted box as it is. */
  accept(id: string): void {
    const r = this.get(id);
    if (!r || !r.predicted) return;
    this.replace(id, (x) => adopt(x, false));
  }

  /** Accepts every visible predicted box (those at or above the slider); returns how many. */
  acceptAbove(): number {
    let n = 0;
    const next = this.regions.map((r) => {
      if (!r.predicted || !this.isVisible(r)) return r;
      n++;
      return adopt(r, false);
    });
    if (n) this.apply(next);
    return n;
  }

  nudge(id: string, dx: number, dy: number): void {
    const r = this.get(id);
    if (!r || r.locked) return;
    this.replace(id, (x) => ({ ...adopt(x, true), ...moveRect(x, dx, dy, this.imgW, this.imgH) }));
  }

  /** Starts a drag (move/resize): live changes are not recorded until endEdit. */
  beginEdit(): void {
    this.editBefore = this.regions;
    this.editChanged = false;
  }

  /** Live geometry during a drag; the first change adopts a predicted box. */
  setRectLive(id: string, rect: Rect): void {
    const i = this.regions.findIndex((r) => r.id === id);
    if (i < 0) return;
    const next = this.regions.slice();
    next[i] = { ...(this.editChanged ? next[i] : adopt(next[i], true)), x: rect.x, y: rect.y, w: rect.w, h: rect.h };
    this.regions = next;
    this.editChanged = true;
    this.emit(false);
  }

  endEdit(): void {
    const before = this.editBefore;
    this.editBefore = null;
    if (before && this.editChanged) {
      this.history.push(before);
      this.emit(true);
    }
    this.editChanged = false;
  }

  /** Selects the next (dir 1) or previous (-1) visible box in reading order. */
  cycle(dir: 1 | -1): void {
    const vis = this.visible().sort((a, b) => a.y - b.y || a.x - b.x);
    if (!vis.length) return;
    const i = vis.findIndex((r) => r.id === this.selectedId);
    const j = i < 0 ? (dir > 0 ? 0 : vis.length - 1) : (i + dir + vis.length) % vis.length;
    this.select(vis[j].id);
  }

  setThreshold(t: number): void {
    this.threshold = t;
    const s = this.selected;
    if (s && !this.isVisible(s)) this.selectedId = null;
    this.emit(false);
  }

  undo(): void {
    const prev = this.history.undo(this.regions);
    if (!prev) return;
    this.regions = prev;
    if (this.selectedId && !this.get(this.selectedId)) this.selectedId = null;
    this.emit(true);
  }

  redo(): void {
    const next = this.history.redo(this.regions);
    if (!next) return;
    this.regions = next;
    if (this.selectedId && !this.get(this.selectedId)) this.selectedId = null;
    this.emit(true);
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }

  get canRedo(): boolean {
    return this.history.canRedo;
  }

  /** The prediction the annotation starts from: the one most of its adopted boxes came from. */
  parentPrediction(): number | null {
    const counts = new Map<number, number>();
    for (const r of this.regions) {
      if (!r.predicted && r.predictionId !== null) counts.set(r.predictionId, (counts.get(r.predictionId) ?? 0) + 1);
    }
    let best: number | null = null;
    let n = 0;
    for (const [id, c] of counts) if (c > n) [best, n] = [id, c];
    return best;
  }
}
