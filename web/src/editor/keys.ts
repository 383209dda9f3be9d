// The editor's keyboard: which key press does what, as a pure function of the press and the page's
// operations, so that the map is tested without a page (web/test/editor-parts.test.ts); the hook
// installs it as the one key handler of the page.

import { useEffect } from "preact/hooks";
import type { EditorModel } from "./model";
import { keyOf } from "./hotkeys";

/** What a key press can do on the labeling page. */
export interface EditorKeys {
  model: EditorModel;
  /** The labels' hotkeys (lower case) and values. */
  labelKeys: Map<string, string>;
  help: boolean;
  drawMode: boolean;
  send(skip: boolean): void;
  copy(): void;
  paste(): void;
  step(dir: 1 | -1): void;
  acceptAll(): void;
  toggleHelp(): void;
  closeHelp(): void;
  setDrawMode(on: boolean): void;
  fit(): void;
  zoomBy(factor: number): void;
}

export type KeyPress = { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean };

/** The action of a key press, or null when the key is not one of the editor's. */
export function editorKeyAction(e: KeyPress, k: EditorKeys): (() => void) | null {
  const m = k.model;
  const sel = m.selectedId;
  const big = e.shiftKey ? 10 : 1;
  const nudge = (dx: number, dy: number) => () => sel && m.nudge(sel, dx, dy);
  const actions: Record<string, () => void> = {
    "ctrl+z": () => m.undo(),
    "ctrl+shift+z": () => m.redo(),
    "ctrl+y": () => m.redo(),
    "ctrl+enter": () => k.send(false),
    "ctrl+space": () => k.send(true),
    "ctrl+c": k.copy,
    "ctrl+v": k.paste,
    delete: () => sel && m.remove(sel),
    backspace: () => sel && m.remove(sel),
    escape: () => (k.help ? k.closeHelp() : k.drawMode ? k.setDrawMode(false) : m.select(null)),
    tab: () => m.cycle(1),
    "shift+tab": () => m.cycle(-1),
    enter: () => sel && m.accept(sel),
    "shift+enter": k.acceptAll,
    n: () => k.setDrawMode(!k.drawMode),
    h: () => sel && m.toggleHidden(sel),
    H: () => m.showAll(),
    l: () => sel && m.toggleLocked(sel),
    "[": () => k.step(-1),
    "]": () => k.step(1),
    "0": k.fit,
    "+": () => k.zoomBy(1.25),
    "=": () => k.zoomBy(1.25),
    "-": () => k.zoomBy(0.8),
    "?": k.toggleHelp,
    "shift+?": k.toggleHelp,
    arrowleft: nudge(-1, 0),
    arrowright: nudge(1, 0),
    arrowup: nudge(0, -1),
    arrowdown: nudge(0, 1),
    "shift+arrowleft": nudge(-big, 0),
    "shift+arrowright": nudge(big, 0),
    "shift+arrowup": nudge(0, -big),
    "shift+arrowdown": nudge(0, big),
  };
  const key = keyOf(e);
  const label = !e.ctrlKey && !e.metaKey && !e.altKey ? k.labelKeys.get(e.key.toLowerCase()) : undefined;
  if (label !== undefined) return () => m.chooseLabel(label);
  return actions[key === "h" && e.shiftKey ? "H" : key] ?? null;
}

/** Typing in a form field (other than a slider), or any key but `?` under an open dialog, is not
 * the editor's. */
export function keyForPage(target: HTMLElement | null, key: string, dialogOpen: boolean): boolean {
  const t = target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable) && t.getAttribute("type") !== "range") return false;
  return !dialogOpen || key === "?";
}

/** Installs the editor's key handler on the window while `deps` stay the same. */
export function useEditorKeys(k: EditorKeys, deps: unknown[]): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!keyForPage(e.target as HTMLElement, e.key, !!document.querySelector(".modal-back"))) return;
      const fn = editorKeyAction(e, k);
      if (!fn) return;
      e.preventDefault();
      fn();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, deps);
}
