// The Model panel of a project page: the built-in detector's current version and where the
// training policy stands, the running job with its progress, Train now and Cancel, the last job
// with its error and log, the learning curve, the registry of versions (rollback, delete) and the
// effort the model saved. It polls GET /api/projects/{id}/model: every 2 s while a job is running
// or queued, every 15 s otherwise, and stops when the page is left.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import {
  curveLayout,
  curvePoints,
  fmtAgo,
  fmtAp,
  fmtDuration,
  fmtSaved,
  helpTotals,
  jobFraction,
  jobLine,
  linePath,
  pollDelay,
  tickDecimals,
  type HelpRow,
  type Job,
  type ModelPanelData,
  type ModelVersion,
} from "../lib/loop";
import { fmtNumber, Link, Message, Modal, Progress, Spinner } from "../components";

export interface ModelActions {
  train(): void;
  cancel(job: Job): void;
  rollback(v: ModelVersion): void;
  remove(v: ModelVersion): void;
}

/** Fetches and polls the panel's data; `onChange` fires when a job ended or the current model
 * changed (the task list and counts have new predictions then). */
export function ModelPanel(props: { projectId: number; onChange?: () => void }) {
  const [data, setData] = useState<ModelPanelData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const refresh = useRef<() => void>(() => undefined);
  const seen = useRef<string | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    let stop = false;
    let timer = 0;
    let ac: AbortController | null = null;
    const tick = async () => {
      window.clearTimeout(timer);
      ac?.abort();
      const mine = (ac = new AbortController());
      let delay = 15000;
      try {
        const d = await api.get<ModelPanelData>(`/api/projects/${props.projectId}/model`, { signal: mine.signal });
        if (stop) return;
        performance.clearMarks("ll:model-data");
        performance.mark("ll:model-data");
        setData(d);
        setError(null);
        delay = pollDelay(d);
        const key = `${d.current?.id ?? ""}|${d.last_job?.id ?? ""}:${d.last_job?.state ?? ""}`;
        if (seen.current !== null && seen.current !== key) onChange.current?.();
        seen.current = key;
      } catch (e) {
        if (stop || (e as Error).name === "AbortError") return;
        setError((e as Error).message);
      }
      if (!stop) timer = window.setTimeout(tick, delay);
    };
    refresh.current = () => void tick();
    void tick();
    return () => {
      stop = true;
      window.clearTimeout(timer);
      ac?.abort();
    };
  }, [props.projectId]);

  // How long the panel takes to show new data (bench/ui-model reads these): to the DOM being
  // updated (ll:model-render), and to the next animation frame after that (ll:model-panel).
  useLayoutEffect(() => {
    if (!data || performance.getEntriesByName("ll:model-data").length === 0) return;
    performance.clearMeasures("ll:model-render");
    performance.measure("ll:model-render", "ll:model-data");
    const id = requestAnimationFrame(() => {
      performance.clearMeasures("ll:model-panel");
      performance.measure("ll:model-panel", "ll:model-data");
    });
    return () => cancelAnimationFrame(id);
  }, [data]);

  const act = async (what: string, fn: () => Promise<unknown>) => {
    setBusy(what);
    setActionError(null);
    try {
      await fn();
    } catch (e) {
      setActionError((e as ApiError).message);
    } finally {
      setBusy(null);
      refresh.current();
    }
  };
  const base = `/api/projects/${props.projectId}/model`;
  const actions: ModelActions = {
    train: () => void act("train", () => api.post(`${base}/train`)),
    cancel: (job) => void act("cancel", () => api.post(`${base}/jobs/${job.id}/cancel`)),
    rollback: (v) => void act("rollback", () => api.post(`${base}/versions/${v.id}/rollback`)),
    remove: (v) => void act("delete", () => api.del(`${base}/versions/${v.id}`)),
  };

  if (!data) {
    return (
      <aside class="side model-panel" id="model-panel" aria-label="model">
        <h3>Model</h3>
        {error ? <Message kind="error">Could not load the model: {error}</Message> : <Spinner label="Loading…" />}
      </aside>
    );
  }
  return (
    <aside class="side model-panel" id="model-panel" aria-label="model">
      <ModelView m={data} projectId={props.projectId} busy={busy} actions={actions} />
      {actionError && (
        <Message kind="error" onClose={() => setActionError(null)}>
          {actionError}
        </Message>
      )}
      {error && <Message kind="warn">Could not refresh: {error}</Message>}
    </aside>
  );
}

