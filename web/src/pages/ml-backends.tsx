// The project settings' "Model" section for external Label Studio ML backends: add one by its URL
// (the server calls its /health and /setup before saving, and its words come back when that fails),
// see each backend's state, model version and last error (and whether calls to it are paused by the
// circuit breaker), test it again, start its training, remove it. Everything here goes through
// /api/ml as Label Studio's own settings page does; nothing here waits on the backend itself except
// adding one, because the server refreshes the state in the background.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { Message, Spinner } from "../components";

export interface MlBackend {
  id: number;
  url: string;
  title: string;
  state: string;
  readable_state: string;
  error_message: string;
  model_version: string;
  project: number;
  circuit?: { open: boolean; failures: number; retry_in_s: number };
}

/** External backends only: the built-in detector's row points at the project's own model page. */
export function externalBackends(list: MlBackend[], project: number): MlBackend[] {
  return list.filter((b) => b.project === project && !b.url.includes(`/api/projects/${project}/model`));
}

const STATE_CLASS: Record<string, string> = { CO: "ok", TR: "ok", PR: "ok", ER: "error", DI: "error" };

export function MlBackends(props: { project: number }) {
  const [list, setList] = useState<MlBackend[] | null>(null);
  const [url, setUrl] = useState("");
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = async () => {
    try {
      setList(externalBackends(await api.get<MlBackend[]>(`/api/ml?project=${props.project}`), props.project));
    } catch (e) {
      setError(`Could not list the ML backends: ${(e as Error).message}`);
    }
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 3000); // states change in the background
    return () => clearInterval(timer);
  }, [props.project]);

  const add = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setNote(null);
    setBusy("add");
    try {
      const b = await api.post<MlBackend>("/api/ml", { url: url.trim(), project: props.project, title: title.trim() || "default" });
      setNote(`Connected to ${b.url} (model version ${b.model_version || "none"}).`);
      setUrl("");
      setTitle("");
      await load();
    } catch (err) {
      const ae = err as ApiError;
      setError(ae.validation?.url?.join(" ") || ae.message);
    } finally {
      setBusy(null);
    }
  };

  const act = async (b: MlBackend, what: "test" | "train" | "remove") => {
    setError(null);
    setNote(null);
    if (what === "remove" && !confirm(`Remove the ML backend at ${b.url}? Its predictions stay.`)) return;
    setBusy(`${what}-${b.id}`);
    try {
      if (what === "test") {
        await api.get(`/api/ml/${b.id}`); // asks the server to call /health and /setup again
        await new Promise((r) => setTimeout(r, 1500));
      } else if (what === "train") {
        await api.post(`/api/ml/${b.id}/train`, {});
        setNote(`Training asked of ${b.url}.`);
      } else {
        await api.del(`/api/ml/${b.id}`);
      }
      await load();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="form ml-backends" id="ml-backends" data-testid="ml-backends">
      <fieldset>
        <legend>Model: external ML backends</legend>
        <span class="hint">
          Any Label Studio ML backend (label-studio-ml, or <code>labelloop ml-backend</code>) can pre-label this project beside or instead of the built-in detector. Its predictions are
          stored with its model version and order the queue like the built-in model's; annotations reach it as webhooks.
        </span>
        {list === null && !error && <Spinner label="Loading…" />}
        {list && list.length === 0 && <p class="hint">No external backend yet.</p>}
        {list && list.length > 0 && (
          <table class="ml-list">
            <thead>
              <tr>
                <th>Backend</th>
                <th>State</th>
                <th>Model version</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((b) => (
                <tr key={b.id} data-backend={b.id}>
                  <td>
                    <b>{b.title}</b>
                    <div class="hint">{b.url}</div>
                  </td>
                  <td>
                    <span class={`state ${STATE_CLASS[b.state] || ""}`} data-state={b.state}>
                      {b.readable_state}
                    </span>
                    {b.error_message && (
                      <div class="field-error" data-backend-error>
                        {b.error_message}
                      </div>
                    )}
                    {b.circuit?.open && <div class="hint">paused for {Math.ceil(b.circuit.retry_in_s)} s after {b.circuit.failures} failed calls</div>}
                  </td>
                  <td>{b.model_version || "—"}</td>
                  <td class="buttons">
                    <button type="button" onClick={() => act(b, "test")} disabled={!!busy}>
                      {busy === `test-${b.id}` ? <Spinner label="Testing…" /> : "Test"}
                    </button>
                    <button type="button" onClick={() => act(b, "train")} disabled={!!busy}>
                      Train
                    </button>
                    <button type="button" class="danger" onClick={() => act(b, "remove")} disabled={!!busy}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <form class="ml-add" onSubmit={add} noValidate>
          <label>
            URL
            <input name="ml_url" type="url" value={url} placeholder="http://localhost:9090" onInput={(e) => setUrl(e.currentTarget.value)} required />
          </label>
          <label>
            Title
            <input name="ml_title" value={title} placeholder="default" onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <div class="buttons">
            <button class="primary" type="submit" disabled={!!busy || !url.trim()} data-testid="add-backend">
              {busy === "add" ? <Spinner label="Connecting…" /> : "Add and test"}
            </button>
          </div>
        </form>
        {error && <Message kind="error">{error}</Message>}
        {note && <Message kind="ok">{note}</Message>}
      </fieldset>
    </section>
  );
}
