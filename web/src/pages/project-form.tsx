// Create a project from the "Object detection with bounding boxes" template, or edit one's title,
// description, instructions for annotators (shown in the editor) and labeling config, and see the
// model version whose predictions the editor shows; deletion lives here too, and the built-in detector's settings
// (loop-settings.tsx) below an existing project's form.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Project } from "../lib/api";
import { buildConfig, TEMPLATE_LABELS } from "../lib/config";
import { navigate } from "../lib/router";
import { Link, Message, Spinner } from "../components";
import { ConfigEditor } from "./config-editor";
import { DeleteDialog } from "./projects";
import { LoopSettings } from "./loop-settings";
import { MlBackends } from "./ml-backends";

export function ProjectFormPage(props: { id?: number }) {
  const editing = props.id !== undefined;
  const [project, setProject] = useState<Project | null>(null);
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [instructions, setInstructions] = useState("");
  const [xml, setXml] = useState(buildConfig(TEMPLATE_LABELS));
  const [valid, setValid] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [configErrors, setConfigErrors] = useState<string[]>([]);
  const [deleting, setDeleting] = useState(false);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    if (!editing) return;
    api.get<Project>(`/api/projects/${props.id}`).then(
      (p) => {
        setProject(p);
        setTitle(p.title);
        setDescription(p.description);
        setInstructions(p.expert_instruction ?? "");
        setXml(p.label_config);
      },
      (e) => setError(e.message),
    );
  }, [props.id]);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setConfigErrors([]);
    setSaved(false);
    const body = { title: title.trim(), description, label_config: xml, expert_instruction: instructions };
    try {
      if (editing) {
        setProject(await api.patch<Project>(`/api/projects/${props.id}`, body));
        setSaved(true);
      } else {
        const p = await api.post<Project>("/api/projects", body);
        navigate(`/projects/${p.id}`);
      }
    } catch (err) {
      const ae = err as ApiError;
      if (ae.validation.label_config) setConfigErrors(ae.validation.label_config);
      setError(ae.message);
    } finally {
      setBusy(false);
    }
  };

  if (editing && !project && !error) return <div class="page"><Spinner label="Loading project…" /></div>;
  const titleOk = title.trim().length === 0 || (title.trim().length >= 3 && title.trim().length <= 50);
  return (
    <div class="page narrow">
      <div class="page-head">
        <h1>{editing ? "Project settings" : "New project"}</h1>
        <span class="grow" />
        {editing && <Link href={`/projects/${props.id}`}>Back to tasks</Link>}
      </div>
      <form onSubmit={save} class="form">
        <label>
          Title
          <input name="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} maxLength={50} placeholder="Faces" required />
          {!titleOk && <span class="field-error">a title has 3 to 50 characters</span>}
        </label>
        <label>
          Description
          <textarea name="description" rows={2} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <label>
          Instructions for annotators (shown in the editor's side column while labeling)
          <textarea name="expert_instruction" rows={3} value={instructions} onInput={(e) => setInstructions(e.currentTarget.value)} placeholder="What to box, what to leave out, how tight" />
        </label>
        {editing && project && (
          <p class="hint" data-testid="model-version">
            Predictions shown in the editor: model version <b class="mono">{project.model_version || "none yet"}</b> (the current model of the built-in detector; see the Model panel)
          </p>
        )}
        <fieldset>
          <legend>Labeling setup {editing ? "" : "— template: Object detection with bounding boxes"}</legend>
          <ConfigEditor xml={xml} onChange={(x, ok) => (setXml(x), setValid(ok))} serverErrors={configErrors} />
        </fieldset>
        {error && <Message kind="error">{error}</Message>}
        {saved && <Message kind="ok">Saved.</Message>}
        <div class="buttons">
          {editing && (
            <button type="button" class="danger" onClick={() => setDeleting(true)}>
              Delete project
            </button>
          )}
          <span class="grow" />
          <button class="primary" type="submit" disabled={busy || !valid || !titleOk}>
            {busy ? <Spinner label="Saving…" /> : editing ? "Save" : "Create project"}
          </button>
        </div>
      </form>
      {editing && project && <LoopSettings project={project} onSaved={setProject} />}
      {editing && project && <MlBackends project={project.id} />}
      {deleting && project && <DeleteDialog project={project} onClose={() => setDeleting(false)} onDeleted={() => navigate("/projects")} />}
    </div>
  );
}
