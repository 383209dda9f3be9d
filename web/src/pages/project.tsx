// A project's home: counts, the task list (virtual scrolling over pages fetched on demand, so it
// stays fast at 100,000 tasks) with thumbnails, state, prediction score, uncertainty and model
// version, sort and filter; import and export; the Model panel (model.tsx) in the side column.

import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, type Project, type Task, type TaskPage } from "../lib/api";
import { parseConfig } from "../lib/config";
import { drafts } from "../editor/session";
import { resetNav, saveListContext } from "../lib/nav";
import { FILTER_NAMES, ORDER_NAMES, PageCache, sortOf, taskQuery, toggleOrder, type FilterId, type OrderId } from "../lib/tasklist";
import { navigate } from "../lib/router";
import { fmtNumber, Link, Message, Modal, Progress, Spinner } from "../components";
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

/** Optional columns of the task list (the column chooser); the id, image and state always show. */
const COLUMNS = { ann: "Annotations", score: "Score", uncertainty: "Uncertainty", mv: "Model version" } as const;
type ColumnId = keyof typeof COLUMNS;
const COLUMNS_KEY = "labelloop.columns";

function loadColumns(): Set<ColumnId> {
  try {
    const v = JSON.parse(localStorage.getItem(COLUMNS_KEY) || "null") as ColumnId[] | null;
    if (Array.isArray(v)) return new Set(v.filter((c) => c in COLUMNS));
  } catch {
    /* unreadable: all columns */
  }
  return new Set(Object.keys(COLUMNS) as ColumnId[]);
}

interface RowProps {
  t: Task | undefined;
  index: number;
  projectId: number;
  cols: Set<ColumnId>;
  checked: boolean;
  onCheck: (id: number, on: boolean) => void;
}

