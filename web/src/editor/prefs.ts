// What the editor remembers between tasks: the confidence slider per project (local storage, so
// it outlives the session) and the copied boxes (session storage, for pasting onto the next image
// even after a reload).

const thresholdKey = (pid: number) => `labelloop.threshold.${pid}`;

/** The slider position the user chose for a project, or null when they never moved it. */
export function savedThreshold(pid: number): number | null {
  try {
    const v = localStorage.getItem(thresholdKey(pid));
    const n = v === null ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 && n <= 1 ? n : null;
  } catch {
    return null;
  }
}

export function saveThreshold(pid: number, t: number): void {
  try {
    localStorage.setItem(thresholdKey(pid), String(t));
  } catch {
    /* storage full or unavailable: the slider starts at the model's threshold next time */
  }
}

/** A box copied with Ctrl+C, in fractions of its image so that it pastes onto any image size. */
export interface CopiedBox {
  label: string;
  fx: number;
  fy: number;
  fw: number;
  fh: number;
}

const CLIP_KEY = "labelloop.clipboard";

export function copyBoxes(boxes: CopiedBox[]): void {
  try {
    sessionStorage.setItem(CLIP_KEY, JSON.stringify(boxes));
  } catch {
    /* storage unavailable: nothing to paste later */
  }
}

export function copiedBoxes(): CopiedBox[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(CLIP_KEY) || "[]") as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter((b): b is CopiedBox => b && typeof b.label === "string" && ["fx", "fy", "fw", "fh"].every((k) => Number.isFinite(b[k])));
  } catch {
    return [];
  }
}
