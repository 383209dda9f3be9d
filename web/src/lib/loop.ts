// The closed training loop as the Model panel sees it: the shapes of GET /api/projects/{id}/model
// and the pure helpers the panel draws with (progress of a job, durations and ETAs, the scales and
// ticks of the learning-curve plot, the totals of the effort saved), kept here so they are tested
// without a browser.

export interface Metrics {
  ap: number;
  ap50: number;
  ap75: number;
}

export interface ModelVersion {
  id: number;
  name: string;
  seq: number;
  project: number;
  arch: string;
  input_size: number;
  classes: string[];
  train_images: number;
  heldout_images: number;
  epochs: number;
  duration_s: number;
  metrics: Metrics | null;
  current_metrics: Metrics | null;
  score_threshold: number;
  promoted: boolean;
  reason: string;
  is_current: boolean;
  parent: number | null;
  job: number | null;
  created_at: string | null;
  promoted_at: string | null;
}

export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

/** Training: epoch.., loading: loaded/to_load; predicting: done/total. Fields absent until known. */
export interface JobProgress {
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loaded?: number;
  to_load?: number;
  loss?: number;
  images_per_s?: number;
  elapsed_s?: number;
  eta_s?: number;
  done?: number;
  total?: number;
  made?: number;
  skipped?: number;
}

export interface Job {
  id: number;
  project: number;
  kind: "train" | "predict";
  state: JobState;
  reason: string;
  attempt: number;
  phase: string;
  progress: JobProgress | null;
  log: string;
  error: string | null;
  cancel_requested: boolean;
  owner: string; // the server or standing worker running it ("" when none)
  version: number | null;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
}

export interface HelpRow {
  model_version: string;
  annotations: number;
  shown: number;
  accepted: number;
  adjusted: number;
  deleted: number;
  drawn: number;
  adjust_iou_mean: number;
  lead_time_n: number;
  lead_time_mean: number;
  box_seconds_saved: number;
}

export interface Help {
  by_version: HelpRow[];
  with_prediction: HelpRow;
  without_prediction: HelpRow;
  cost_model: { draw_s: number; adjust_s: number; delete_s: number };
}

export interface Policy {
  min_labeled: number;
  retrain_every: number;
  labeled: number;
  changes_since_training: number;
  next: string;
}

export interface ModelPanelData {
  project: number;
  eligible: boolean;
  enabled: boolean;
  message: string;
  active: boolean;
  model_version: string;
  policy: Policy;
  current: ModelVersion | null;
  running: Job | null;
  queued: Job | null;
  last_job: Job | null;
  versions: ModelVersion[];
  help: Help;
}

export const SAMPLINGS = ["Sequential sampling", "Uniform sampling", "Uncertainty sampling"] as const;
export type Sampling = (typeof SAMPLINGS)[number];

/** Poll quickly while something is happening, slowly otherwise (ms). */
export function pollDelay(m: Pick<ModelPanelData, "running" | "queued"> | null): number {
  return m && (m.running || m.queued) ? 2000 : 15000;
}

/** "45 s", "3 min 05 s", "1 h 02 min"; "–" when unknown. */
export function fmtDuration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s) || s < 0) return "–";
  if (s < 10) return `${s.toFixed(1)} s`;
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${String(t % 60).padStart(2, "0")} s`;
  const m = Math.round(t / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/** Seconds saved, signed: "12 min 30 s", "−40 s" (more time spent than by hand). */
export function fmtSaved(s: number): string {
  return s < 0 ? "−" + fmtDuration(-s) : fmtDuration(s);
}

/** "about 40 s left"; empty when there is no estimate yet. */
export function fmtEta(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s) || s <= 0) return "";
  return `about ${fmtDuration(s < 10 ? Math.ceil(s) : s)} left`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago" (or the date past a week). */
export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "–";
  const s = Math.max(0, (now - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)} d ago`;
  return new Date(t).toISOString().slice(0, 10);
}

/** AP as the panel shows it: 0.4123 -> "0.412". */
export function fmtAp(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(3);
}

/** The fraction of a job done (null: no measure yet, an indeterminate bar). */
export function jobFraction(job: Job): number | null {
  const p = job.progress || {};
  if (job.state === "queued") return null;
  if (job.phase === "predicting" && p.total) return (p.done ?? 0) / p.total;
  if (job.phase === "loading" && p.to_load) return (p.loaded ?? 0) / p.to_load;
  if (job.phase === "training" && p.steps) return (p.step ?? 0) / p.steps;
  if (job.phase === "training" && p.epochs) return Math.max(0, (p.epoch ?? 1) - 1) / p.epochs;
  return null;
}

/** One line on a job's progress: "training · epoch 3/20 · loss 1.234 · 45.2 img/s · about 40 s left". */
export function jobLine(job: Job): string {
  const p = job.progress || {};
  if (job.state === "queued") return `queued (${job.reason || job.kind})`;
  const parts: string[] = [job.phase || (job.state === "running" ? "starting" : job.state)];
  if (job.phase === "loading" && p.to_load) parts.push(`${p.loaded ?? 0}/${p.to_load} images`);
  if (job.phase === "training" && p.epochs) parts.push(`epoch ${p.epoch ?? 0}/${p.epochs}`);
  if (job.phase === "predicting" && p.total !== undefined) parts.push(`${p.done ?? 0}/${p.total} tasks`);
  if (job.phase === "training" && p.loss !== undefined && Number.isFinite(p.loss) && (p.step ?? 0) > 0) parts.push(`loss ${p.loss.toFixed(3)}`);
  if (job.phase === "training" && p.images_per_s) parts.push(`${p.images_per_s.toFixed(1)} img/s`);
  const eta = fmtEta(p.eta_s);
  if (eta && job.phase !== "evaluating") parts.push(eta);
  if (job.attempt > 1) parts.push(`attempt ${job.attempt}`); // its first runner stopped or died
  if (job.cancel_requested) parts.push("cancelling…");
  return parts.join(" · ");
}