function TaskRow(props: RowProps) {
  const t = props.t;
  const cols = props.cols;
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
      <span class="pick" onClick={(e) => (e.preventDefault(), e.stopPropagation())}>
        <input type="checkbox" checked={props.checked} aria-label={`select task ${t.id}`} onClick={(e) => (e.stopPropagation(), props.onCheck(t.id, e.currentTarget.checked))} />
      </span>
      <span class="thumb">
        <img src={`/api/tasks/${t.id}/thumbnail`} loading="lazy" alt="" onError={(e) => (e.currentTarget.style.visibility = "hidden")} />
      </span>
      <span class="tid">#{t.id}</span>
      <span class="fname" title={taskImage(t)}>
        {basename(taskImage(t))}
      </span>
      <span class={"badge " + cls}>
        {label}
        {drafts.has(t.id) && (
          <span class="draft-dot" title="a draft of unsaved changes is kept in this browser" data-testid="draft-badge">
            {" "}
            ✎
          </span>
        )}
      </span>
      {cols.has("ann") && <span class="num">{t.total_annotations}</span>}
      {cols.has("score") && <span class="num score">{score === null || score === undefined ? "–" : score.toFixed(2)}</span>}
      {cols.has("uncertainty") && <span class="num uncertainty">{unc === null || unc === undefined ? "–" : unc.toFixed(2)}</span>}
      {cols.has("mv") && (
        <span class="mono mv" title={versions}>
          {versions || "–"}
        </span>
      )}
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

function TaskList(props: { projectId: number; version: number; dataKey: string; onDeleted: () => void }) {
  const [filter, setFilter] = useState<FilterId>("all");
  const [order, setOrder] = useState<OrderId>("id");
  const [search, setSearch] = useState("");
  const [typed, setTyped] = useState("");
  const [cols, setCols] = useState(loadColumns);
  const [showCols, setShowCols] = useState(false);
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [listError, setListError] = useState<string | null>(null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef<HTMLDivElement>(null);
  const cache = useMemo(
    () => new PageCache((page, signal) => api.get<TaskPage>(taskQuery(props.projectId, page, PAGE_SIZE, filter, order, search, props.dataKey), { signal }), PAGE_SIZE, () => redraw(0)),
    [props.projectId, filter, order, search, props.version],
  );
  // The editor's previous/next follow this list: a fresh snapshot of it each time it is shown.
  useEffect(() => resetNav(), [props.projectId, filter, order, search, props.version]);
  useEffect(() => {
    const id = setTimeout(() => setSearch(typed), 250);
    return () => clearTimeout(id);
  }, [typed]);
  useEffect(() => setPicked(new Set()), [props.projectId, filter, search, props.version]);
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
  const onCheck = (id: number, on: boolean) => {
    const next = new Set(picked);
    if (on) next.add(id);
    else next.delete(id);
    setPicked(next);
  };
  for (let i = first; i <= end; i++) {
    const t = cache.row(i);
    rows.push(<TaskRow key={i} index={i} t={t} projectId={props.projectId} cols={cols} checked={!!t && picked.has(t.id)} onCheck={onCheck} />);
  }
  saveListContext({ project: props.projectId, filter, order, search });
  const loadedIds = () => {
    const ids: number[] = [];
    for (let i = 0; i < Math.max(0, total); i++) {
      const t = cache.row(i);
      if (t) ids.push(t.id);
    }
    return ids;
  };
  const toggleCol = (c: ColumnId) => {
    const next = new Set(cols);
    if (next.has(c)) next.delete(c);
    else next.add(c);
    setCols(next);
    localStorage.setItem(COLUMNS_KEY, JSON.stringify([...next]));
  };
  const deletePicked = async () => {
    setConfirmDelete(false);
    try {
      await api.post(`/api/dm/actions?id=delete_tasks&project=${props.projectId}`, { selectedItems: { all: false, included: [...picked] } });
      for (const id of picked) drafts.clear(id);
      setPicked(new Set());
      props.onDeleted();
    } catch (e) {
      setListError((e as Error).message);
    }
  };
  const gridCols = ["20px", "64px", "70px", "1fr", "90px", cols.has("ann") ? "44px" : "", cols.has("score") ? "64px" : "", cols.has("uncertainty") ? "64px" : "", cols.has("mv") ? "130px" : ""].filter(Boolean).join(" ");

  return (
    <div class="task-list" style={{ ["--grid" as string]: gridCols }}>
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
        <input type="search" placeholder="Search file names" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} aria-label="search file names" />
        {picked.size > 0 && (
          <span class="bulk" data-testid="bulk">
            {picked.size} selected{" "}
            <button class="danger" onClick={() => setConfirmDelete(true)} data-testid="bulk-delete">
              Delete
            </button>{" "}
            <button class="link" onClick={() => setPicked(new Set())}>
              clear
            </button>
          </span>
        )}
        <span class="grow" />
        {cache.pending > 0 && <Spinner />}
        <span class="muted" data-testid="task-total">
          {total < 0 ? "" : `${fmtNumber(total)} task${total === 1 ? "" : "s"}`}
        </span>
        <span class="col-chooser">
          <button onClick={() => setShowCols(!showCols)} aria-expanded={showCols} title="choose the columns" data-testid="columns">
            Columns
          </button>
          {showCols && (
            <div class="col-menu">
              {(Object.keys(COLUMNS) as ColumnId[]).map((c) => (
                <label key={c} class="check">
                  <input type="checkbox" checked={cols.has(c)} onChange={() => toggleCol(c)} /> {COLUMNS[c]}
                </label>
              ))}
            </div>
          )}
        </span>
      </div>
      <div class="task-head">
        <span class="pick">
          <input
            type="checkbox"
            aria-label="select all loaded tasks"
            checked={picked.size > 0 && picked.size === loadedIds().length}
            onClick={(e) => setPicked(e.currentTarget.checked ? new Set(loadedIds()) : new Set())}
          />
        </span>
        <span class="thumb" />
        <span class="tid">Id</span>
        <span class="fname">Image</span>
        <span class="badge-h">State</span>
        {cols.has("ann") && <span class="num">Ann.</span>}
        {cols.has("score") && <SortHead label="Score" column="predictions_score" order={order} setOrder={setOrder} title="the prediction's score (of the project's model version)" />}
        {cols.has("uncertainty") && <SortHead label="Uncert." column="uncertainty" order={order} setOrder={setOrder} title="uncertainty: 1 − the current model's score (what Uncertainty sampling orders by)" />}
        {cols.has("mv") && <span class="mv">Model version</span>}
      </div>
      {cache.error && <Message kind="error">Could not load tasks: {cache.error}</Message>}
      {listError && <Message kind="error" onClose={() => setListError(null)}>{listError}</Message>}
      {confirmDelete && (
        <Modal title="Delete tasks" onClose={() => setConfirmDelete(false)}>
          <p>
            Delete {picked.size} task{picked.size === 1 ? "" : "s"} with their annotations and predictions? This cannot be undone.
          </p>
          <div class="row">
            <button class="danger" onClick={() => void deletePicked()} data-testid="confirm-delete">
              Delete {picked.size}
            </button>
            <button onClick={() => setConfirmDelete(false)}>Cancel</button>
          </div>
        </Modal>
      )}
      <div class="task-scroll" ref={box} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="task-scroll">
        <div class="task-spacer" style={{ height: Math.max(0, total) * ROW_H + "px" }}>
          {rows}
        </div>
        {total === 0 && <p class="empty">No tasks{filter === "all" && !search ? " yet: import some images." : " match this filter."}</p>}
      </div>
    </div>
  );
}

export function ProjectPage(props: { id: number }) {
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** null: open while the project has no tasks (an empty project shows its drop zone). */
  const [showImport, setShowImport] = useState<boolean | null>(null);
  const [showExport, setShowExport] = useState(false);
  const [version, setVersion] = useState(0);

  const load = () => api.get<Project>(`/api/projects/${props.id}`).then(setProject, (e) => setError(e.message));
  useEffect(() => void load(), [props.id]);
  // An empty project opens with its drop zone, which stays while its files land.
  useEffect(() => {
    if (project && showImport === null) setShowImport(project.task_number === 0);
  }, [project]);

  if (error) return <div class="page"><Message kind="error">{error}</Message></div>;
  if (!project) return <div class="page"><Spinner label="Loading project…" /></div>;
  const p = project;
  const done = p.task_number ? p.num_tasks_with_annotations / p.task_number : 0;
  const importOpen = showImport ?? p.task_number === 0;
  const refresh = () => {
    void load();
    setVersion((v) => v + 1);
  };
  return (
    <div class="page project-page">
      <div class="page-head">
        <h1>{p.title || `Project #${p.id}`}</h1>
        <span class="grow" />
        <button onClick={() => setShowImport(true)} class={importOpen ? "on" : ""}>
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
      {importOpen && <ImportPanel projectId={p.id} onImported={refresh} onClose={() => setShowImport(false)} />}
      <div class="project-body">
        <TaskList projectId={p.id} version={version} dataKey={parseConfig(p.label_config).config?.dataKey ?? "image"} onDeleted={refresh} />
        <ModelPanel projectId={p.id} onChange={refresh} />
      </div>
      {showExport && <ExportDialog projectId={p.id} onClose={() => setShowExport(false)} />}
    </div>
  );
}
