// The labeling page: loading the task, local drafts, submit/skip with retry and a guard against
// saving twice, previous/next through the task list (nav.ts) and "Label next" through the
// project's queue. Its parts live apart: canvas interaction (canvas-host.ts), the box list and
// side column (side.tsx), prediction triage (triage.tsx), the keyboard (keys.ts), the toolbar and
// hotkey overlay (editor-bar.tsx).

import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, ApiError, type Annotation, type Project, type Task, type TaskPage } from "../lib/api";
import { parseConfig, type BoxConfig } from "../lib/config";
import type { ModelPanelData } from "../lib/loop";
import { navigate } from "../lib/router";
import { neighborQuery, taskQuery } from "../lib/tasklist";
import { listContext, navFor, type ListContext } from "../lib/nav";
import { Link, Message, Spinner } from "../components";
import { EditorModel } from "./model";
import { useCanvasHost } from "./canvas-host";
import { EditorBar, HotkeyHelp } from "./editor-bar";
import { useEditorKeys } from "./keys";
import { EditorSide } from "./side";
import { ReviewDialog, reviewNeeded, settleReview } from "./triage";
import { buildSubmit, currentAnnotation, drafts, initialRegions, LeadTimer, makeDraft, sendWithRetry, submitAnnotation } from "./session";
import { copiedBoxes, copyBoxes, savedThreshold, saveThreshold } from "./prefs";

interface Loaded {
  project: Project;
  task: Task;
  cfg: BoxConfig;
  img: HTMLImageElement;
  /** The confidence slider's start: the user's choice for this project, else the model's. */
  threshold: number;
}

type SaveState = { kind: "idle" | "draft" | "saving" | "saved" | "error" | "retrying"; text: string };

/** Images already requested (the next task's is fetched ahead while the user labels). */
const prefetched = new Map<string, HTMLImageElement>();

async function loadImage(url: string): Promise<HTMLImageElement> {
  const img = prefetched.get(url) ?? new Image();
  prefetched.delete(url);
  img.decoding = "async";
  if (!img.src) img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`cannot load the image ${url}`);
  }
  return img;
}

function prefetch(url: string): void {
  if (!url || prefetched.has(url)) return;
  if (prefetched.size > 4) prefetched.delete(prefetched.keys().next().value as string);
  const img = new Image();
  img.src = url;
  prefetched.set(url, img);
}

function imageUrl(task: Task, cfg: BoxConfig): string {
  const v = task.data[cfg.dataKey] ?? task.data["$undefined$"] ?? Object.values(task.data).find((x) => typeof x === "string");
  return typeof v === "string" ? v : "";
}

/** The model's threshold (0.3 without a model), unless the user picked one for this project. */
async function startThreshold(pid: number): Promise<number> {
  const mine = savedThreshold(pid);
  if (mine !== null) return mine;
  try {
    const m = await api.get<ModelPanelData>(`/api/projects/${pid}/model`);
    const t = m.current?.score_threshold;
    return typeof t === "number" && Number.isFinite(t) ? t : 0.3;
  } catch {
    return 0.3;
  }
}

function listNav(ctx: ListContext, dataKey: string) {
  return navFor(ctx, async (page, size) => {
    const r = await api.get<TaskPage>(taskQuery(ctx.project, page, size, ctx.filter, ctx.order, ctx.search, dataKey) + "&include=id");
    return { ids: r.tasks.map((t) => t.id), total: r.total };
  });
}

/** The task before or after one in the task list (its filter, search and order); when the task is
 * not in that list, the neighbour by id among all tasks. */
