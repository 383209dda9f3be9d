// What the editor remembers between tasks: the confidence slider per project (browser storage, so
// it outlives the session) and the copied boxes (in memory, for pasting onto the next image).

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

/** Boxes copied with Ctrl+C, in fractions of their image so they paste onto any image size. */
export const clipboard: { boxes: Array<{ label: string; fx: number; fy: number; fw: number; fh: number }> } = { boxes: [] };
