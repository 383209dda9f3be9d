// The labeling page: canvas, labels, box list, predictions with the confidence slider, hotkeys,
// local drafts, submit/skip with retry, and previous/next task.

import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, ApiError, type Annotation, type Project, type Task, type TaskPage } from "../lib/api";
import { parseConfig, type BoxConfig } from "../lib/config";
import { navigate } from "../lib/router";
import { neighborQuery } from "../lib/tasklist";
import { Link, Message, Modal, Spinner } from "../components";
import { EditorModel } from "./model";
import { CanvasView } from "./canvas";
import { buildSubmit, currentAnnotation, drafts, initialRegions, LeadTimer, makeDraft, sendWithRetry, submitAnnotation } from "./session";
import { HOTKEY_HELP, keyOf } from "./hotkeys";

interface Loaded {
  project: Project;
  task: Task;
  cfg: BoxConfig;
  img: HTMLImageElement;
  restoredAt: number | null;
}

type SaveState = { kind: "idle" | "draft" | "saving" | "saved" | "error" | "retrying"; text: string };

async function loadImage(url: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.decoding = "async";
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`cannot load the image ${url}`);
  }
  return img;
}

function imageUrl(task: Task, cfg: BoxConfig): string {
  const v = task.data[cfg.dataKey] ?? task.data["$undefined$"] ?? Object.values(task.data).find((x) => typeof x === "string");
  return typeof v === "string" ? v : "";
}

function visitedKey(pid: number): string {
  return `labelloop.visited.${pid}`;
}

function visited(pid: number): number[] {
  try {
    return JSON.parse(sessionStorage.getItem(visitedKey(pid)) || "[]") as number[];
  } catch {
    return [];
  }
}

export function EditorPage(props: { projectId: number; taskId: number | null }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [empty, setEmpty] = useState(false);
  const [phase, setPhase] = useState("Loading task…");

  useEffect(() => {
    let stop = false;
    setLoaded(null);
    setError(null);
    setEmpty(false);
    (async () => {
      const project = await api.get<Project>(`/api/projects/${props.projectId}`);
      if (props.taskId === null) {
        try {
          const next = await api.get<Task>(`/api/projects/${props.projectId}/next`);
          if (!stop) navigate(`/projects/${props.projectId}/tasks/${next.id}`, true);
        } catch (e) {
          if ((e as ApiError).status === 404) setEmpty(true);
          else throw e;
        }
        return;
      }
      const parsed = parseConfig(project.label_config);
      if (!parsed.config) throw new Error("the project's labeling config cannot be used by the box editor: " + parsed.errors.map((e) => e.message).join("; "));
      const task = await api.get<Task>(`/api/tasks/${props.taskId}?fields=all`);
      if (stop) return;
      setPhase("Loading image…");
      const url = imageUrl(task, parsed.config);
      if (!url) throw new Error(`task ${task.id} has no image under "${parsed.config.dataKey}"`);
      const img = await loadImage(url);
      performance.mark("ll:image-loaded");
      if (!stop) setLoaded({ project, task, cfg: parsed.config, img, restoredAt: null });
    })().catch((e) => !stop && setError((e as Error).message));
    return () => {
      stop = true;
    };
  }, [props.projectId, props.taskId]);

  if (empty) {
    return (
      <div class="page">
        <Message kind="ok">No more tasks to label in this project.</Message>
        <p>
          <Link href={`/projects/${props.projectId}`}>Back to the task list</Link>
        </p>
      </div>
    );
  }
  if (error) {
    return (
      <div class="page">
        <Message kind="error">{error}</Message>
        <p>
          <Link href={`/projects/${props.projectId}`}>Back to the task list</Link>
        </p>
      </div>
    );
  }
  if (!loaded) return <div class="page center"><Spinner label={phase} /></div>;
  return <Editor key={loaded.task.id} {...loaded} />;
}

