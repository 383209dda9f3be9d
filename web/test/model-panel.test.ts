// @vitest-environment jsdom
// The Model panel rendered from one snapshot of GET /api/projects/{id}/model (no server): what it
// shows for 50 versions, a running job, a project that cannot use the detector or has it off.
import { afterEach, describe, expect, it } from "vitest";
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { ModelView, type ModelActions } from "../src/pages/model";
import type { ModelPanelData, ModelVersion } from "../src/lib/loop";
import { job, version } from "./fixtures";

function data(versions: ModelVersion[], o: Partial<ModelPanelData> = {}): ModelPanelData {
  const row = { model_version: "", annotations: 10, shown: 0, accepted: 0, adjusted: 0, deleted: 0, drawn: 12, adjust_iou_mean: 0, lead_time_n: 10, lead_time_mean: 6, box_seconds_saved: 0 };
  const v1 = { ...row, model_version: "fcos-s-v1", annotations: 4, shown: 4, accepted: 5, adjusted: 2, deleted: 1, drawn: 1, adjust_iou_mean: 0.75, lead_time_n: 4, lead_time_mean: 3, box_seconds_saved: 61 };
  return {
    project: 1,
    eligible: true,
    enabled: true,
    message: "",
    active: true,
    model_version: versions.find((v) => v.is_current)?.name ?? "",
    policy: { min_labeled: 10, retrain_every: 20, labeled: 14, changes_since_training: 4, next: "next training after 16 more new or changed annotations" },
    current: versions.find((v) => v.is_current) ?? null,
    running: null,
    queued: null,
    last_job: null,
    versions,
    help: { by_version: [row, v1], with_prediction: { ...v1, model_version: "with a prediction" }, without_prediction: { ...row, model_version: "without a prediction" }, cost_model: { draw_s: 10, adjust_s: 4, delete_s: 1 } },
    ...o,
  };
}

const calls: string[] = [];
const actions: ModelActions = {
  train: () => calls.push("train"),
  cancel: (j) => calls.push("cancel " + j.id),
  rollback: (v) => calls.push("rollback " + v.name),
  remove: (v) => calls.push("remove " + v.name),
};

function show(m: ModelPanelData): HTMLElement {
  const root = document.createElement("div");
  document.body.appendChild(root);
  act(() => render(h(ModelView, { m, projectId: 1, busy: null, actions, now: Date.parse("2026-01-01T00:10:00Z") }), root));
  return root;
}

afterEach(() => {
  document.body.innerHTML = "";
  calls.length = 0;
});

