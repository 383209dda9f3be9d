// The labeling page's toolbar (back link, position, undo/redo, draw mode, zoom, help, list and
// queue navigation, skip and submit) and its hotkey overlay. Both only show state and call back.

import type { BoxConfig } from "../lib/config";
import type { Project, Task } from "../lib/api";
import { Link, Modal, Spinner } from "../components";
import type { EditorModel } from "./model";
import type { CanvasHost } from "./canvas-host";
import { HOTKEY_HELP } from "./hotkeys";

export interface EditorBarProps {
  project: Project;
  task: Task;
  size: [number, number];
  /** Position in the task list: [k, of n], when known. */
  pos: [number, number] | null;
  model: EditorModel;
  canvas: CanvasHost;
  busy: boolean;
  done: boolean;
  /** Submitted and unchanged since: nothing to submit. */
  submitted: boolean;
  submitLabel: string;
  showHelp(): void;
  step(dir: 1 | -1): void;
  labelNext(): void;
  send(skip: boolean): void;
}

export function EditorBar(props: EditorBarProps) {
  const { project, task, model, canvas } = props;
  const [W, H] = props.size;
  const view = canvas.view;
  return (
    <div class="editor-bar">
      <Link href={`/projects/${project.id}`}>← {project.title || `Project #${project.id}`}</Link>
      <span class="muted" data-testid="task-pos">
        Task #{task.id} · {W}×{H}
        {props.pos && props.pos[1] > 0 ? ` · ${props.pos[0]} of ${props.pos[1]} in the list` : ""}
      </span>
      <span class="grow" />
      <button onClick={() => model.undo()} disabled={!model.canUndo} title="Undo (Ctrl+Z)">
        Undo
      </button>
      <button onClick={() => model.redo()} disabled={!model.canRedo} title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
      <button class={canvas.drawMode ? "on" : ""} onClick={() => canvas.setDrawMode(!canvas.drawMode)} title="Draw mode (N): a drag always draws a box, even inside another" data-testid="draw-mode" aria-pressed={canvas.drawMode}>
        Draw
      </button>
      <button onClick={() => view.current?.zoomBy(0.8)} title="Zoom out (-)">
        −
      </button>
      <button onClick={() => view.current?.fit()} title="Fit (0)" data-testid="zoom">
        {canvas.zoom}%
      </button>
      <button onClick={() => view.current?.zoomBy(1.25)} title="Zoom in (+)">
        +
      </button>
      <button onClick={props.showHelp} title="Hotkeys (?)">
        ?
      </button>
      <button onClick={() => props.step(-1)} title="Previous task in the list ([)">
        ‹ Prev
      </button>
      <button onClick={() => props.step(1)} title="Next task in the list (])">
        Next ›
      </button>
      <button onClick={props.labelNext} title={`The next task of the labeling queue (${project.sampling || "Sequential sampling"})`} data-testid="label-next">
        Label next
      </button>
      <button onClick={() => props.send(true)} disabled={props.busy || props.done} title="Skip (Ctrl+Space)">
        Skip
      </button>
      <button class="primary" onClick={() => props.send(false)} disabled={props.busy || props.submitted} title="Submit (Ctrl+Enter)" data-testid="submit">
        {props.busy ? <Spinner label="Saving…" /> : props.submitLabel}
      </button>
    </div>
  );
}

/** The `?` overlay: the labels' hotkeys, then every other key. */
export function HotkeyHelp(props: { cfg: BoxConfig; onClose: () => void }) {
  return (
    <Modal title="Hotkeys" onClose={props.onClose} wide>
      <table class="hotkeys">
        <tbody>
          {props.cfg.labels.map((l) => (
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
  );
}