/** The panel for one snapshot of the model endpoint (no fetching: rendered as is in tests). */
export function ModelView(props: { m: ModelPanelData; projectId: number; busy: string | null; actions: ModelActions; now?: number }) {
  const { m, actions, busy } = props;
  const now = props.now ?? Date.now();
  // A poll brings new objects every 2 s while a job runs, but versions and effort rarely change:
  // the same element back lets Preact skip those subtrees (50 versions: ~17 ms to ~3 ms a poll).
  const minute = Math.floor(now / 60000);
  const vkey = m.versions.map((v) => `${v.id}${v.is_current ? "*" : ""}`).join(",");
  const curve = useMemo(() => <LearningCurve versions={m.versions} />, [vkey]);
  const table = useMemo(() => <Versions versions={m.versions} actions={actions} busy={busy} now={now} />, [vkey, busy, minute]);
  const effort = useMemo(() => <Effort m={m} />, [JSON.stringify(m.help)]);
  return (
    <div class="model" data-testid="model">
      <div class="model-head">
        <h3>Model</h3>
        <span class="grow" />
        {m.eligible && m.enabled && (
          <button class="primary small-button" onClick={actions.train} disabled={busy !== null || !m.active} data-testid="train-now" title={m.running ? "queue another training after the running one" : "train a new version now"}>
            {busy === "train" ? <Spinner /> : null}Train now
          </button>
        )}
      </div>
      {!m.eligible && (
        <Message kind="info">
          <span data-testid="not-eligible">{m.message || "This project cannot use the built-in detector."}</span>
        </Message>
      )}
      {m.eligible && !m.enabled && (
        <Message kind="warn">
          <span data-testid="loop-off">
            The built-in detector is off for this project: nothing trains or predicts. <Link href={`/projects/${props.projectId}/settings#loop`}>Turn it on in the settings</Link>.
          </span>
        </Message>
      )}
      <Current m={m} now={now} />
      {m.running && <JobBox job={m.running} actions={actions} busy={busy} />}
      {m.queued && <JobBox job={m.queued} actions={actions} busy={busy} />}
      {m.last_job && <LastJob job={m.last_job} now={now} />}
      <section>
        <h4>Learning curve</h4>
        {curve}
      </section>
      <section>
        <h4>Versions</h4>
        {table}
      </section>
      <section>
        <h4>Effort saved</h4>
        {effort}
      </section>
    </div>
  );
}

function Current(props: { m: ModelPanelData; now: number }) {
  const { m } = props;
  const c = m.current;
  return (
    <div class="current" data-testid="current">
      {c ? (
        <dl class="facts">
          <dt>Current</dt>
          <dd>
            <b class="mono">{c.name}</b> <span class="muted">{fmtAgo(c.promoted_at || c.created_at, props.now)}</span>
          </dd>
          <dt>Held-out</dt>
          <dd>
            AP50 <b>{fmtAp(c.metrics?.ap50)}</b> · AP <b>{fmtAp(c.metrics?.ap)}</b> <span class="muted">on {plainCount(c.heldout_images, "image")}</span>
          </dd>
          <dt>Trained on</dt>
          <dd>{plainCount(c.train_images, "image")}</dd>
        </dl>
      ) : (
        <p class="muted">{m.model_version ? `Predictions shown: ${m.model_version} (not a version of the built-in detector).` : "No model yet."}</p>
      )}
      {m.eligible && m.enabled && (
        <p class="policy" data-testid="policy-next">
          {capitalize(m.policy.next)}.
        </p>
      )}
    </div>
  );
}