describe("Model panel", () => {
  it("shows 50 versions, the current one marked, and a point per version on the curve", () => {
    const vs = Array.from({ length: 50 }, (_, i) => version(i + 1, { is_current: i === 44, promoted: i % 3 !== 2, reason: i % 3 === 2 ? "held-out AP lower" : "better" }));
    const root = show(data(vs));
    const rows = root.querySelectorAll("[data-testid=versions] tbody[data-version]");
    expect(rows.length).toBe(50);
    expect(rows[0].getAttribute("data-version")).toBe("fcos-s-v50"); // newest first
    const current = root.querySelectorAll("tbody.current");
    expect(current.length).toBe(1);
    expect(current[0].getAttribute("data-version")).toBe("fcos-s-v45");
    expect(current[0].querySelector("[data-testid=rollback]")).toBeNull();
    expect(root.querySelectorAll("[data-testid=rollback]").length).toBe(49);
    expect(root.querySelectorAll("[data-testid=delete-version]").length).toBe(49);
    expect(root.querySelector("tbody[data-version=fcos-s-v3] tr.sub")!.textContent).toContain("not promoted: held-out AP lower");
    expect(root.querySelector("tbody[data-version=fcos-s-v2] .was")!.textContent).toBe("0.400");

    const svg = root.querySelector("[data-testid=learning-curve]")!;
    expect(svg.querySelectorAll("circle.pt-ap50").length).toBe(50);
    expect(svg.querySelectorAll("rect.pt-ap").length).toBe(50);
    expect(svg.querySelectorAll("circle.pt-ap50[fill='#fff']").length).toBe(16); // not promoted: hollow
    const legend = [...svg.querySelectorAll(".legend text")].map((t) => t.textContent);
    expect(legend).toContain("AP50");
    expect(legend).toContain("AP");
    const labels = [...svg.querySelectorAll("g.tick text")].map((t) => t.textContent);
    expect(labels).toEqual(["0.0", "0.2", "0.4", "0.6", "0", "200", "400", "600"]);
    expect(svg.textContent).toContain("training images");
    expect(root.querySelector("[data-testid=current]")!.textContent).toContain("fcos-s-v45");
    expect(root.querySelector("[data-testid=policy-next]")!.textContent).toBe("Next training after 16 more new or changed annotations.");
  });

  it("shows the running job's progress and cancels it", () => {
    const root = show(data([version(1, { is_current: true })], { running: job() }));
    const bar = root.querySelector("[data-testid=job-running] [role=progressbar]")!;
    expect(bar.getAttribute("aria-valuenow")).toBe("15");
    expect(root.querySelector("[data-testid=job-line]")!.textContent).toContain("epoch 3/20");
    act(() => (root.querySelector("[data-testid=cancel-job]") as HTMLButtonElement).click());
    act(() => (root.querySelector("[data-testid=train-now]") as HTMLButtonElement).click());
    expect(calls).toEqual(["cancel 7", "train"]);
  });

  it("deletes a version only after confirmation", () => {
    const root = show(data([version(1), version(2, { is_current: true })]));
    act(() => (root.querySelector("[data-testid=delete-version]") as HTMLButtonElement).click());
    expect(calls).toEqual([]);
    expect(document.querySelector("[role=dialog]")!.textContent).toContain("fcos-s-v1");
    act(() => (document.querySelector("[data-testid=confirm-delete]") as HTMLButtonElement).click());
    expect(calls).toEqual(["remove fcos-s-v1"]);
  });

  it("shows the last job's error and log", () => {
    const root = show(data([], { last_job: job({ state: "failed", error: "worker killed by signal 9", log: "epoch 1/20\n" }) }));
    const last = root.querySelector("[data-testid=last-job]")!;
    expect(last.getAttribute("data-state")).toBe("failed");
    expect(last.textContent).toContain("worker killed by signal 9");
    expect(last.querySelector("details pre")!.textContent).toBe("epoch 1/20\n");
    expect(root.querySelector("[data-testid=curve-empty]")).not.toBeNull();
  });

  it("counts the effort saved", () => {
    const root = show(data([version(1, { is_current: true })]));
    const effort = root.querySelector("[data-testid=effort]")!;
    const total = effort.querySelector("tr.total")!;
    expect([...total.querySelectorAll("td")].map((t) => t.textContent)).toEqual(["total", "14", "5", "2", "1", "13"]);
    expect(effort.textContent).toContain("mean IoU 0.75");
    expect(effort.querySelector("[data-testid=lead-times]")!.textContent).toContain("3.0 s with a prediction (4), 6.0 s without (10)");
    expect(effort.querySelector("[data-testid=box-seconds]")!.textContent).toContain("1 min 01 s");
  });

  it("says why there is no detector", () => {
    let root = show(data([], { eligible: false, active: false, message: "the labeling config has no RectangleLabels on an Image" }));
    expect(root.querySelector("[data-testid=not-eligible]")!.textContent).toContain("no RectangleLabels");
    expect(root.querySelector("[data-testid=train-now]")).toBeNull();
    document.body.innerHTML = "";
    root = show(data([], { enabled: false, active: false }));
    const off = root.querySelector("[data-testid=loop-off]")!;
    expect(off.querySelector("a")!.getAttribute("href")).toBe("/projects/1/settings#loop");
    expect(root.querySelector("[data-testid=policy-next]")).toBeNull();
  });
});
