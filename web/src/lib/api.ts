// The REST client: Label Studio's API with session-cookie auth. Errors come back as ApiError with
// Label Studio's error shape ({status_code, detail, validation_errors}) turned into one readable
// message; a 401 also tells the app that the session is gone so it can ask the user to log in again.
// The server takes writes authenticated by the cookie only with the browser's own Origin header and
// a JSON or multipart body (CSRF, docs/security.md): every body here is JSON or FormData.

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public validation: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

type AuthListener = () => void;
const authListeners = new Set<AuthListener>();

/** Called whenever any request gets a 401 (expired or missing session). */
export function onUnauthorized(fn: AuthListener): () => void {
  authListeners.add(fn);
  return () => authListeners.delete(fn);
}

/** One readable message from an error body in Label Studio's shape (or plain text). */
export function errorMessage(status: number, body: unknown, statusText = ""): { message: string; validation: Record<string, string[]> } {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const validation: Record<string, string[]> = {};
    const parts: string[] = [];
    if (b.validation_errors && typeof b.validation_errors === "object") {
      for (const [k, v] of Object.entries(b.validation_errors as Record<string, unknown>)) {
        const msgs = (Array.isArray(v) ? v : [v]).map((m) => (typeof m === "string" ? m : JSON.stringify(m)));
        validation[k] = msgs;
        parts.push(...msgs);
      }
    }
    const detail = typeof b.detail === "string" ? b.detail : "";
    if (parts.length) return { message: parts.join("; "), validation };
    if (detail) return { message: detail, validation };
  }
  if (typeof body === "string" && body.trim() && body.length < 300) return { message: body.trim(), validation: {} };
  return { message: `request failed: ${status} ${statusText}`.trim(), validation: {} };
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Skip the global 401 handling (the login form handles its own 401). */
  quiet401?: boolean;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (opts.body instanceof FormData) body = opts.body;
  else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: "same-origin", signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "cannot reach the server (network error)");
  }
  const data = await readBody(res);
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet401) authListeners.forEach((fn) => fn());
    const { message, validation } = errorMessage(res.status, data, res.statusText);
    throw new ApiError(res.status, message, validation);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>("GET", path, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("POST", path, { ...opts, body }),
  patch: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("PATCH", path, { ...opts, body }),
  del: <T>(path: string, opts?: RequestOptions) => request<T>("DELETE", path, opts),
};

/** Uploads files in one multipart request with progress (fetch cannot report upload progress). */
export function uploadFiles(path: string, field: string, files: File[], onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, "cannot reach the server (network error)"));
    xhr.onabort = () => reject(new ApiError(0, "upload cancelled"));
    xhr.onload = () => {
      let data: unknown = xhr.responseText;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        /* plain text body */
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(data);
      if (xhr.status === 401) authListeners.forEach((fn) => fn());
      const { message, validation } = errorMessage(xhr.status, data, xhr.statusText);
      reject(new ApiError(xhr.status, message, validation));
    };
    signal?.addEventListener("abort", () => xhr.abort());
    const fd = new FormData();
    for (const f of files) fd.append(field, f, f.name);
    xhr.send(fd);
  });
}

/** One file (the per-file uploads of the import panel). */
export function uploadFile(path: string, field: string, file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<unknown> {
  return uploadFiles(path, field, [file], onProgress, signal);
}

// ---- resource types (the fields the UI uses) --------------------------------------------------

export interface Project {
  id: number;
  title: string;
  description: string;
  label_config: string;
  task_number: number;
  num_tasks_with_annotations: number;
  skipped_annotations_number: number;
  total_annotations_number: number;
  total_predictions_number: number;
  model_version: string;
  created_at: string;
  color?: string;
  /** Shown to annotators in the editor's side column (Label Studio's instructions). */
  expert_instruction?: string;
  /** The labeling order of /next: "Sequential sampling" | "Uniform sampling" | "Uncertainty sampling". */
  sampling?: string;
  /** The built-in detector trains and predicts in the background. */
  loop_enabled?: boolean;
  /** K: the first training once this many tasks are labeled. */
  loop_min_labeled?: number;
  /** N: retrain after this many new or changed annotations (0: on demand only). */
  loop_retrain_every?: number;
  loop_label_map?: string;
}

export interface Annotation {
  id: number;
  result: unknown[];
  was_cancelled: boolean;
  ground_truth: boolean;
  lead_time: number | null;
  parent_prediction: number | null;
  completed_by: number | object;
  updated_at: string;
}

export interface Prediction {
  id: number;
  result: unknown[];
  score: number | null;
  model_version: string;
  created_at?: string;
}

export interface Task {
  id: number;
  project: number;
  data: Record<string, unknown>;
  meta?: Record<string, unknown>;
  is_labeled: boolean;
  inner_id?: number;
  total_annotations: number;
  cancelled_annotations: number;
  total_predictions: number;
  annotations?: Annotation[];
  predictions?: Prediction[];
  predictions_score?: number | null;
  /** 1 - the current model's score; null without its prediction. */
  uncertainty?: number | null;
  predictions_model_versions?: string | string[];
  updated_at?: string;
  completed_at?: string | null;
}

export interface TaskPage {
  tasks: Task[];
  total: number;
  total_annotations: number;
  total_predictions: number;
}

export interface User {
  id: number;
  email: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_superuser?: boolean;
}

export interface ProjectList {
  count: number;
  results: Project[];
}
