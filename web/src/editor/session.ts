// One labeling session on one task: turns the task's annotation, predictions and any local draft
// into editor boxes, tracks lead time, and builds and sends the annotation with retries.

import { api, ApiError, type Annotation, type Prediction, type Task } from "../lib/api";
import type { BoxConfig } from "../lib/config";
import { DraftStore, type Draft } from "../lib/draft";
import { foreignResults, fromResults, normScore, toResults, type Region } from "../lib/regions";

/** The annotation the editor opens: the newest one that was not a skip. */
export function currentAnnotation(t: Task): Annotation | null {
  const anns = (t.annotations ?? []).filter((a) => !a.was_cancelled);
  return anns.length ? anns.reduce((a, b) => (b.id > a.id ? b : a)) : null;
}

/** The prediction shown as pre-annotation: the project's model version if present, else the newest. */
export function pickPrediction(preds: Prediction[], modelVersion: string): Prediction | null {
  if (!preds.length) return null;
  const same = preds.filter((p) => modelVersion && p.model_version === modelVersion);
  const pool = same.length ? same : preds;
  return pool.reduce((a, b) => (b.id > a.id ? b : a));
}

export function initialRegions(t: Task, cfg: BoxConfig, imgW: number, imgH: number, modelVersion: string): Region[] {
  const ann = currentAnnotation(t);
  if (ann) {
    // An annotation records which prediction it started from; keep that link on its boxes.
    return fromResults(ann.result ?? [], cfg, imgW, imgH, { predicted: false, predictionId: ann.parent_prediction ?? null, score: null }).map((r) => (r.origin === "manual" ? { ...r, predictionId: null } : r));
  }
  const pred = pickPrediction(t.predictions ?? [], modelVersion);
  if (!pred) return [];
  return fromResults(pred.result ?? [], cfg, imgW, imgH, { predicted: true, predictionId: pred.id, score: pred.score }).map((r) => ({ ...r, score: normScore(r.score) }));
}

/** Seconds spent on the task while the page was visible. */
export class LeadTimer {
  private acc: number;
  private since: number | null = null;

  constructor(initialSeconds = 0) {
    this.acc = initialSeconds;
  }

  start(now = performance.now()): void {
    if (this.since === null) this.since = now;
  }

  stop(now = performance.now()): void {
    if (this.since !== null) this.acc += (now - this.since) / 1000;
    this.since = null;
  }

  seconds(now = performance.now()): number {
    return this.acc + (this.since === null ? 0 : (now - this.since) / 1000);
  }
}

export interface SubmitBody {
  result: unknown[];
  was_cancelled: boolean;
  ground_truth: boolean;
  lead_time: number;
  parent_prediction: number | null;
}

export function buildSubmit(regions: Region[], cfg: BoxConfig, imgW: number, imgH: number, leadTime: number, parentPrediction: number | null, base: Annotation | null): SubmitBody {
  return {
    result: [...foreignResults(base?.result ?? [], cfg), ...toResults(regions, cfg, imgW, imgH)],
    was_cancelled: false,
    ground_truth: false,
    lead_time: Math.round(leadTime * 1000) / 1000,
    parent_prediction: parentPrediction,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends an annotation, retrying network failures and 5xx answers with backoff (delays in ms);
 * 4xx answers are final. Calls onRetry before each new attempt.
 */
export async function sendWithRetry<T>(send: () => Promise<T>, delays: number[], onRetry: (attempt: number, err: ApiError) => void): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await send();
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(0, (e as Error).message);
      const transient = err.status === 0 || err.status >= 500;
      if (!transient || i >= delays.length) throw err;
      onRetry(i + 1, err);
      await sleep(delays[i]);
    }
  }
}

export function submitAnnotation(taskId: number, annotationId: number | null, body: SubmitBody): Promise<Annotation> {
  return annotationId === null ? api.post<Annotation>(`/api/tasks/${taskId}/annotations`, body) : api.patch<Annotation>(`/api/annotations/${annotationId}`, body);
}

export function makeDraft(taskId: number, annotationId: number | null, regions: Region[], leadTime: number): Draft {
  return { version: 1, taskId, annotationId, regions, leadTime, savedAt: Date.now() };
}

export const drafts = new DraftStore(typeof localStorage === "undefined" ? { getItem: () => null, setItem: () => undefined, removeItem: () => undefined } : localStorage);
