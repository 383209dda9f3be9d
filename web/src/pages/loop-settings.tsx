// The closed loop's project settings: the built-in detector on or off, when it trains (K and N)
// the labels that mean COCO classes for zero-shot pre-labels (loop_label_map, "label -> class"
// lines) and the labeling order of the label stream (Label Studio's `sampling`). Saved on its own with
// PATCH /api/projects/{id}; the server's validation errors are shown under their field. The
// project JSON does not carry loop_enabled / loop_min_labeled / loop_retrain_every (yet), so
// their values are read from the model endpoint (enabled, policy.min_labeled, retrain_every).

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Project } from "../lib/api";
import { parseCount, SAMPLINGS, SAMPLING_HELP, type ModelPanelData, type Sampling } from "../lib/loop";
import { Message, Spinner } from "../components";

type Field = "loop_enabled" | "loop_min_labeled" | "loop_retrain_every" | "loop_label_map" | "sampling";

export function LoopSettings(props: { project: Project; onSaved: (p: Project) => void }) {
  const p = props.project;
  const [enabled, setEnabled] = useState(p.loop_enabled ?? true);
  const [k, setK] = useState(String(p.loop_min_labeled ?? 10));
  const [n, setN] = useState(String(p.loop_retrain_every ?? 20));
  const [labelMap, setLabelMap] = useState(p.loop_label_map ?? "");
  const [sampling, setSampling] = useState<string>(p.sampling || "Sequential sampling");
  const [errors, setErrors] = useState<Partial<Record<Field, string[]>>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [loaded, setLoaded] = useState(p.loop_enabled !== undefined && p.loop_min_labeled !== undefined && p.loop_retrain_every !== undefined);
  const [note, setNote] = useState<string | null>(null);
  const box = useRef<HTMLFormElement>(null);

  useEffect(() => {
    api.get<ModelPanelData>(`/api/projects/${p.id}/model`).then(
      (m) => {
        if (!loaded) {
          setEnabled(m.enabled);
          setK(String(m.policy.min_labeled));
          setN(String(m.policy.retrain_every));
          setLoaded(true);
        }
        if (!m.eligible) setNote(m.message);
      },
      (e) => setError(`Could not read the current settings: ${(e as Error).message}`),
    );
  }, [p.id]);
  useEffect(() => {
    if (loaded && location.hash === "#loop") box.current?.scrollIntoView();
  }, [loaded]);

  const save = async (e: Event) => {
    e.preventDefault();
    const local: Partial<Record<Field, string[]>> = {};
    if (k.trim() === "") local.loop_min_labeled = ["Enter a whole number (0 or more)."];
    if (n.trim() === "") local.loop_retrain_every = ["Enter a whole number (0 or more)."];
    setErrors(local);
    setError(null);
    setSaved(false);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const body = { loop_enabled: enabled, loop_min_labeled: parseCount(k), loop_retrain_every: parseCount(n), loop_label_map: labelMap, sampling };
      const np = await api.patch<Project>(`/api/projects/${p.id}`, body);
      setSaved(true);
      props.onSaved(np);
    } catch (err) {
      const ae = err as ApiError;
      const fields: Partial<Record<Field, string[]>> = {};
      for (const f of ["loop_enabled", "loop_min_labeled", "loop_retrain_every", "loop_label_map", "sampling"] as Field[]) if (ae.validation?.[f]) fields[f] = ae.validation[f];
      setErrors(fields);
      if (!Object.keys(fields).length) setError(ae.message);
    } finally {
      setBusy(false);
    }
  };

  const fieldError = (f: Field) =>
    errors[f]?.map((m, i) => (
      <span key={i} class="field-error" data-field-error={f}>
        {m}
      </span>
    ));
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setSaved(false);
  };

  return (
    <form class="form loop-settings" id="loop" ref={box} onSubmit={save} noValidate data-testid="loop-settings">
      <fieldset>
        <legend>Built-in detector and labeling order</legend>
        {!loaded && !error && <Spinner label="Loading…" />}
        {note && <Message kind="info">The built-in detector does not apply to this project: {note}</Message>}
        <label class="check">
          <input type="checkbox" name="loop_enabled" checked={enabled} onChange={(e) => edit(setEnabled)(e.currentTarget.checked)} />
          Train the built-in detector in the background and pre-label tasks with it
        </label>
        <span class="hint">Off: nothing trains or predicts on its own; predictions you import are shown as they are.</span>
        {fieldError("loop_enabled")}
        <label>
          First training after K labeled tasks
          <input type="number" name="loop_min_labeled" value={k} onInput={(e) => edit(setK)(e.currentTarget.value)} disabled={!enabled} />
          <span class="hint field-hint">K: the detector first trains once this many tasks are labeled. About one labeled task in five (a fixed set, picked by task id) is held out: never trained on, it measures every version.</span>
          {fieldError("loop_min_labeled")}
        </label>
        <label>
          Then retrain after every N new or changed annotations
          <input type="number" name="loop_retrain_every" value={n} onInput={(e) => edit(setN)(e.currentTarget.value)} disabled={!enabled} />
          <span class="hint field-hint">N: after the first version, a new training starts once N annotations were submitted or updated since the last one. 0: only when you press Train now.</span>
          {fieldError("loop_retrain_every")}
        </label>
        <label>
          Labels that mean COCO classes (zero-shot pre-labels)
          <textarea name="loop_label_map" rows={3} placeholder="pedestrian -> person" value={labelMap} onInput={(e) => edit(setLabelMap)(e.currentTarget.value)} disabled={!enabled} />
          <span class="hint field-hint">One "label -&gt; COCO class" per line. Labels named like a COCO class (person, car, dog, ...) or a common synonym match by themselves; matching labels get pre-labels from a COCO detector before anything is labeled, until a trained version beats it on the held-out tasks.</span>
          {fieldError("loop_label_map")}
        </label>
        <div class="choices" role="radiogroup" aria-label="labeling order">
          <span>Labeling order (what "Label tasks" opens next)</span>
          {SAMPLINGS.map((s) => (
            <label class="choice" key={s}>
              <input type="radio" name="sampling" value={s} checked={sampling === s} onChange={() => edit(setSampling)(s)} />
              <span>
                <b>{s.replace(" sampling", "")}</b>: <span class="hint">{SAMPLING_HELP[s as Sampling]}</span>
              </span>
            </label>
          ))}
          {fieldError("sampling")}
        </div>
        {error && <Message kind="error">{error}</Message>}
        {saved && <Message kind="ok">Saved.</Message>}
        <div class="buttons">
          <button class="primary" type="submit" disabled={busy || !loaded} data-testid="save-loop">
            {busy ? <Spinner label="Saving…" /> : "Save model settings"}
          </button>
        </div>
      </fieldset>
    </form>
  );
}
