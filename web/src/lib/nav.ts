// Previous / next in the editor step through the task list as the user last saw it (its filter,
// search and order), as Label Studio's and CVAT's do; the labeling queue (/next, ordered by the
// project's sampling) is a separate action. The list's ids are fetched in chunks when first
// needed and kept as a snapshot, so a task that leaves the filter once it is labeled ("Unlabeled")
// keeps its place: next goes on from it and previous comes back to it.

import type { FilterId, OrderId } from "./tasklist";

/** The list the editor steps through; the task list writes it whenever its query changes. */
export interface ListContext {
  project: number;
  filter: FilterId;
  order: OrderId;
  search: string;
}

const KEY = "labelloop.list";

export function saveListContext(c: ListContext): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(c));
  } catch {
    /* storage unavailable: the editor falls back to all tasks by id */
  }
}

export function listContext(project: number): ListContext {
  const dflt: ListContext = { project, filter: "all", order: "id", search: "" };
  try {
    const c = JSON.parse(sessionStorage.getItem(KEY) || "null") as Partial<ListContext> | null;
    if (!c || c.project !== project) return dflt;
    return { ...dflt, ...c, search: c.search ?? "" };
  } catch {
    return dflt;
  }
}

/** One chunk of the list's ids: page `page` (1-based) of `size`, and the list's total. */
export type IdFetcher = (page: number, size: number) => Promise<{ ids: number[]; total: number }>;

export class TaskNav {
  private ids: number[] = [];
  private total = -1;
  private pages = 0;

  constructor(
    readonly key: string,
    private readonly fetch: IdFetcher,
    private readonly chunk = 1000,
  ) {}

  private get complete(): boolean {
    return this.total >= 0 && this.ids.length >= this.total;
  }

  private async more(): Promise<boolean> {
    if (this.complete) return false;
    const r = await this.fetch(this.pages + 1, this.chunk);
    this.pages++;
    this.total = r.total;
    this.ids.push(...r.ids);
    if (r.ids.length < this.chunk) this.total = this.ids.length;
    return r.ids.length > 0;
  }

  /**
   * The task after (dir 1) or before (-1) `taskId` in the list: its id, null at either end, or
   * undefined when the task is not in the list at all.
   */
  async neighbor(taskId: number, dir: 1 | -1): Promise<number | null | undefined> {
    for (;;) {
      const i = this.ids.indexOf(taskId);
      if (i >= 0 && (dir < 0 || i + 1 < this.ids.length || this.complete)) return this.ids[i + dir] ?? null;
      if (!(await this.more())) return i >= 0 ? null : undefined;
    }
  }

  /** Position (1-based) and length of the list as far as it is known, for "task 3 of 20". */
  position(taskId: number): [number, number] | null {
    const i = this.ids.indexOf(taskId);
    return i < 0 ? null : [i + 1, this.total];
  }
}

let current: TaskNav | null = null;

/** The snapshot for this list context, reused while the context stays the same. */
export function navFor(ctx: ListContext, fetch: IdFetcher): TaskNav {
  const key = JSON.stringify(ctx);
  if (!current || current.key !== key) current = new TaskNav(key, fetch);
  return current;
}

/** Drops the snapshot (the task list calls it when shown, so the next visit sees new tasks). */
export function resetNav(): void {
  current = null;
}