function plainCount(n: number, word: string): string {
  return `${fmtNumber(n)} ${word}${n === 1 ? "" : "s"}`;
}

function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

function jobTitle(job: Job): string {
  return `${job.kind === "train" ? "Training" : "Predicting"} #${job.id}${job.reason ? ` (${job.reason})` : ""}`;
}

function JobBox(props: { job: Job; actions: ModelActions; busy: string | null }) {
  const { job } = props;
  const f = jobFraction(job);
  return (
    <div class={"job " + job.state} data-testid={job.state === "queued" ? "job-queued" : "job-running"} data-job-id={job.id}>
      <div class="row">
        <span>
          <b>{jobTitle(job)}</b> <span class={"state " + job.state}>{job.state}</span>
        </span>
        <button class="small-button" onClick={() => props.actions.cancel(job)} disabled={props.busy !== null || job.cancel_requested} data-testid="cancel-job">
          {job.cancel_requested ? "Cancelling…" : "Cancel"}
        </button>
      </div>
      {job.state === "running" && <Progress value={f} label={job.phase} />}
      <div class="small muted job-line" data-testid="job-line">
        {jobLine(job)}
      </div>
    </div>
  );
}

function LastJob(props: { job: Job; now: number }) {
  const { job } = props;
  const took = job.started_at && job.ended_at ? (Date.parse(job.ended_at) - Date.parse(job.started_at)) / 1000 : null;
  return (
    <div class="last-job" data-testid="last-job" data-job-id={job.id} data-state={job.state}>
      <div class="row">
        <span>
          Last: {jobTitle(job)} <span class={"state " + job.state}>{job.state}</span>
        </span>
        <span class="muted small">
          {fmtAgo(job.ended_at || job.created_at, props.now)}
          {took !== null && ` · took ${fmtDuration(took)}`}
        </span>
      </div>
      {job.error && <Message kind="error">{job.error}</Message>}
      {job.log && (
        <details class="log">
          <summary>Log</summary>
          <pre>{job.log}</pre>
        </details>
      )}
    </div>
  );
}

const CURVE_W = 400;
const CURVE_H = 200;

