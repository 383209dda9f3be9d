// Model versions and jobs as GET /api/projects/{id}/model sends them, for the loop tests.
import type { Job, ModelVersion } from "../src/lib/loop";

export function version(seq: number, o: Partial<ModelVersion> = {}): ModelVersion {
  return {
    id: seq,
    name: `fcos-s-v${seq}`,
    seq,
    project: 1,
    arch: "fcos-s",
    input_size: 320,
    classes: ["face"],
    train_images: seq * 10,
    heldout_images: seq * 2,
    epochs: 20,
    duration_s: 30 + seq,
    metrics: { ap: 0.2 + seq * 0.001, ap50: 0.4 + seq * 0.002, ap75: 0.15 },
    current_metrics: seq > 1 ? { ap: 0.2, ap50: 0.4, ap75: 0.15 } : null,
    score_threshold: 0.3,
    promoted: true,
    reason: "first model of the project",
    is_current: false,
    parent: seq > 1 ? seq - 1 : null,
    job: seq,
    created_at: "2026-01-01T00:00:00Z",
    promoted_at: "2026-01-01T00:00:00Z",
    ...o,
  };
}

export function job(o: Partial<Job> = {}): Job {
  return {
    id: 7,
    project: 1,
    kind: "train",
    state: "running",
    reason: "manual",
    attempt: 1,
    phase: "training",
    progress: { epoch: 3, epochs: 20, step: 30, steps: 200, loss: 1.23456, images_per_s: 45.25, elapsed_s: 12, eta_s: 40 },
    log: "",
    error: null,
    cancel_requested: false,
    owner: "",
    version: null,
    created_at: null,
    started_at: null,
    ended_at: null,
    ...o,
  };
}