function Editor(props: Loaded) {
  const { project, task, cfg, img } = props;
  const W = img.naturalWidth, H = img.naturalHeight;
  const base = useMemo(() => currentAnnotation(task), [task]);
  const model = useMemo(() => new EditorModel(cfg.labels.map((l) => l.value)), [cfg]);
  const colours = useMemo(() => new Map(cfg.labels.map((l) => [l.value, l.background])), [cfg]);
  const timer = useRef(new LeadTimer());
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<CanvasView | null>(null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [save, setSave] = useState<SaveState>({ kind: "idle", text: "" });
  const [restored, setRestored] = useState<number | null>(null);
  const [help, setHelp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const pending = useRef<(() => void) | null>(null);

  // Set up: boxes from the annotation or prediction, or the local draft if one is there.
  useEffect(() => {
    const draft = drafts.load(task.id);
    if (draft && draft.annotationId === (base?.id ?? null)) {
      timer.current = new LeadTimer(draft.leadTime);
      model.reset(draft.regions, W, H);
      setRestored(draft.savedAt);
    } else {
      if (draft) drafts.clear(task.id);
      model.reset(initialRegions(task, cfg, W, H, project.model_version), W, H);
    }
    timer.current.start();
    const cv = new CanvasView(host.current!, model, colours);
    view.current = cv;
    cv.onFirstFrame = () => {
      performance.mark("ll:editor-ready");
      try {
        performance.measure("ll:editor", "ll:image-loaded", "ll:editor-ready");
      } catch {
        /* marks cleared */
      }
    };
    cv.setImage(img);
    (window as unknown as Record<string, unknown>).labelloopEditor = { model, view: cv, taskId: task.id };
    const v = visited(project.id).filter((id) => id !== task.id);
    sessionStorage.setItem(visitedKey(project.id), JSON.stringify([...v, task.id].slice(-200)));
    let frame = 0;
    const unsub = model.subscribe((committed) => {
      if (committed) {
        const ok = drafts.save(makeDraft(task.id, base?.id ?? null, model.regions, timer.current.seconds()));
        setSave(ok ? { kind: "draft", text: "Draft saved locally" } : { kind: "error", text: "Could not save a local draft (browser storage full?)" });
      }
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), redraw(0)));
    });
    redraw(0);
    const vis = () => (document.hidden ? timer.current.stop() : timer.current.start());
    document.addEventListener("visibilitychange", vis);
    return () => {
      unsub();
      cancelAnimationFrame(frame);
      document.removeEventListener("visibilitychange", vis);
      cv.destroy();
      view.current = null;
    };
  }, [task.id]);

  // A submit that failed for lack of network goes again when the browser is back online.
  useEffect(() => {
    const fn = () => pending.current?.();
    window.addEventListener("online", fn);
    return () => window.removeEventListener("online", fn);
  }, []);

  const goNext = async () => {
    try {
      const next = await api.get<Task>(`/api/projects/${project.id}/next`);
      if (next.id !== task.id) return navigate(`/projects/${project.id}/tasks/${next.id}`);
    } catch (e) {
      if ((e as ApiError).status !== 404) return setNotice((e as Error).message);
    }
    await goNeighbor(1, true);
  };

  const goNeighbor = async (dir: 1 | -1, fromNext = false) => {
    try {
      const page = await api.get<TaskPage>(neighborQuery(project.id, task.id, dir));
      if (page.tasks.length) return navigate(`/projects/${project.id}/tasks/${page.tasks[0].id}`);
    } catch (e) {
      if ((e as ApiError).status !== 404) return setNotice((e as Error).message);
    }
    setNotice(dir > 0 ? (fromNext ? "No more tasks to label." : "This is the last task.") : "This is the first task.");
  };

  const goPrev = () => {
    const v = visited(project.id);
    const i = v.lastIndexOf(task.id);
    const prev = i > 0 ? v[i - 1] : null;
    if (prev !== null) {
      sessionStorage.setItem(visitedKey(project.id), JSON.stringify(v.slice(0, i)));
      navigate(`/projects/${project.id}/tasks/${prev}`);
    } else void goNeighbor(-1);
  };

  const send = async (skip: boolean) => {
    if (busy) return;
    setBusy(true);
    setNotice(null);
    const lead = timer.current.seconds();
    const body = skip
      ? { result: [], was_cancelled: true, ground_truth: false, lead_time: Math.round(lead * 1000) / 1000, parent_prediction: null }
      : buildSubmit(model.regions, cfg, W, H, lead, model.parentPrediction(), base);
    setSave({ kind: "saving", text: skip ? "Skipping…" : "Saving…" });
    try {
      const target: number | null = skip ? null : base?.id ?? null;
      const ann: Annotation = await sendWithRetry(
        () => (skip ? api.post<Annotation>(`/api/tasks/${task.id}/annotations`, body) : submitAnnotation(task.id, target, body)),
        [500, 1500, 4000],
        (n, err) => setSave({ kind: "retrying", text: `Could not save (${err.message}); retrying (${n}/3)…` }),
      );
      pending.current = null;
      drafts.clear(task.id);
      setSave({ kind: "saved", text: skip ? "Skipped" : `Saved annotation #${ann.id}` });
      await goNext();
    } catch (e) {
      const err = e as ApiError;
      const why = err.status === 401 ? "your session has expired" : err.message;
      setSave({ kind: "error", text: `Not saved: ${why}. Your boxes are kept as a local draft; press Ctrl+Enter to try again.` });
      if (err.status === 0) pending.current = () => void send(skip);
    } finally {
      setBusy(false);
    }
  };

  // Keyboard: one handler for the whole page; typing in form fields is left alone.
  useEffect(() => {
    const labelKeys = new Map(cfg.labels.filter((l) => l.hotkey).map((l) => [l.hotkey.toLowerCase(), l.value]));
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable) && t.getAttribute("type") !== "range") return;
      if (document.querySelector(".modal-back") && e.key !== "?") return;
      const k = keyOf(e);
      const sel = model.selectedId;
      const step = e.shiftKey ? 10 : 1;
      const actions: Record<string, () => void> = {
        "ctrl+z": () => model.undo(),
        "ctrl+shift+z": () => model.redo(),
        "ctrl+y": () => model.redo(),
        "ctrl+enter": () => void send(false),
        "ctrl+space": () => void send(true),
        delete: () => sel && model.remove(sel),
        backspace: () => sel && model.remove(sel),
        escape: () => (help ? setHelp(false) : model.select(null)),
        tab: () => model.cycle(1),
        "shift+tab": () => model.cycle(-1),
        enter: () => sel && model.accept(sel),
        "shift+enter": () => setNotice(`Accepted ${model.acceptAbove()} predicted boxes.`),
        "[": () => goPrev(),
        "]": () => void goNext(),
        "0": () => view.current?.fit(),
        "+": () => view.current?.zoomBy(1.25),
        "=": () => view.current?.zoomBy(1.25),
        "-": () => view.current?.zoomBy(0.8),
        "?": () => setHelp((h) => !h),
        "shift+?": () => setHelp((h) => !h),
        arrowleft: () => sel && model.nudge(sel, -1, 0),
        arrowright: () => sel && model.nudge(sel, 1, 0),
        arrowup: () => sel && model.nudge(sel, 0, -1),
        arrowdown: () => sel && model.nudge(sel, 0, 1),
        "shift+arrowleft": () => sel && model.nudge(sel, -step, 0),
        "shift+arrowright": () => sel && model.nudge(sel, step, 0),
        "shift+arrowup": () => sel && model.nudge(sel, 0, -step),
        "shift+arrowdown": () => sel && model.nudge(sel, 0, step),
      };
      const label = !e.ctrlKey && !e.metaKey && !e.altKey ? labelKeys.get(e.key.toLowerCase()) : undefined;
      const fn = label !== undefined ? () => model.chooseLabel(label) : actions[k];
      if (!fn) return;
      e.preventDefault();
      fn();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [task.id, help, busy]);

  const own = model.own();
  const preds = model.regions.filter((r) => r.predicted);
  const visiblePreds = preds.filter((r) => model.isVisible(r));
  const sel = model.selected;
  return (
    <div class="editor">
      <div class="editor-bar">
        <Link href={`/projects/${project.id}`}>← {project.title || `Project #${project.id}`}</Link>
        <span class="muted">
          Task #{task.id} · {W}×{H}
        </span>
        <span class="grow" />
        <button onClick={() => model.undo()} disabled={!model.canUndo} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button onClick={() => model.redo()} disabled={!model.canRedo} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button onClick={() => view.current?.zoomBy(0.8)} title="Zoom out (-)">
          −
        </button>
        <button onClick={() => view.current?.fit()} title="Fit (0)">
          Fit
        </button>
        <button onClick={() => view.current?.zoomBy(1.25)} title="Zoom in (+)">
          +
        </button>
        <button onClick={() => setHelp(true)} title="Hotkeys (?)">
          ?
        </button>
        <button onClick={goPrev} title="Previous task ([)">
          ‹ Prev
        </button>
        <button onClick={() => void goNext()} title="Next task (])">
          Next ›
        </button>
        <button onClick={() => void send(true)} disabled={busy} title="Skip (Ctrl+Space)">
          Skip
        </button>
        <button class="primary" onClick={() => void send(false)} disabled={busy} title="Submit (Ctrl+Enter)" data-testid="submit">
          {busy ? <Spinner label="Saving…" /> : base ? "Update" : "Submit"}
        </button>
      </div>
      {restored !== null && (
        <Message
          kind="info"
          onClose={() => setRestored(null)}
        >
          <span data-testid="draft-restored">Restored your unsaved draft from {new Date(restored).toLocaleTimeString()}.</span>{" "}
          <button
            class="link"
            onClick={() => {
              drafts.clear(task.id);
              model.reset(initialRegions(task, cfg, W, H, project.model_version), W, H);
              setRestored(null);
            }}
          >
            Discard draft
          </button>
        </Message>
      )}
      {notice && <Message kind="info" onClose={() => setNotice(null)}>{notice}</Message>}
      {(save.kind === "error" || save.kind === "retrying") && <Message kind={save.kind === "error" ? "error" : "warn"}>{save.text}</Message>}
      <div class="editor-body">
        <div class="canvas-host" ref={host} data-testid="canvas-host" />
        <aside class="editor-side">
          <section>
            <h3>Labels</h3>
            <ul class="labels">
              {cfg.labels.map((l) => (
                <li key={l.value}>
                  <button class={"label-btn" + (model.activeLabel === l.value ? " on" : "")} onClick={() => model.chooseLabel(l.value)} data-label={l.value}>
                    <span class="swatch" style={{ background: l.background }} />
                    {l.value}
                    {l.hotkey && <kbd>{l.hotkey}</kbd>}
                  </button>
                </li>
              ))}
            </ul>
          </section>
          {preds.length > 0 && (
            <section class="preds">
              <h3>Predictions</h3>
              <label class="slider">
                Confidence ≥ <b>{model.threshold.toFixed(2)}</b>
                <input type="range" min={0} max={1} step={0.01} value={model.threshold} onInput={(e) => model.setThreshold(Number(e.currentTarget.value))} aria-label="confidence threshold" />
              </label>
              <div class="row">
                <span class="muted">
                  {visiblePreds.length} of {preds.length} shown
                </span>
                <button onClick={() => setNotice(`Accepted ${model.acceptAbove()} predicted boxes.`)} disabled={!visiblePreds.length} title="Shift+Enter" data-testid="accept-all">
                  Accept all shown
                </button>
              </div>
            </section>
          )}
          <section class="regions">
            <h3>
              Boxes <span class="muted">({own.length})</span>
            </h3>
            <ul class="region-list" data-testid="region-list">
              {[...own, ...visiblePreds].slice(0, 1000).map((r) => (
                <li key={r.id} class={(r.id === model.selectedId ? "on " : "") + (r.predicted ? "pred" : "")} onClick={() => model.select(r.id)} data-region-id={r.id}>
                  <span class="swatch" style={{ background: colours.get(r.label) ?? "#f0f" }} />
                  <span class="rl">{r.label}</span>
                  {r.score !== null && <span class="score">{r.score.toFixed(2)}</span>}
                  {r.origin !== "manual" && !r.predicted && <span class="tag">{r.origin === "prediction" ? "accepted" : "edited"}</span>}
                  {r.predicted && (
                    <span class="pred-actions">
                      <button class="link" onClick={(e) => (e.stopPropagation(), model.accept(r.id))} title="Accept (Enter)">
                        accept
                      </button>
                      <button class="link danger" onClick={(e) => (e.stopPropagation(), model.remove(r.id))} title="Reject (Delete)">
                        reject
                      </button>
                    </span>
                  )}
                </li>
              ))}
            </ul>
          </section>
          {sel && (
            <section class="selected">
              <h3>Selected box</h3>
              <select value={sel.label} onChange={(e) => model.setLabel(sel.id, e.currentTarget.value)} aria-label="box label">
                {cfg.labels.map((l) => (
                  <option key={l.value} value={l.value}>
                    {l.value}
                  </option>
                ))}
              </select>
              <div class="mono small">
                x {Math.round(sel.x)} y {Math.round(sel.y)} w {Math.round(sel.w)} h {Math.round(sel.h)}
              </div>
              <div class="row">
                {sel.predicted && <button onClick={() => model.accept(sel.id)}>Accept</button>}
                <button class="danger" onClick={() => model.remove(sel.id)}>
                  {sel.predicted ? "Reject" : "Delete"}
                </button>
              </div>
            </section>
          )}
          <div class={"save-state " + save.kind} data-testid="save-state">
            {save.kind === "saving" && <Spinner />} {save.text}
          </div>
        </aside>
      </div>
      {help && (
        <Modal title="Hotkeys" onClose={() => setHelp(false)} wide>
          <table class="hotkeys">
            <tbody>
              {cfg.labels.map((l) => (
                <tr key={l.value}>
                  <td><kbd>{l.hotkey || "–"}</kbd></td>
                  <td>label “{l.value}” (also relabels the selected box)</td>
                </tr>
              ))}
              {HOTKEY_HELP.map(([k, what]) => (
                <tr key={k}>
                  <td><kbd>{k}</kbd></td>
                  <td>{what}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Modal>
      )}
    </div>
  );
}