export function LearningCurve(props: { versions: ModelVersion[] }) {
  const pts = curvePoints(props.versions);
  if (!pts.length) return <p class="muted small" data-testid="curve-empty">No held-out metrics yet: the curve starts with the first trained version.</p>;
  const L = curveLayout(pts, CURVE_W, CURVE_H);
  const dy = tickDecimals(L.yTicks);
  const series = [
    { key: "ap50", name: "AP50", color: "#2f6fed", val: (p: (typeof pts)[0]) => p.ap50 },
    { key: "ap", name: "AP", color: "#e67700", val: (p: (typeof pts)[0]) => p.ap },
  ];
  const x0 = L.left;
  const x1 = L.width - L.right;
  const yb = L.height - L.bottom;
  return (
    <svg class="curve" viewBox={`0 0 ${L.width} ${L.height}`} role="img" aria-label="learning curve: held-out AP50 and AP against training images" data-testid="learning-curve">
      {L.yTicks.map((t) => (
        <g key={"y" + t} class="tick">
          <line x1={x0} x2={x1} y1={L.y(t)} y2={L.y(t)} class="grid" />
          <text x={x0 - 4} y={L.y(t) + 3.5} text-anchor="end">
            {t.toFixed(dy)}
          </text>
        </g>
      ))}
      {L.xTicks.map((t) => (
        <g key={"x" + t} class="tick">
          <line x1={L.x(t)} x2={L.x(t)} y1={yb} y2={yb + 4} class="axis" />
          <text x={L.x(t)} y={yb + 15} text-anchor="middle">
            {fmtNumber(t)}
          </text>
        </g>
      ))}
      <line x1={x0} x2={x1} y1={yb} y2={yb} class="axis" />
      <line x1={x0} x2={x0} y1={L.top} y2={yb} class="axis" />
      <text class="axis-title" x={(x0 + x1) / 2} y={L.height - 3} text-anchor="middle">
        training images
      </text>
      <text class="axis-title" transform={`translate(10 ${(L.top + yb) / 2}) rotate(-90)`} text-anchor="middle">
        held-out AP
      </text>
      {series.map((s) => (
        <g key={s.key} class={"series " + s.key} data-series={s.name}>
          <path d={linePath(pts.map((p) => [L.x(p.x), L.y(s.val(p))]))} fill="none" stroke={s.color} stroke-width="1.5" />
          {pts.map((p, i) => {
            const cx = L.x(p.x);
            const cy = L.y(s.val(p));
            const fill = p.promoted ? s.color : "#fff";
            const title = `${p.version}: ${s.name} ${fmtAp(s.val(p))} on ${fmtNumber(p.x)} training images${p.promoted ? "" : " (not promoted)"}${p.current ? " (current)" : ""}`;
            return s.key === "ap50" ? (
              <circle key={i} class={"pt pt-" + s.key} cx={cx} cy={cy} r={p.current ? 4.5 : 3} fill={fill} stroke={s.color} stroke-width="1.5">
                <title>{title}</title>
              </circle>
            ) : (
              <rect key={i} class={"pt pt-" + s.key} x={cx - 3} y={cy - 3} width={6} height={6} fill={fill} stroke={s.color} stroke-width="1.5">
                <title>{title}</title>
              </rect>
            );
          })}
        </g>
      ))}
      <g class="legend" transform={`translate(${x0 + 8} ${L.top + 4})`}>
        {series.map((s, i) => (
          <g key={s.key} transform={`translate(${i * 62} 0)`}>
            <line x1={0} x2={14} y1={4} y2={4} stroke={s.color} stroke-width="2" />
            <text x={18} y={8}>
              {s.name}
            </text>
          </g>
        ))}
        <text x={124} y={8} class="muted-text">
          hollow: not promoted
        </text>
      </g>
    </svg>
  );
}

function MetricCell(props: { v: number | undefined; was: number | undefined }) {
  return (
    <td class="num">
      {fmtAp(props.v)}
      {props.was !== undefined && <div class="was" title="the then-current model on the same held-out tasks">{fmtAp(props.was)}</div>}
    </td>
  );
}

