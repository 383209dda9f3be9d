// Import panel: drag and drop (or pick) many files; each is checked, then uploaded on its own
// request with its own progress bar and error, so one bad file loses nothing else. Files go one
// after another in the order the user gave them, so task #1 is the first file; the task list
// refreshes as they land, and failures are listed first.

import { useRef, useState } from "preact/hooks";
import { uploadFile, uploadFiles } from "../lib/api";
import { checkUpload, IMAGE_EXT, IMPORT_EXT } from "../lib/upload";
import { Message, Progress, Spinner } from "../components";

interface Item {
  key: number;
  file: File;
  state: "queued" | "uploading" | "done" | "error";
  progress: number;
  message: string;
}

/** One at a time: the server numbers tasks in the order requests arrive. */
const CONCURRENCY = 1;
/** The task list is refreshed at most this often while files land (ms). */
const REFRESH_MS = 1000;
let nextKey = 1;

export function ImportPanel(props: { projectId: number; onImported: () => void; onClose?: () => void }) {
  const [mode, setMode] = useState<"files" | "dataset">("files");
  return (
    <div class="import">
      <div class="tabs" role="tablist">
        {props.onClose && (
          <button class="link close-import" onClick={props.onClose} aria-label="close the import panel" title="close">
            ×
          </button>
        )}
        <button role="tab" class={mode === "files" ? "on" : ""} onClick={() => setMode("files")}>
          Images and task files
        </button>
        <button role="tab" class={mode === "dataset" ? "on" : ""} onClick={() => setMode("dataset")}>
          Data set (COCO, YOLO, VOC)
        </button>
      </div>
      {mode === "files" ? <FileImport {...props} /> : <DatasetImport {...props} />}
    </div>
  );
}

const DATASET_HELP: Record<string, string> = {
  coco: "a COCO annotations .json and its images",
  yolo: "classes.txt, the labels/*.txt files and their images",
  voc: "the Annotations/*.xml files and their images",
  json: "a Label Studio JSON task list and its images",
};

