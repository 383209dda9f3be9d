// Key naming for the editor's hotkey table, and the list shown in the help overlay.

/**
 * A normalised name for a key press: "ctrl+shift+z", "shift+enter", "ctrl+space", "?", "]".
 * Ctrl and Cmd are the same. Shift is part of the name only for named keys and with Ctrl/Alt,
 * since for printable characters it is already in the character ("?" rather than "shift+/").
 */
export function keyOf(e: { key: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): string {
  let key = e.key === " " ? "space" : e.key.toLowerCase();
  if (key === "del") key = "delete";
  const named = e.key.length > 1 || key === "space";
  const ctrl = e.ctrlKey || e.metaKey;
  const parts: string[] = [];
  if (ctrl) parts.push("ctrl");
  if (e.altKey) parts.push("alt");
  if (e.shiftKey && (named || ctrl || e.altKey)) parts.push("shift");
  parts.push(key);
  return parts.join("+");
}

/** Every key of the editor, as the `?` overlay lists them (docs/ui.md has the same table). */
export const HOTKEY_HELP: Array<[string, string]> = [
  ["drag", "draw a box with the active label (on empty image)"],
  ["drag box / handle", "move / resize it (not when locked)"],
  ["Shift + drag", "draw a box, even starting inside another box"],
  ["N", "draw mode on / off: every drag draws, with crosshair lines"],
  ["wheel", "zoom around the cursor"],
  ["Space + drag, right or middle drag", "pan"],
  ["0", "fit the image to the screen"],
  ["+ / −", "zoom in / out"],
  ["Tab / Shift+Tab", "select the next / previous box"],
  ["Arrows (Shift: 10 px)", "move the selected box by 1 image pixel"],
  ["Delete / Backspace", "delete the selected box (rejects a prediction)"],
  ["Enter", "accept the selected prediction"],
  ["Shift+Enter", "accept all predictions at or above the confidence slider"],
  ["H / Shift+H", "hide or show the selected box / show all boxes"],
  ["L", "lock or unlock the selected box"],
  ["Ctrl+C / Ctrl+V", "copy the selected box (or all boxes) / paste them, also on another image"],
  ["Escape", "leave draw mode, else deselect"],
  ["Ctrl+Z", "undo"],
  ["Ctrl+Shift+Z / Ctrl+Y", "redo"],
  ["Ctrl+Enter", "submit (or update) and go to the next task of the queue"],
  ["Ctrl+Space", "skip the task"],
  ["[ / ]", "previous / next task of the task list (its filter and order)"],
  ["?", "this help"],
];
