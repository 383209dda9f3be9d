// Export dialog: pick a format, download it (with progress while the server prepares and sends it).

import { useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "../lib/api";
import { Message, Modal, Progress, Spinner } from "../components";

interface Format {
  name: string;
  title: string;
  description?: string;
  disabled?: boolean;
}

const FALLBACK: Format[] = [
  { name: "JSON", title: "JSON", description: "Label Studio JSON: tasks with annotations and predictions" },
  { name: "JSON_MIN", title: "JSON-MIN", description: "one flat object per annotation" },
  { name: "CSV", title: "CSV", description: "results as columns, comma separated" },
  { name: "TSV", title: "TSV", description: "results as columns, tab separated" },
  { name: "COCO", title: "COCO", description: "COCO detection JSON with the images" },
  { name: "YOLO", title: "YOLO", description: "labels/*.txt, classes.txt and the images" },
  { name: "VOC", title: "Pascal VOC XML", description: "one XML file per image" },
];

function filenameOf(res: Response, fallback: string): string {
  const cd = res.headers.get("Content-Disposition") || "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
  return m ? decodeURIComponent(m[1]) : res.headers.get("filename") || fallback;
}

export function ExportDialog(props: { projectId: number; onClose: () => void }) {
  const [formats, setFormats] = useState<Format[]>(FALLBACK);
  const [fmt, setFmt] = useState("JSON");
  const [all, setAll] = useState(false);
  const [progress, setProgress] = useState<number | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    api.get<Format[]>(`/api/projects/${props.projectId}/export/formats`).then(
      (fs) => Array.isArray(fs) && fs.length && setFormats(fs),
      () => undefined,
    );
  }, [props.projectId]);

  const download = async () => {
    setError(null);
    setDone(null);
    setProgress(null);
    try {
      const url = `/api/projects/${props.projectId}/export?exportType=${encodeURIComponent(fmt)}&download_all_tasks=${all}`;
      const res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok) {
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* text */
        }
        throw new Error(errorMessage(res.status, body, res.statusText).message);
      }
      const size = Number(res.headers.get("Content-Length")) || 0;
      const chunks: BlobPart[] = [];
      let got = 0;
      const reader = res.body!.getReader();
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        chunks.push(value);
        got += value.length;
        if (size) setProgress(got / size);
      }
      const name = filenameOf(res, `project-${props.projectId}.${fmt.toLowerCase()}`);
      const blob = new Blob(chunks, { type: res.headers.get("Content-Type") || "application/octet-stream" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      setDone(`${name} (${(got / 1024).toFixed(1)} KiB)`);
    } catch (e) {
      setError(`Export failed: ${(e as Error).message}`);
    } finally {
      setProgress(undefined);
    }
  };

  return (
    <Modal title="Export" onClose={props.onClose}>
      <div class="formats" role="radiogroup">
        {formats.map((f) => (
          <label key={f.name} class={"format" + (f.disabled ? " disabled" : "")}>
            <input type="radio" name="format" value={f.name} checked={fmt === f.name} disabled={f.disabled} onChange={() => setFmt(f.name)} />
            <b>{f.title}</b>
            {f.description && <span class="hint"> {f.description}</span>}
          </label>
        ))}
      </div>
      <label class="check">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} /> include tasks without annotations
      </label>
      {progress !== undefined && <Progress value={progress} label="preparing export" />}
      {error && <Message kind="error">{error}</Message>}
      {done && <Message kind="ok">Downloaded {done}</Message>}
      <div class="buttons">
        <button onClick={props.onClose}>Close</button>
        <button class="primary" onClick={download} disabled={progress !== undefined} data-testid="export-download">
          {progress !== undefined ? <Spinner label="Exporting…" /> : "Download"}
        </button>
      </div>
    </Modal>
  );
}
