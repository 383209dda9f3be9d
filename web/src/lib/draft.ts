// Local drafts: the editor writes the task's boxes to localStorage on every change, so a reload, a
// crash or a network drop loses nothing; the draft is dropped once the server has the annotation.

import type { Region } from "./regions";

export interface Draft {
  version: 1;
  taskId: number;
  /** Annotation being edited, or null for a new one. */
  annotationId: number | null;
  regions: Region[];
  leadTime: number;
  savedAt: number;
}

export interface KV {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

const PREFIX = "labelloop.draft.";

function isRegion(r: unknown): r is Region {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  return typeof o.id === "string" && typeof o.label === "string" && ["x", "y", "w", "h"].every((k) => typeof o[k] === "number" && Number.isFinite(o[k] as number));
}

export class DraftStore {
  constructor(private readonly kv: KV) {}

  /** Saves a draft; returns false when storage refused it (quota, private mode). */
  save(d: Draft): boolean {
    try {
      this.kv.setItem(PREFIX + d.taskId, JSON.stringify(d));
      return true;
    } catch {
      return false;
    }
  }

  /** The draft of a task, or null when there is none or it is unreadable (then it is removed). */
  load(taskId: number): Draft | null {
    const raw = this.kv.getItem(PREFIX + taskId);
    if (raw === null) return null;
    try {
      const d = JSON.parse(raw) as Draft;
      if (d.version !== 1 || d.taskId !== taskId || !Array.isArray(d.regions) || !d.regions.every(isRegion)) throw new Error("bad draft");
      return d;
    } catch {
      this.kv.removeItem(PREFIX + taskId);
      return null;
    }
  }

  /** Whether a task has a draft (the task list marks those), without parsing it. */
  has(taskId: number): boolean {
    try {
      return this.kv.getItem(PREFIX + taskId) !== null;
    } catch {
      return false;
    }
  }

  clear(taskId: number): void {
    this.kv.removeItem(PREFIX + taskId);
  }
}
