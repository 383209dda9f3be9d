// A project's home: counts, the task list (virtual scrolling over pages fetched on demand, so it
// stays fast at 100,000 tasks) with thumbnails, state, prediction score, uncertainty and model
// version, sort and filter; import and export; the Model panel (model.tsx) in the side column.

import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, type Project, type Task, type TaskPage } from "../lib/api";
import { FILTER_NAMES, ORDER_NAMES, PageCache, sortOf, taskQuery, toggleOrder, type FilterId, type OrderId } from "../lib/tasklist";
import { navigate } from "../lib/router";
import { fmtNumber, Link, Message, Progress, Spinner } from "../components";
import { ImportPanel } from "./import";
import { ExportDialog } from "./export";
import { ModelPanel } from "./model";

const ROW_H = 56;
const PAGE_SIZE = 100;
const OVERSCAN = 10;

export function taskImage(t: Task): string {
  const v = Object.values(t.data).find((x) => typeof x === "string");
  return typeof v === "string" ? v : "";
}

function basename(url: string): string {
  const s = url.split("?")[0];
  return decodeURIComponent(s.slice(s.lastIndexOf("/") + 1)) || url;
}

function stateOf(t: Task): [string, string] {
  if (t.total_annotations > 0) return ["labeled", "labeled"];
  if (t.cancelled_annotations > 0) return ["skipped", "skipped"];
  return ["unlabeled", "—"];
}

function TaskRow(props: { t: Task | undefined; index: number; projectId: number }) {
  const t = props.t;
  const style = { top: props.index * ROW_H + "px", height: ROW_H + "px" };
  if (!t) {
    return (
      <div class="task-row loading" style={style}>
        <span class="thumb" />
        <span class="muted">loading…</span>
      </div>
    );
  }
  const [cls, label] = stateOf(t);
  const score = t.predictions_score;
  const unc = t.uncertainty;
  // Label Studio's data manager sends a comma-joined string here; older shapes a list.
  const mv = t.predictions_model_versions;
  const versions = Array.isArray(mv) ? mv.join(", ") : mv ?? "";
  return (
    <a class="task-row" style={style} href={`/projects/${props.projectId}/tasks/${t.id}`} data-task-id={t.id} onClick={(e) => (e.preventDefault(), navigate(`/projects/${props.projectId}/tasks/${t.id}`))}>
      <span class="thumb">
        <img src={`/api/tasks/${t.id}/thumbnail`} loading="lazy" alt="" onError={(e) => (e.currentTarget.style.visibility = "hidden")} />
      </span>
      <span class="tid">#{t.id}</span>
      <span class="fname" title={taskImage(t)}>
        {basename(taskImage(t))}
      </span>
      <span class={"badge " + cls}>{label}</span>
      <span class="num">{t.total_annotations}</span>
      <span class="num score">{score === null || score === undefined ? "–" : score.toFixed(2)}</span>
      <span class="num uncertainty">{unc === null || unc === undefined ? "–" : unc.toFixed(2)}</span>
      <span class="mono mv" title={versions}>
        {versions || "–"}
      </span>
    </a>
  );
}

function SortHead(props: { label: string; column: "predictions_score" | "uncertainty"; order: OrderId; setOrder: (o: OrderId) => void; title: string }) {
  const sort = sortOf(props.order, props.column);
  return (
    <span class="num" role="columnheader" aria-sort={sort ?? "none"}>
      <button class={"link sort" + (sort ? " on" : "")} title={props.title + "; click to sort"} data-sort={props.column} onClick={() => props.setOrder(toggleOrder(props.order, props.column))}>
        {props.label}
        {sort === "descending" ? " ▼" : sort === "ascending" ? " ▲" : ""}
      </button>
    </span>
  );
}

