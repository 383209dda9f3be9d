// Projects list with counts (tasks, labeled, skipped, predictions, model version) and deletion
// behind a confirmation dialog.

import { useEffect, useState } from "preact/hooks";
import { api, type Project, type ProjectList } from "../lib/api";
import { fmtNumber, Link, Message, Modal, plural, Spinner } from "../components";

export function ProjectsPage() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [toDelete, setToDelete] = useState<Project | null>(null);

  const load = () =>
    api.get<ProjectList>("/api/projects?page_size=1000").then(
      (r) => setProjects(r.results),
      (e) => setError(e.message),
    );
  useEffect(() => void load(), []);

  return (
    <div class="page">
      <div class="page-head">
        <h1>Projects</h1>
        <span class="grow" />
        <Link href="/projects/new" class="button primary">
          New project
        </Link>
      </div>
      {error && <Message kind="error">{error}</Message>}
      {projects === null && !error && <Spinner label="Loading projects…" />}
      {projects && projects.length === 0 && <p class="empty">No projects yet. Create one to start labeling.</p>}
      {projects && projects.length > 0 && (
        <table class="grid projects">
          <thead>
            <tr>
              <th>Project</th>
              <th class="num">Tasks</th>
              <th class="num">Labeled</th>
              <th class="num">Skipped</th>
              <th class="num">Predictions</th>
              <th>Model version</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr key={p.id} data-project-id={p.id}>
                <td>
                  <Link href={`/projects/${p.id}`} class="title">
                    {p.title || `Project #${p.id}`}
                  </Link>
                  {p.description && <div class="hint">{p.description}</div>}
                </td>
                <td class="num">{fmtNumber(p.task_number)}</td>
                <td class="num">{fmtNumber(p.num_tasks_with_annotations)}</td>
                <td class="num">{fmtNumber(p.skipped_annotations_number)}</td>
                <td class="num">{fmtNumber(p.total_predictions_number)}</td>
                <td class="mono">{p.model_version || "–"}</td>
                <td class="actions">
                  <Link href={`/projects/${p.id}/label`} class="button">
                    Label
                  </Link>
                  <Link href={`/projects/${p.id}/settings`} class="button">
                    Settings
                  </Link>
                  <button class="danger" onClick={() => setToDelete(p)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {toDelete && <DeleteDialog project={toDelete} onClose={() => setToDelete(null)} onDeleted={() => (setToDelete(null), void load())} />}
    </div>
  );
}

export function DeleteDialog(props: { project: Project; onClose: () => void; onDeleted: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = props.project;
  const del = async () => {
    setBusy(true);
    try {
      await api.del(`/api/projects/${p.id}`);
      props.onDeleted();
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <Modal title="Delete project" onClose={props.onClose}>
      <p>
        Delete <b>{p.title || `Project #${p.id}`}</b> with its {plural(p.task_number, "task")}, {plural(p.total_annotations_number, "annotation")} and{" "}
        {plural(p.total_predictions_number, "prediction")}? This cannot be undone.
      </p>
      {error && <Message kind="error">{error}</Message>}
      <div class="buttons">
        <button onClick={props.onClose}>Cancel</button>
        <button class="danger primary" onClick={del} disabled={busy}>
          {busy ? <Spinner label="Deleting…" /> : "Delete project"}
        </button>
      </div>
    </Modal>
  );
}