/** Round numbers for axis ticks covering [lo, hi]: about `count` of them, steps of 1, 2 or 5 x 10^k. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let i = first; i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** The tick step's decimals: 0.05 -> 2, 10 -> 0. */
export function tickDecimals(ticks: number[]): number {
  if (ticks.length < 2) return ticks.length && !Number.isInteger(ticks[0]) ? 2 : 0;
  const step = Math.abs(ticks[1] - ticks[0]);
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps to the middle of the range. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** The smallest tick of niceTicks(0, v, count)'s step that is >= v (v > 0): the top of an axis
 * from 0 that ends on a tick. */
export function upperTick(v: number, count = 5): number {
  const t = niceTicks(0, v, count);
  const step = t.length > 1 ? t[1] - t[0] : v;
  const last = t[t.length - 1];
  return last >= v - 1e-12 ? last : Number((last + step).toPrecision(12));
}

export interface CurvePoint {
  version: string;
  x: number;
  ap50: number;
  ap: number;
  promoted: boolean;
  current: boolean;
}

/** One point per version with held-out metrics, by training-set size (then by sequence). */
export function curvePoints(versions: ModelVersion[]): CurvePoint[] {
  return versions
    .filter((v) => v.metrics)
    .slice()
    .sort((a, b) => a.train_images - b.train_images || a.seq - b.seq)
    .map((v) => ({ version: v.name, x: v.train_images, ap50: v.metrics!.ap50, ap: v.metrics!.ap, promoted: v.promoted, current: v.is_current }));
}

export interface CurveLayout {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  x: (v: number) => number;
  y: (v: number) => number;
  xTicks: number[];
  yTicks: number[];
  xDomain: [number, number];
  yDomain: [number, number];
}

/** Scales and ticks of the learning curve: x from 0 to the largest training set, y (AP) from 0
 * to a nice bound above the best AP50 (at most 1). */
export function curveLayout(points: CurvePoint[], width: number, height: number): CurveLayout {
  const m = { left: 40, right: 12, top: 22, bottom: 34 };
  // A little room past the largest set, so its points do not sit on the frame.
  const xHi = upperTick(Math.max(1, ...points.map((p) => p.x)) * 1.05, 5);
  const yHi = Math.min(1, upperTick(Math.max(0.1, ...points.map((p) => Math.max(p.ap50, p.ap))), 4));
  return {
    width,
    height,
    ...m,
    x: linearScale(0, xHi, m.left, width - m.right),
    y: linearScale(0, yHi, height - m.bottom, m.top),
    xTicks: niceTicks(0, xHi, 5),
    yTicks: niceTicks(0, yHi, 4),
    xDomain: [0, xHi],
    yDomain: [0, yHi],
  };
}

/** An SVG path through the points ("M x y L x y ..."), rounded to 0.1 px. */
export function linePath(pts: [number, number][]): string {
  return pts.map(([x, y], i) => `${i ? "L" : "M"}${Math.round(x * 10) / 10} ${Math.round(y * 10) / 10}`).join(" ");
}

/** Totals over help rows: counts add up, the mean IoU of adjusted boxes and the mean lead time
 * are weighted by how many they average. */
export function helpTotals(rows: HelpRow[], name = "total"): HelpRow {
  const t: HelpRow = { model_version: name, annotations: 0, shown: 0, accepted: 0, adjusted: 0, deleted: 0, drawn: 0, adjust_iou_mean: 0, lead_time_n: 0, lead_time_mean: 0, box_seconds_saved: 0 };
  let iou = 0;
  let lead = 0;
  for (const r of rows) {
    t.annotations += r.annotations;
    t.shown += r.shown;
    t.accepted += r.accepted;
    t.adjusted += r.adjusted;
    t.deleted += r.deleted;
    t.drawn += r.drawn;
    t.lead_time_n += r.lead_time_n;
    t.box_seconds_saved += r.box_seconds_saved;
    iou += r.adjust_iou_mean * r.adjusted;
    lead += r.lead_time_mean * r.lead_time_n;
  }
  t.adjust_iou_mean = t.adjusted ? iou / t.adjusted : 0;
  t.lead_time_mean = t.lead_time_n ? lead / t.lead_time_n : 0;
  return t;
}

/** Of the boxes the model proposed and people kept (accepted or adjusted) or threw away, and
 * the boxes people drew, how many came from the model: 0..1, null with no boxes at all. */
export function keptShare(r: HelpRow): number | null {
  const boxes = r.accepted + r.adjusted + r.drawn;
  return boxes ? (r.accepted + r.adjusted) / boxes : null;
}

/** A whole number typed in a field, or the text as it is when it is not one (the server says why). */
export function parseCount(text: string): number | string {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/** What each labeling order means, one line each (project settings). */
export const SAMPLING_HELP: Record<Sampling, string> = {
  "Sequential sampling": "tasks in the order they were imported (lowest id first).",
  "Uniform sampling": "a random unlabeled task each time.",
  "Uncertainty sampling": "the task the current model is least sure about first (1 − its prediction score); tasks it has not predicted come after.",
};