function Versions(props: { versions: ModelVersion[]; actions: ModelActions; busy: string | null; now: number }) {
  const [confirm, setConfirm] = useState<ModelVersion | null>(null);
  if (!props.versions.length) return <p class="muted small">No versions yet.</p>;
  const rows = props.versions.slice().reverse();
  return (
    <div class="versions-wrap">
      <table class="versions" data-testid="versions">
        <thead>
          <tr>
            <th>Version</th>
            <th class="num" title="training images">Train</th>
            <th class="num" title="held-out AP50 (below: the then-current model's on the same tasks)">AP50</th>
            <th class="num" title="held-out AP@[.5:.95]">AP</th>
            <th class="num" title="held-out AP75">AP75</th>
            <th />
          </tr>
        </thead>
        {rows.map((v) => (
          <tbody key={v.id} class={v.is_current ? "current" : ""} data-version={v.name} data-version-id={v.id}>
            <tr>
              <td class="mono vname">
                {v.name}
                {v.is_current && <span class="badge labeled">current</span>}
              </td>
              <td class="num">{fmtNumber(v.train_images)}</td>
              <MetricCell v={v.metrics?.ap50} was={v.current_metrics?.ap50} />
              <MetricCell v={v.metrics?.ap} was={v.current_metrics?.ap} />
              <MetricCell v={v.metrics?.ap75} was={v.current_metrics?.ap75} />
              <td class="actions">
                {!v.is_current && (
                  <>
                    <button class="link" onClick={() => props.actions.rollback(v)} disabled={props.busy !== null} title="make this the current model" data-testid="rollback">
                      Rollback
                    </button>
                    <button class="link danger" onClick={() => setConfirm(v)} disabled={props.busy !== null} title="delete this version" aria-label={`delete ${v.name}`} data-testid="delete-version">
                      ×
                    </button>
                  </>
                )}
              </td>
            </tr>
            <tr class="sub">
              <td colSpan={6}>
                <span class={v.promoted ? "ok" : "warn"}>{v.promoted ? "promoted" : "not promoted"}</span>: {v.reason || "–"} · {fmtDuration(v.duration_s)} · {fmtAgo(v.created_at, props.now)}
              </td>
            </tr>
          </tbody>
        ))}
      </table>
      {confirm && (
        <Modal title="Delete model version" onClose={() => setConfirm(null)}>
          <p>
            Delete <b class="mono">{confirm.name}</b> and its model file? The predictions it made stay. This cannot be undone.
          </p>
          <div class="buttons">
            <button onClick={() => setConfirm(null)}>Keep it</button>
            <button
              class="danger primary"
              data-testid="confirm-delete"
              onClick={() => {
                props.actions.remove(confirm);
                setConfirm(null);
              }}
            >
              Delete version
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

function helpName(r: HelpRow): string {
  return r.model_version || "no prediction";
}

function Effort(props: { m: ModelPanelData }) {
  const h = props.m.help;
  if (!h || !h.by_version.length) return <p class="muted small">Nothing submitted yet.</p>;
  const total = helpTotals(h.by_version);
  const w = h.with_prediction;
  const wo = h.without_prediction;
  const row = (r: HelpRow, cls = "") => (
    <tr key={r.model_version + cls} class={cls}>
      <td class="mono">{cls ? "total" : helpName(r)}</td>
      <td class="num">{fmtNumber(r.annotations)}</td>
      <td class="num">{fmtNumber(r.accepted)}</td>
      <td class="num">{fmtNumber(r.adjusted)}</td>
      <td class="num">{fmtNumber(r.deleted)}</td>
      <td class="num">{fmtNumber(r.drawn)}</td>
    </tr>
  );
  return (
    <div class="effort" data-testid="effort">
      <table class="versions">
        <thead>
          <tr>
            <th>Started from</th>
            <th class="num" title="annotations submitted">Tasks</th>
            <th class="num" title="predicted boxes kept as they were">Acc.</th>
            <th class="num" title="predicted boxes moved or resized">Adj.</th>
            <th class="num" title="predicted boxes deleted">Del.</th>
            <th class="num" title="boxes drawn by hand">Drawn</th>
          </tr>
        </thead>
        <tbody>
          {h.by_version.map((r) => row(r))}
          {h.by_version.length > 1 && row(total, "total")}
        </tbody>
      </table>
      <dl class="facts small">
        <dt>Adjusted boxes</dt>
        <dd>{total.adjusted ? `mean IoU ${total.adjust_iou_mean.toFixed(2)} with the prediction` : "none yet"}</dd>
        <dt>Time per task</dt>
        <dd data-testid="lead-times">
          {w.lead_time_n ? fmtDuration(w.lead_time_mean) : "–"} with a prediction ({fmtNumber(w.lead_time_n)}), {wo.lead_time_n ? fmtDuration(wo.lead_time_mean) : "–"} without ({fmtNumber(wo.lead_time_n)})
        </dd>
        <dt>Box work saved</dt>
        <dd data-testid="box-seconds">
          {fmtSaved(total.box_seconds_saved)}{" "}
          <span class="muted" title="what the boxes would have cost by hand, less what accepting, adjusting and deleting cost">
            (draw {h.cost_model.draw_s} s, adjust {h.cost_model.adjust_s} s, delete {h.cost_model.delete_s} s a box)
          </span>
        </dd>
      </dl>
    </div>
  );
}
