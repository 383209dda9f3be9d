// The editor's side column: labels, the project's instructions, predictions (slider, pending ones
// with accept/reject), the annotation's own boxes (hide, lock), the selected box, image
// brightness/contrast and the save state. It only reads the model and calls its operations.

import type { BoxConfig } from "../lib/config";
import type { Region } from "../lib/regions";
import { Spinner } from "../components";
import type { EditorModel } from "./model";

export interface SideProps {
  model: EditorModel;
  cfg: BoxConfig;
  colours: Map<string, string>;
  instructions: string;
  adjust: { b: number; c: number };
  setAdjust: (a: { b: number; c: number }) => void;
  setThreshold: (t: number) => void;
  acceptAll: () => void;
  save: { kind: string; text: string };
}

function RegionRow(props: { r: Region; model: EditorModel; colours: Map<string, string> }) {
  const { r, model } = props;
  return (
    <li class={(r.id === model.selectedId ? "on " : "") + (r.predicted ? "pred " : "") + (r.hidden ? "hidden" : "")} onClick={() => !r.hidden && model.select(r.id)} data-region-id={r.id}>
      <span class="swatch" style={{ background: props.colours.get(r.label) ?? "#f0f" }} />
      <span class="rl">{r.label}</span>
      {r.score !== null && <span class="score">{r.score.toFixed(2)}</span>}
      {r.origin !== "manual" && !r.predicted && <span class="tag">{r.origin === "prediction" ? "accepted" : "edited"}</span>}
      {r.predicted ? (
        <span class="pred-actions">
          <button class="link" onClick={(e) => (e.stopPropagation(), model.accept(r.id))} title="Accept (Enter)">
            accept
          </button>
          <button class="link danger" onClick={(e) => (e.stopPropagation(), model.remove(r.id))} title="Reject (Delete)">
            reject
          </button>
        </span>
      ) : (
        <span class="box-actions">
          <button class={"link icon" + (r.hidden ? " on" : "")} onClick={(e) => (e.stopPropagation(), model.toggleHidden(r.id))} title={r.hidden ? "Show (H)" : "Hide (H)"} aria-label={r.hidden ? "show box" : "hide box"}>
            {r.hidden ? "◌" : "◉"}
          </button>
          <button class={"link icon" + (r.locked ? " on" : "")} onClick={(e) => (e.stopPropagation(), model.toggleLocked(r.id))} title={r.locked ? "Unlock (L)" : "Lock (L)"} aria-label={r.locked ? "unlock box" : "lock box"}>
            {r.locked ? "▣" : "□"}
          </button>
        </span>
      )}
    </li>
  );
}

export function EditorSide(props: SideProps) {
  const { model, cfg, colours } = props;
  const own = model.own();
  const preds = model.regions.filter((r) => r.predicted);
  const pending = model.pending();
  const sel = model.selected;
  return (
    <aside class="editor-side">
      {props.instructions.trim() && (
        <section class="instructions" data-testid="instructions">
          <h3>Instructions</h3>
          <div class="instr-text">{props.instructions}</div>
        </section>
      )}
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
      {(model.hadPredictions || preds.length > 0) && (
        <section class="preds" data-testid="predictions">
          <h3>
            Predictions <span class="muted" data-testid="pred-count">({pending.length} to review)</span>
          </h3>
          <label class="slider">
            Confidence ≥ <b>{model.threshold.toFixed(2)}</b>
            <input type="range" min={0} max={1} step={0.01} value={model.threshold} onInput={(e) => props.setThreshold(Number(e.currentTarget.value))} aria-label="confidence threshold" />
          </label>
          <div class="row">
            <span class="muted">
              {pending.length} of {preds.length} shown
            </span>
            <button onClick={props.acceptAll} disabled={!pending.length} title="Shift+Enter" data-testid="accept-all">
              Accept all shown
            </button>
          </div>
          <ul class="region-list" data-testid="pred-list">
            {pending.slice(0, 1000).map((r) => (
              <RegionRow key={r.id} r={r} model={model} colours={colours} />
            ))}
          </ul>
          {!pending.length && (
            <div class="muted small" data-testid="preds-reviewed">
              All shown predicted boxes are reviewed{preds.length ? ` (${preds.length} below the confidence threshold are left out)` : ""}.
            </div>
          )}
        </section>
      )}
      <section class="regions">
        <h3>
          Boxes <span class="muted" data-testid="box-count">({own.length})</span>
          {own.some((r) => r.hidden) && (
            <button class="link small" onClick={() => model.showAll()} title="Shift+H">
              show all
            </button>
          )}
        </h3>
        <ul class="region-list" data-testid="region-list">
          {own.slice(0, 1000).map((r) => (
            <RegionRow key={r.id} r={r} model={model} colours={colours} />
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
      <section class="adjust">
        <h3>Image</h3>
        <label class="slider">
          Brightness <b>{Math.round(props.adjust.b * 100)}%</b>
          <input type="range" min={0.3} max={3} step={0.05} value={props.adjust.b} onInput={(e) => props.setAdjust({ ...props.adjust, b: Number(e.currentTarget.value) })} aria-label="brightness" />
        </label>
        <label class="slider">
          Contrast <b>{Math.round(props.adjust.c * 100)}%</b>
          <input type="range" min={0.3} max={3} step={0.05} value={props.adjust.c} onInput={(e) => props.setAdjust({ ...props.adjust, c: Number(e.currentTarget.value) })} aria-label="contrast" />
        </label>
        {(props.adjust.b !== 1 || props.adjust.c !== 1) && (
          <button class="link small" onClick={() => props.setAdjust({ b: 1, c: 1 })}>
            reset
          </button>
        )}
      </section>
      <div class={"save-state " + props.save.kind} data-testid="save-state">
        {props.save.kind === "saving" && <Spinner />} {props.save.text}
      </div>
    </aside>
  );
}