async function neighbor(pid: number, taskId: number, dir: 1 | -1, dataKey: string): Promise<number | null> {
  const n = await listNav(listContext(pid), dataKey).neighbor(taskId, dir);
  if (n !== undefined) return n;
  try {
    const page = await api.get<TaskPage>(neighborQuery(pid, taskId, dir));
    return page.tasks[0]?.id ?? null;
  } catch (e) {
    if ((e as ApiError).status === 404) return null;
    throw e;
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
      const thr = startThreshold(project.id);
      const task = await api.get<Task>(`/api/tasks/${props.taskId}?fields=all`);
      if (stop) return;
      setPhase("Loading image…");
      const url = imageUrl(task, parsed.config);
      if (!url) throw new Error(`task ${task.id} has no image under "${parsed.config.dataKey}"`);
      const img = await loadImage(url);
      performance.mark("ll:image-loaded");
      const threshold = await thr;
      if (!stop) setLoaded({ project, task, cfg: parsed.config, img, threshold });
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
  const model = useMemo(() => new EditorModel(cfg.labels.map((l) => l.value), props.threshold), [cfg]);
  const colours = useMemo(() => new Map(cfg.labels.map((l) => [l.value, l.background])), [cfg]);
  const timer = useRef(new LeadTimer());
  const host = useRef<HTMLDivElement>(null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [save, setSave] = useState<SaveState>({ kind: "idle", text: "" });
  const [restored, setRestored] = useState<number | null>(null);
  const [help, setHelp] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  /** The annotation saved from this page: later submits update it instead of adding another. */
  const [saved, setSaved] = useState<Annotation | null>(null);
  /** Changed since the last save (an unchanged, saved task cannot be submitted again). */
  const [dirty, setDirty] = useState(false);
  /** The queue is empty after a submit: the editor says so and offers the task list. */
  const [done, setDone] = useState(false);
  /** Submit asked for while predicted boxes await review. */
  const [review, setReview] = useState<number | null>(null);
  const [pos, setPos] = useState<[number, number] | null>(null);
  const inflight = useRef(false);
  const pending = useRef<(() => void) | null>(null);
  const target = saved ?? base;
  const targetId = useRef<number | null>(base?.id ?? null);
  targetId.current = target?.id ?? null;

  // Set up: boxes from the annotation or prediction, or the local draft if one is there.
  useEffect(() => {
    const draft = drafts.load(task.id);
    if (draft && draft.annotationId === (base?.id ?? null)) {
      timer.current = new LeadTimer(draft.leadTime);
      model.reset(draft.regions, W, H);
      model.hadPredictions = model.hadPredictions || (task.predictions ?? []).length > 0;
      setRestored(draft.savedAt);
      setDirty(true);
    } else {
      if (draft) drafts.clear(task.id);
      model.reset(initialRegions(task, cfg, W, H, project.model_version), W, H);
    }
    timer.current.start();
    let frame = 0;
    const unsub = model.subscribe((committed) => {
      if (committed) {
        setDirty(true);
        const ok = drafts.save(makeDraft(task.id, targetId.current, model.regions, timer.current.seconds()));
        setSave(ok ? { kind: "draft", text: "Draft saved locally" } : { kind: "error", text: "Could not save a local draft (browser storage full?)" });
      }
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), redraw(0)));
    });
    redraw(0);
    const vis = () => (document.hidden ? timer.current.stop() : timer.current.start());
    document.addEventListener("visibilitychange", vis);
    // Fetch the next task's image ahead, while this one is being labeled.
    const ahead = setTimeout(() => {
      neighbor(project.id, task.id, 1, cfg.dataKey)
        .then(async (id) => {
          setPos(listNav(listContext(project.id), cfg.dataKey).position(task.id));
          if (id === null) return;
          const t = await api.get<Task>(`/api/tasks/${id}`);
          prefetch(imageUrl(t, cfg));
        })
        .catch(() => undefined);
    }, 300);
    return () => {
      unsub();
      clearTimeout(ahead);
      cancelAnimationFrame(frame);
      document.removeEventListener("visibilitychange", vis);
    };
  }, [task.id]);
  const canvas = useCanvasHost(host, model, colours, img, task.id);

  // A submit that failed for lack of network goes again when the browser is back online.
  useEffect(() => {
    const fn = () => pending.current?.();
    window.addEventListener("online", fn);
    return () => window.removeEventListener("online", fn);
  }, []);

  const setThreshold = (t: number) => {
    model.setThreshold(t);
    saveThreshold(project.id, t);
  };

  /** The labeling queue's next task (the project's sampling order). */
  const labelNext = async () => {
    try {
      const next = await api.get<Task>(`/api/projects/${project.id}/next`);
      if (next.id !== task.id) return navigate(`/projects/${project.id}/tasks/${next.id}`);
      setNotice("This task is the next one in the queue.");
    } catch (e) {
      if ((e as ApiError).status !== 404) return setNotice((e as Error).message);
      setDone(true);
    }
  };

  const step = async (dir: 1 | -1) => {
    try {
      const id = await neighbor(project.id, task.id, dir, cfg.dataKey);
      if (id !== null) return navigate(`/projects/${project.id}/tasks/${id}`);
      setNotice(dir > 0 ? "This is the last task of the list." : "This is the first task of the list.");
    } catch (e) {
      setNotice((e as Error).message);
    }
  };

  const send = async (skip: boolean, force = false) => {
    if (inflight.current || (skip && done)) return;
    if (!skip && saved && !dirty) return setNotice(`Already submitted as annotation #${saved.id}; change something to update it.`);
    const toReview = reviewNeeded(model, skip, force);
    if (toReview) return setReview(toReview);
    inflight.current = true;
    setBusy(true);
    setNotice(null);
    const lead = timer.current.seconds();
    const body = skip
      ? { result: [], was_cancelled: true, ground_truth: false, lead_time: Math.round(lead * 1000) / 1000, parent_prediction: null }
      : buildSubmit(model.regions, cfg, W, H, lead, model.parentPrediction(), target);
    setSave({ kind: "saving", text: skip ? "Skipping…" : "Saving…" });
    try {
      const to: number | null = skip ? null : target?.id ?? null;
      const ann: Annotation = await sendWithRetry(
        () => (skip ? api.post<Annotation>(`/api/tasks/${task.id}/annotations`, body) : submitAnnotation(task.id, to, body)),
        [500, 1500, 4000],
        (n, err) => setSave({ kind: "retrying", text: `Could not save (${err.message}); retrying (${n}/3)…` }),
      );
      pending.current = null;
      drafts.clear(task.id);
      if (!skip) setSaved(ann);
      setDirty(false);
      setSave({ kind: "saved", text: skip ? "Skipped" : `Saved annotation #${ann.id}` });
      await labelNext();
    } catch (e) {
      const err = e as ApiError;
      const why = err.status === 401 ? "your session has expired" : err.message;
      setSave({ kind: "error", text: `Not saved: ${why}. Your boxes are kept as a local draft; press Ctrl+Enter to try again.` });
      if (err.status === 0) pending.current = () => void send(skip, true);
    } finally {
      inflight.current = false;
      setBusy(false);
    }
  };

  const acceptAll = () => setNotice(`Accepted ${model.acceptAbove()} predicted boxes.`);

  const copy = () => {
    const sel = model.selected;
    const boxes = (sel && !sel.predicted ? [sel] : model.own()).map((r) => ({ label: r.label, fx: r.x / W, fy: r.y / H, fw: r.w / W, fh: r.h / H }));
    copyBoxes(boxes);
    setNotice(boxes.length ? `Copied ${boxes.length} box${boxes.length === 1 ? "" : "es"}; Ctrl+V pastes them here or on another image.` : "Nothing to copy.");
  };

  const paste = () => {
    const n = model.paste(copiedBoxes());
    setNotice(n ? `Pasted ${n} box${n === 1 ? "" : "es"}.` : "Nothing to paste: copy boxes with Ctrl+C first.");
  };

  // Keyboard: one handler for the whole page (keys.ts); typing in form fields is left alone.
  useEditorKeys(
    {
      model,
      labelKeys: new Map(cfg.labels.filter((l) => l.hotkey).map((l) => [l.hotkey.toLowerCase(), l.value])),
      help,
      drawMode: canvas.drawMode,
      send: (skip) => void send(skip),
      copy,
      paste,
      step: (dir) => void step(dir),
      acceptAll,
      toggleHelp: () => setHelp((h) => !h),
      closeHelp: () => setHelp(false),
      setDrawMode: canvas.setDrawMode,
      fit: () => canvas.view.current?.fit(),
      zoomBy: (f) => canvas.view.current?.zoomBy(f),
    },
    [task.id, help, busy, saved, dirty, done, canvas.drawMode],
  );

  const submitLabel = saved ? (dirty ? "Update" : "Submitted ✓") : base ? "Update" : "Submit";
  return (
    <div class="editor">
      <EditorBar
        project={project}
        task={task}
        size={[W, H]}
        pos={pos}
        model={model}
        canvas={canvas}
        busy={busy}
        done={done}
        submitted={!!saved && !dirty}
        submitLabel={submitLabel}
        showHelp={() => setHelp(true)}
        step={(dir) => void step(dir)}
        labelNext={() => void labelNext()}
        send={(skip) => void send(skip)}
      />
      {done && (
        <Message kind="ok">
          <span data-testid="queue-done">All tasks of the queue are labeled.</span> <Link href={`/projects/${project.id}`}>Back to the task list</Link>
        </Message>
      )}
      {restored !== null && (
        <Message kind="info" onClose={() => setRestored(null)}>
          <span data-testid="draft-restored">Restored your unsaved draft from {new Date(restored).toLocaleTimeString()}.</span>{" "}
          <button
            class="link"
            onClick={() => {
              drafts.clear(task.id);
              model.reset(initialRegions(task, cfg, W, H, project.model_version), W, H);
              setRestored(null);
              setDirty(false);
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
        <EditorSide
          model={model}
          cfg={cfg}
          colours={colours}
          instructions={project.expert_instruction ?? ""}
          adjust={canvas.adjust}
          setAdjust={canvas.setAdjust}
          setThreshold={setThreshold}
          acceptAll={acceptAll}
          save={save}
        />
      </div>
      {review !== null && (
        <ReviewDialog
          count={review}
          onClose={() => setReview(null)}
          onChoose={(accept) => {
            setReview(null);
            settleReview(model, accept);
            void send(false, true);
          }}
        />
      )}
      {help && <HotkeyHelp cfg={cfg} onClose={() => setHelp(false)} />}
    </div>
  );
}