function TaskList(props: { projectId: number; version: number }) {
  const [filter, setFilter] = useState<FilterId>("all");
  const [order, setOrder] = useState<OrderId>("id");
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef<HTMLDivElement>(null);
  const cache = useMemo(
    () => new PageCache((page, signal) => api.get<TaskPage>(taskQuery(props.projectId, page, PAGE_SIZE, filter, order), { signal }), PAGE_SIZE, () => redraw(0)),
    [props.projectId, filter, order, props.version],
  );
  useEffect(() => () => cache.reset(), [cache]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new filter or order starts at the top; a refresh (new predictions) keeps the place.
  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
  }, [props.projectId, filter, order]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.floor((scrollTop + height) / ROW_H) + OVERSCAN;
  cache.ensure(first, last);
  const total = cache.total;
  const rows = [];
  const end = total < 0 ? Math.min(last, PAGE_SIZE - 1) : Math.min(last, total - 1);
  for (let i = first; i <= end; i++) rows.push(<TaskRow key={i} index={i} t={cache.row(i)} projectId={props.projectId} />);
  sessionStorage.setItem("labelloop.list", JSON.stringify({ project: props.projectId, filter, order }));

  return (
    <div class="task-list">
      <div class="list-tools">
        <select value={filter} onChange={(e) => setFilter(e.currentTarget.value as FilterId)} aria-label="filter">
          {Object.entries(FILTER_NAMES).map(([k, v]) => (
            <option value={k} key={k}>
              {v}
            </option>
          ))}
        </select>
        <select value={order} onChange={(e) => setOrder(e.currentTarget.value as OrderId)} aria-label="order">
          {Object.entries(ORDER_NAMES).map(([k, v]) => (
            <option value={k} key={k}>
              {v}
            </option>
          ))}
        </select>
        <span class="grow" />
        {cache.pending > 0 && <Spinner />}
        <span class="muted" data-testid="task-total">
          {total < 0 ? "" : `${fmtNumber(total)} task${total === 1 ? "" : "s"}`}
        </span>
      </div>
      <div class="task-head">
        <span class="thumb" />
        <span class="tid">Id</span>
        <span class="fname">Image</span>
        <span class="badge-h">State</span>
        <span class="num">Ann.</span>
        <SortHead label="Score" column="predictions_score" order={order} setOrder={setOrder} title="the prediction's score (of the project's model version)" />
        <SortHead label="Uncert." column="uncertainty" order={order} setOrder={setOrder} title="uncertainty: 1 − the current model's score (what Uncertainty sampling orders by)" />
        <span class="mv">Model version</span>
      </div>
      {cache.error && <Message kind="error">Could not load tasks: {cache.error}</Message>}
      <div class="task-scroll" ref={box} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="task-scroll">
        <div class="task-spacer" style={{ height: Math.max(0, total) * ROW_H + "px" }}>
          {rows}
        </div>
        {total === 0 && <p class="empty">No tasks{filter === "all" ? " yet: import some images." : " match this filter."}</p>}
      </div>
    </div>
  );
}

export function ProjectPage(props: { id: number }) {
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showImport, setShowImport] = useState(false);
  const [showExport, setShowExport] = useState(false);
  const [version, setVersion] = useState(0);

  const load = () => api.get<Project>(`/api/projects/${props.id}`).then(setProject, (e) => setError(e.message));
  useEffect(() => void load(), [props.id]);

  if (error) return <div class="page"><Message kind="error">{error}</Message></div>;
  if (!project) return <div class="page"><Spinner label="Loading project…" /></div>;
  const p = project;
  const done = p.task_number ? p.num_tasks_with_annotations / p.task_number : 0;
  return (
    <div class="page project-page">
      <div class="page-head">
        <h1>{p.title || `Project #${p.id}`}</h1>
        <span class="grow" />
        <button onClick={() => setShowImport(!showImport)} class={showImport ? "on" : ""}>
          Import
        </button>
        <button onClick={() => setShowExport(true)}>Export</button>
        <Link href={`/projects/${p.id}/settings`} class="button">
          Settings
        </Link>
        <Link href={`/projects/${p.id}/label`} class="button primary" title={`opens the next task: ${p.sampling || "Sequential sampling"}`}>
          Label tasks
        </Link>
      </div>
      <div class="counts">
        <span><b data-testid="count-tasks">{fmtNumber(p.task_number)}</b> {p.task_number === 1 ? "task" : "tasks"}</span>
        <span><b>{fmtNumber(p.num_tasks_with_annotations)}</b> labeled</span>
        <span><b>{fmtNumber(p.skipped_annotations_number)}</b> skipped</span>
        <span><b>{fmtNumber(p.total_predictions_number)}</b> predictions</span>
        <span class="progress-inline"><Progress value={done} label="labeled" /></span>
      </div>
      {showImport && (
        <ImportPanel
          projectId={p.id}
          onImported={() => {
            void load();
            setVersion((v) => v + 1);
          }}
        />
      )}
      <div class="project-body">
        <TaskList projectId={p.id} version={version} />
        <ModelPanel
          projectId={p.id}
          onChange={() => {
            void load();
            setVersion((v) => v + 1);
          }}
        />
      </div>
      {showExport && <ExportDialog projectId={p.id} onClose={() => setShowExport(false)} />}
    </div>
  );
}
