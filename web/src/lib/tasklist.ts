// Task list data for a virtual scroller over up to hundreds of thousands of tasks: pages are
// fetched on demand for the rows in view, kept in a small LRU, and the query (sort, filter) uses
// Label Studio's data-manager form ({filters:{conjunction,items}, ordering:[...]}).

import type { Task, TaskPage } from "./api";

export type FilterId = "all" | "unlabeled" | "labeled" | "skipped" | "predicted" | "uncertain";
export type OrderId = "id" | "-id" | "predictions_score" | "-predictions_score" | "uncertainty" | "-uncertainty" | "-updated_at" | "total_annotations";

interface FilterItem {
  filter: string;
  operator: string;
  type: string;
  value: number | boolean;
}

const FILTERS: Record<FilterId, FilterItem[]> = {
  all: [],
  unlabeled: [
    { filter: "filter:tasks:total_annotations", operator: "equal", type: "Number", value: 0 },
    { filter: "filter:tasks:cancelled_annotations", operator: "equal", type: "Number", value: 0 },
  ],
  labeled: [{ filter: "filter:tasks:total_annotations", operator: "greater", type: "Number", value: 0 }],
  skipped: [{ filter: "filter:tasks:cancelled_annotations", operator: "greater", type: "Number", value: 0 }],
  predicted: [{ filter: "filter:tasks:total_predictions", operator: "greater", type: "Number", value: 0 }],
  uncertain: [
    { filter: "filter:tasks:total_predictions", operator: "greater", type: "Number", value: 0 },
    { filter: "filter:tasks:predictions_score", operator: "less", type: "Number", value: 0.5 },
  ],
};

export const FILTER_NAMES: Record<FilterId, string> = {
  all: "All tasks",
  unlabeled: "Unlabeled",
  labeled: "Labeled",
  skipped: "Skipped",
  predicted: "With predictions",
  uncertain: "Prediction score < 0.5",
};

export const ORDER_NAMES: Record<OrderId, string> = {
  id: "Oldest first",
  "-id": "Newest first",
  predictions_score: "Lowest score first",
  "-predictions_score": "Highest score first",
  "-uncertainty": "Most uncertain first",
  uncertainty: "Least uncertain first",
  "-updated_at": "Recently updated",
  total_annotations: "Fewest annotations",
};

/** The order after clicking a sortable column's header: descending first, then ascending, then
 * back to id order. */
export function toggleOrder(current: OrderId, column: "predictions_score" | "uncertainty"): OrderId {
  if (current === "-" + column) return column;
  if (current === column) return "id";
  return ("-" + column) as OrderId;
}

/** "asc", "desc" or null: how `column` is sorted now (for aria-sort and the arrow). */
export function sortOf(current: OrderId, column: string): "ascending" | "descending" | null {
  if (current === column) return "ascending";
  if (current === "-" + column) return "descending";
  return null;
}

/** The query string of GET /api/tasks for one page; `search` keeps the tasks whose `data.<dataKey>`
 * (the image's file name or URL) contains it. */
export function taskQuery(project: number, page: number, pageSize: number, filter: FilterId, order: OrderId, search = "", dataKey = "image"): string {
  const items: Array<FilterItem | { filter: string; operator: string; type: string; value: string }> = [...FILTERS[filter]];
  if (search.trim()) items.push({ filter: `filter:tasks:data.${dataKey}`, operator: "contains", type: "String", value: search.trim() });
  const q = {
    filters: { conjunction: "and", items },
    ordering: [order.startsWith("-") ? "-tasks:" + order.slice(1) : "tasks:" + order],
  };
  const p = new URLSearchParams({ project: String(project), page: String(page), page_size: String(pageSize), query: JSON.stringify(q) });
  return "/api/tasks?" + p.toString();
}

export type PageFetcher = (page: number, signal: AbortSignal) => Promise<TaskPage>;

/** Rows fetched by page on demand; `onChange` fires when rows or the total arrive. */
export class PageCache {
  total = -1;
  error: string | null = null;
  private pages = new Map<number, Task[]>();
  private loading = new Map<number, AbortController>();
  private generation = 0;

  constructor(
    private readonly fetcher: PageFetcher,
    readonly pageSize: number,
    private readonly onChange: () => void,
    private readonly maxPages = 40,
  ) {}

  row(i: number): Task | undefined {
    const page = this.pages.get(Math.floor(i / this.pageSize) + 1);
    return page?.[i % this.pageSize];
  }

  /** Makes sure the pages covering rows [first, last] are loaded or loading. */
  ensure(first: number, last: number): void {
    const p0 = Math.floor(Math.max(0, first) / this.pageSize) + 1;
    const p1 = Math.floor(Math.max(0, last) / this.pageSize) + 1;
    for (let p = p0; p <= p1; p++) {
      if (this.total >= 0 && (p - 1) * this.pageSize >= this.total) break;
      if (this.pages.has(p)) {
        const rows = this.pages.get(p)!;
        this.pages.delete(p); // LRU: re-insert as newest
        this.pages.set(p, rows);
      } else if (!this.loading.has(p)) void this.load(p);
    }
  }

  get pending(): number {
    return this.loading.size;
  }

  private async load(p: number): Promise<void> {
    const ac = new AbortController();
    const gen = this.generation;
    this.loading.set(p, ac);
    try {
      const res = await this.fetcher(p, ac.signal);
      if (gen !== this.generation) return;
      this.total = res.total;
      this.pages.set(p, res.tasks);
      while (this.pages.size > this.maxPages) this.pages.delete(this.pages.keys().next().value as number);
      this.error = null;
    } catch (e) {
      const err = e as Error & { status?: number };
      if (err.name === "AbortError" || gen !== this.generation) return;
      if (err.status === 404 && p > 1) this.total = Math.min(this.total < 0 ? Infinity : this.total, (p - 1) * this.pageSize);
      else if (err.status === 404) this.total = 0;
      else this.error = err.message;
    } finally {
      if (this.loading.get(p) === ac) this.loading.delete(p);
      if (gen === this.generation) this.onChange();
    }
  }

  /** Drops everything (new filter or order, or after an import). */
  reset(): void {
    this.generation++;
    this.loading.forEach((ac) => ac.abort());
    this.loading.clear();
    this.pages.clear();
    this.total = -1;
    this.error = null;
  }
}

/** The task just after (dir 1) or before (-1) a task in id order: for previous/next in the editor. */
export function neighborQuery(project: number, taskId: number, dir: 1 | -1): string {
  const q = {
    filters: { conjunction: "and", items: [{ filter: "filter:tasks:id", operator: dir > 0 ? "greater" : "less", type: "Number", value: taskId }] },
    ordering: [dir > 0 ? "tasks:id" : "-tasks:id"],
  };
  return "/api/tasks?" + new URLSearchParams({ project: String(project), page: "1", page_size: "1", query: JSON.stringify(q) }).toString();
}