/** A detection data set (annotation files plus images) sent in one request to import/dataset. */
function DatasetImport(props: { projectId: number; onImported: () => void }) {
  const [format, setFormat] = useState("coco");
  const [files, setFiles] = useState<File[]>([]);
  const [asPred, setAsPred] = useState(false);
  /** JSON: predictions for the tasks the project has already (by file name or task id). */
  const [existing, setExisting] = useState(false);
  const [version, setVersion] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  const send = async () => {
    setBusy(true);
    setResult(null);
    setProgress(0);
    const q = new URLSearchParams({ format });
    if (asPred) q.set("as_predictions", "true");
    if ((asPred || matching) && version.trim()) q.set("model_version", version.trim());
    if (matching) q.set("match_existing", "true");
    try {
      const r = (await uploadFiles(`/api/projects/${props.projectId}/import/dataset?${q}`, "file", files, (f) => setProgress(f >= 1 ? null : f))) as Record<string, number>;
      const n = (k: string) => r[k] ?? 0;
      setResult({
        ok: true,
        text: matching ? `Added ${n("prediction_count")} predictions to existing tasks.` : `Imported ${n("task_count")} tasks with ${asPred ? `${n("prediction_count")} predictions` : `${n("annotation_count")} annotations`}.`,
      });
      setFiles([]);
      props.onImported();
    } catch (e) {
      setResult({ ok: false, text: `Import failed: ${(e as Error).message}` });
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };

  const size = files.reduce((s, f) => s + f.size, 0);
  const matching = format === "json" && existing;
  return (
    <div class="dataset-import">
      <div class="row-form">
        <label>
          Format{" "}
          <select value={format} onChange={(e) => setFormat(e.currentTarget.value)} aria-label="data set format">
            <option value="coco">COCO</option>
            <option value="yolo">YOLO</option>
            <option value="voc">Pascal VOC</option>
            <option value="json">Label Studio JSON</option>
          </select>
        </label>
        <label class="button">
          Choose files
          <input type="file" multiple hidden onChange={(e) => e.currentTarget.files && setFiles([...files, ...Array.from(e.currentTarget.files)])} data-testid="dataset-files" />
        </label>
        <label class="button">
          Choose a folder
          <input type="file" multiple hidden {...({ webkitdirectory: "" } as Record<string, string>)} onChange={(e) => e.currentTarget.files && setFiles([...files, ...Array.from(e.currentTarget.files)])} />
        </label>
        <label class="check">
          <input type="checkbox" checked={asPred} onChange={(e) => setAsPred(e.currentTarget.checked)} /> as predictions
        </label>
        {format === "json" && (
          <label class="check" title="each task of the file is matched to a task of this project by its image's file name, else by task id">
            <input type="checkbox" checked={existing} onChange={(e) => setExisting(e.currentTarget.checked)} data-testid="match-existing" /> predictions for tasks already here
          </label>
        )}
        {(asPred || matching) && <input placeholder="model version" value={version} onInput={(e) => setVersion(e.currentTarget.value)} aria-label="model version" />}
      </div>
      <div class="hint">
        {matching
          ? "Upload a Label Studio JSON file with predictions (such as `labelloop predict` writes); they are added to the tasks with the same image file name (or task id), and no task is created."
          : `Upload ${DATASET_HELP[format]}; the boxes become ${asPred ? "predictions" : "annotations"}.`}
      </div>
      {files.length > 0 && (
        <div class="upload-summary">
          <span>
            {files.length} files, {(size / 1048576).toFixed(1)} MiB
          </span>
          <button class="link" onClick={() => setFiles([])} disabled={busy}>
            clear
          </button>
          <span class="grow" />
          <button class="primary" onClick={send} disabled={busy} data-testid="dataset-import">
            {busy ? <Spinner label={progress === null ? "Importing…" : "Uploading…"} /> : "Import data set"}
          </button>
        </div>
      )}
      {busy && <Progress value={progress} label="import" />}
      {result && <Message kind={result.ok ? "ok" : "error"}>{result.text}</Message>}
    </div>
  );
}

function FileImport(props: { projectId: number; onImported: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const queue = useRef<Item[]>([]);
  const running = useRef(0);
  const lastRefresh = useRef(0);

  const patch = (key: number, p: Partial<Item>) => setItems((xs) => xs.map((x) => (x.key === key ? { ...x, ...p } : x)));

  const pump = () => {
    while (running.current < CONCURRENCY && queue.current.length) {
      const it = queue.current.shift()!;
      running.current++;
      void send(it).finally(() => {
        running.current--;
        const now = Date.now();
        const last = running.current === 0 && queue.current.length === 0;
        if (last || now - lastRefresh.current > REFRESH_MS) {
          lastRefresh.current = now;
          props.onImported();
        }
        pump();
      });
    }
  };

  const send = async (it: Item) => {
    const head = new Uint8Array(await it.file.slice(0, 16).arrayBuffer());
    const bad = checkUpload(it.file.name, head, it.file.size);
    if (bad) return patch(it.key, { state: "error", message: bad });
    patch(it.key, { state: "uploading" });
    try {
      const res = (await uploadFile(`/api/projects/${props.projectId}/import`, "file", it.file, (f) => patch(it.key, { progress: f }))) as { task_count?: number };
      const n = res?.task_count;
      patch(it.key, { state: "done", progress: 1, message: n === undefined ? "imported" : `${n} task${n === 1 ? "" : "s"}` });
    } catch (e) {
      patch(it.key, { state: "error", message: (e as Error).message });
    }
  };

  const addFiles = (files: FileList | File[]) => {
    const fresh = Array.from(files).map((file) => ({ key: nextKey++, file, state: "queued" as const, progress: 0, message: "" }));
    if (!fresh.length) return;
    setItems((xs) => [...xs.filter((x) => x.state !== "done"), ...fresh]);
    queue.current.push(...fresh);
    pump();
  };

  const done = items.filter((i) => i.state === "done").length;
  const failed = items.filter((i) => i.state === "error").length;
  const active = items.length - done - failed;
  const total = items.reduce((s, i) => s + i.file.size, 0);
  const sent = items.reduce((s, i) => s + (i.state === "error" ? i.file.size : i.file.size * i.progress), 0);

  return (
    <div>
      <div
        class={"dropzone" + (over ? " over" : "")}
        data-testid="dropzone"
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer?.files) addFiles(e.dataTransfer.files);
        }}
        onClick={() => input.current?.click()}
      >
        <b>Drop images here</b> or click to choose files
        <div class="hint">
          Images ({IMAGE_EXT.join(", ")}) become one task each; task files ({IMPORT_EXT.join(", ")}) are imported as they are.
        </div>
        <input ref={input} type="file" multiple hidden onChange={(e) => (e.currentTarget.files && addFiles(e.currentTarget.files), (e.currentTarget.value = ""))} data-testid="file-input" />
      </div>
      {items.length > 0 && (
        <div class="upload-summary">
          <Progress value={total ? sent / total : 1} />
          <span>
            {done} done{failed ? `, ${failed} failed` : ""}
            {active ? `, ${active} in progress` : ""} of {items.length}
          </span>
          {active === 0 && (
            <button class="link" onClick={() => setItems([])}>
              clear
            </button>
          )}
        </div>
      )}
      {failed > 0 && active === 0 && <Message kind="error">{failed === 1 ? "One file was not imported" : `${failed} files were not imported`}; the others were. See below.</Message>}
      <ul class="upload-list" data-testid="upload-list">
        {[...items.filter((i) => i.state === "error"), ...items.filter((i) => i.state !== "error")].map((it) => (
          <li key={it.key} class={"upload " + it.state} data-file={it.file.name}>
            <span class="name" title={it.file.name}>
              {it.file.name}
            </span>
            {it.state === "uploading" || it.state === "queued" ? <Progress value={it.state === "queued" ? 0 : it.progress} /> : <span class="state">{it.state === "done" ? "✓ " + it.message : "✗ " + it.message}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}
