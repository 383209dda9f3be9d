import { describe, expect, it } from "vitest";
import { keyOf } from "../src/editor/hotkeys";
import { checkUpload, sniffImage } from "../src/lib/upload";
import { neighborQuery, PageCache, taskQuery } from "../src/lib/tasklist";
import { match } from "../src/lib/router";
import type { TaskPage } from "../src/lib/api";

const k = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) =>
  keyOf({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe("hotkeys", () => {
  it("names keys", () => {
    expect(k("z", { ctrlKey: true })).toBe("ctrl+z");
    expect(k("Z", { ctrlKey: true, shiftKey: true })).toBe("ctrl+shift+z");
    expect(k("z", { metaKey: true })).toBe("ctrl+z");
    expect(k("Enter", { shiftKey: true })).toBe("shift+enter");
    expect(k("?", { shiftKey: true })).toBe("?");
    expect(k(" ", { ctrlKey: true })).toBe("ctrl+space");
    expect(k("ArrowLeft")).toBe("arrowleft");
    expect(k("Tab", { shiftKey: true })).toBe("shift+tab");
  });
});

describe("uploads", () => {
  const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0]);
  it("sniffs images", () => {
    expect(sniffImage(jpeg)).toBe("jpeg");
    expect(sniffImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe("png");
    expect(sniffImage(new TextEncoder().encode("RIFF1234WEBPVP8 "))).toBe("webp");
    expect(sniffImage(new TextEncoder().encode("hello"))).toBeNull();
  });

  it("checks files before upload", () => {
    expect(checkUpload("a.JPG", jpeg, 10)).toBeNull();
    expect(checkUpload("tasks.json", new Uint8Array(), 10)).toBeNull();
    expect(checkUpload("a.jpg", new TextEncoder().encode("hello"), 5)).toMatch(/not a valid image/);
    expect(checkUpload("notes.pdf", new Uint8Array(), 5)).toMatch(/unsupported file type ".pdf"/);
    expect(checkUpload("a.jpg", jpeg, 0)).toMatch(/empty/);
  });
});

describe("task list", () => {
  it("builds Label Studio data-manager queries", () => {
    const url = new URL(taskQuery(3, 2, 100, "unlabeled", "-predictions_score"), "http://x");
    expect(url.pathname).toBe("/api/tasks");
    expect(url.searchParams.get("page")).toBe("2");
    const q = JSON.parse(url.searchParams.get("query")!);
    expect(q.ordering).toEqual(["-tasks:predictions_score"]);
    expect(q.filters.items[0]).toEqual({ filter: "filter:tasks:total_annotations", operator: "equal", type: "Number", value: 0 });
    const n = JSON.parse(new URL(neighborQuery(3, 40, -1), "http://x").searchParams.get("query")!);
    expect(n).toEqual({ filters: { conjunction: "and", items: [{ filter: "filter:tasks:id", operator: "less", type: "Number", value: 40 }] }, ordering: ["-tasks:id"] });
  });

  it("fetches only the pages in view and evicts old ones", async () => {
    const asked: number[] = [];
    const fetcher = async (page: number): Promise<TaskPage> => {
      asked.push(page);
      const tasks = Array.from({ length: 10 }, (_, i) => ({ id: (page - 1) * 10 + i + 1 }) as never);
      return { tasks, total: 1000, total_annotations: 0, total_predictions: 0 };
    };
    let changes = 0;
    const c = new PageCache(fetcher, 10, () => changes++, 3);
    c.ensure(0, 15);
    c.ensure(0, 15);
    await new Promise((r) => setTimeout(r, 0));
    expect(asked).toEqual([1, 2]);
    expect(c.total).toBe(1000);
    expect(c.row(12)?.id).toBe(13);
    c.ensure(500, 505);
    c.ensure(700, 705);
    await new Promise((r) => setTimeout(r, 0));
    expect(asked).toEqual([1, 2, 51, 71]);
    expect(c.row(0)).toBeUndefined();
    expect(c.row(701)?.id).toBe(702);
    c.ensure(2000, 2010);
    expect(asked).toHaveLength(4);
    expect(changes).toBe(4);
  });

  it("ignores answers that arrive after a reset", async () => {
    let release: (v: TaskPage) => void = () => undefined;
    const c = new PageCache(() => new Promise<TaskPage>((r) => (release = r)), 10, () => undefined);
    c.ensure(0, 1);
    c.reset();
    release({ tasks: [{ id: 1 } as never], total: 1, total_annotations: 0, total_predictions: 0 });
    await new Promise((r) => setTimeout(r, 0));
    expect(c.row(0)).toBeUndefined();
    expect(c.total).toBe(-1);
  });
});

describe("router", () => {
  it("matches patterns", () => {
    expect(match("/projects/:id/tasks/:task", "/projects/3/tasks/42")).toEqual({ id: "3", task: "42" });
    expect(match("/projects/:id", "/projects/3/tasks")).toBeNull();
    expect(match("/projects/new", "/projects/new/")).toEqual({});
  });
});
