// The labeling-config editor: a label table (name, colour, hotkey) for the box template and the XML
// itself, kept in sync, with problems shown inline under the XML (client checks at once, the
// server's own validation shortly after typing stops).

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { buildConfig, colourFor, parseConfig, RESERVED_KEYS, type ConfigIssue, type LabelDef } from "../lib/config";
import { api, ApiError } from "../lib/api";

/** Rewrites the labels of the first RectangleLabels, keeping the rest of the XML as it is. */
export function replaceLabels(xml: string, labels: LabelDef[]): string {
  const parsed = parseConfig(xml);
  if (parsed.config && xml.trim() === buildConfig(parsed.config.labels.map((l) => ({ ...l, hotkey: rawHotkey(xml, l.value) }))).trim()) return buildConfig(labels);
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const ctrl = doc.getElementsByTagName("RectangleLabels")[0];
  if (!ctrl || doc.getElementsByTagName("parsererror").length) return buildConfig(labels);
  Array.from(ctrl.getElementsByTagName("Label")).forEach((el) => el.remove());
  while (ctrl.firstChild && ctrl.firstChild.nodeType === 3) ctrl.firstChild.remove();
  for (const l of labels) {
    ctrl.appendChild(doc.createTextNode("\n    "));
    const el = doc.createElement("Label");
    el.setAttribute("value", l.value);
    el.setAttribute("background", l.background);
    if (l.hotkey) el.setAttribute("hotkey", l.hotkey);
    ctrl.appendChild(el);
  }
  ctrl.appendChild(doc.createTextNode("\n  "));
  return new XMLSerializer().serializeToString(doc);
}

/** The hotkey attribute as written in the XML (parseConfig fills in defaults). */
function rawHotkey(xml: string, value: string): string {
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const el = Array.from(doc.getElementsByTagName("Label")).find((e) => (e.getAttribute("alias") || e.getAttribute("value")) === value);
  return el?.getAttribute("hotkey") || "";
}

function labelsOf(xml: string): LabelDef[] | null {
  const p = parseConfig(xml);
  if (!p.config) return null;
  return p.config.labels.map((l) => ({ ...l, hotkey: rawHotkey(xml, l.value) }));
}

export function ConfigEditor(props: { xml: string; onChange: (xml: string, valid: boolean) => void; serverErrors?: string[] }) {
  const [tab, setTab] = useState<"labels" | "xml">("labels");
  const [serverIssues, setServerIssues] = useState<string[]>([]);
  const [newLabel, setNewLabel] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);
  const parsed = useMemo(() => parseConfig(props.xml), [props.xml]);
  const labels = useMemo(() => labelsOf(props.xml), [props.xml]);

  useEffect(() => {
    if (!parsed.config) return setServerIssues([]);
    const t = setTimeout(() => {
      api.post("/api/projects/validate/", { label_config: props.xml }).then(
        () => setServerIssues([]),
        (e: ApiError) => setServerIssues(e.status === 400 ? [e.message] : []),
      );
    }, 400);
    return () => clearTimeout(t);
  }, [props.xml, parsed.config]);

  // Edits build on the newest XML, even one the parent has not rendered back yet (two quick edits
  // in a row must not undo each other).
  const latest = useRef(props.xml);
  const seen = useRef(props.xml);
  if (props.xml !== seen.current) latest.current = seen.current = props.xml;
  const change = (xml: string) => {
    latest.current = xml;
    props.onChange(xml, parseConfig(xml).config !== null);
  };
  const setLabels = (fn: (ls: LabelDef[]) => LabelDef[]) => {
    const cur = labelsOf(latest.current);
    if (cur) change(replaceLabels(latest.current, fn(cur)));
  };
  const update = (i: number, patch: Partial<LabelDef>) => setLabels((ls) => ls.map((l, j) => (j === i ? { ...l, ...patch } : l)));
  const add = (e: Event) => {
    e.preventDefault();
    const v = newLabel.trim();
    if (!v) return;
    setLabels((ls) => [...ls, { value: v, background: colourFor(ls.length), hotkey: "" }]);
    setNewLabel("");
  };
  const gotoLine = (line?: number) => {
    const ta = area.current;
    if (!ta || !line) return;
    const lines = ta.value.split("\n");
    const pos = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    ta.focus();
    ta.setSelectionRange(pos, pos + (lines[line - 1]?.length ?? 0));
  };
  const issues: ConfigIssue[] = [...parsed.errors, ...serverIssues.map((m) => ({ message: "server: " + m })), ...(props.serverErrors ?? []).map((m) => ({ message: m }))];
  const errorLines = new Set(parsed.errors.map((e) => e.line).filter(Boolean));

  return (
    <div class="config-editor">
      <div class="tabs" role="tablist">
        <button role="tab" class={tab === "labels" ? "on" : ""} onClick={() => setTab("labels")} type="button">
          Labels
        </button>
        <button role="tab" class={tab === "xml" ? "on" : ""} onClick={() => setTab("xml")} type="button">
          XML
        </button>
      </div>
      {tab === "labels" && !labels && <p class="hint">The XML has problems; fix them in the XML tab to edit labels here.</p>}
      {tab === "labels" && labels && (
        <div class="label-table">
          {labels.map((l, i) => (
            <div class="label-row" key={i}>
              <input type="color" value={/^#[0-9a-f]{6}$/i.test(l.background) ? l.background : "#888888"} onInput={(e) => update(i, { background: e.currentTarget.value.toUpperCase() })} aria-label="colour" />
              <input class="label-name" value={l.value} onChange={(e) => e.currentTarget.value.trim() && update(i, { value: e.currentTarget.value.trim() })} aria-label="label name" />
              <input
                class="hotkey"
                value={l.hotkey}
                maxLength={1}
                placeholder={i < 9 ? String(i + 1) : ""}
                onInput={(e) => {
                  const k = e.currentTarget.value.toLowerCase();
                  if (!RESERVED_KEYS.has(k)) update(i, { hotkey: k });
                }}
                aria-label="hotkey"
                title="hotkey (empty: the next free digit)"
              />
              <button type="button" class="link danger" onClick={() => setLabels((ls) => ls.filter((_, j) => j !== i))} disabled={labels.length <= 1}>
                remove
              </button>
            </div>
          ))}
          <form class="label-row" onSubmit={add}>
            <input class="label-name" placeholder="New label" value={newLabel} onInput={(e) => setNewLabel(e.currentTarget.value)} aria-label="new label" />
            <button type="submit">Add label</button>
          </form>
        </div>
      )}
      {tab === "xml" && (
        <div class="xml-wrap">
          <div class="gutter" aria-hidden="true">
            {props.xml.split("\n").map((_, i) => (
              <div class={errorLines.has(i + 1) ? "bad" : ""} key={i}>
                {i + 1}
              </div>
            ))}
          </div>
          <textarea ref={area} class="xml" spellcheck={false} value={props.xml} onInput={(e) => change(e.currentTarget.value)} aria-invalid={issues.length > 0} aria-label="labeling config XML" />
        </div>
      )}
      {issues.length > 0 && (
        <ul class="issues" data-testid="config-errors">
          {issues.map((e, i) => (
            <li key={i} onClick={() => gotoLine(e.line)}>
              {e.line ? <b>line {e.line}: </b> : null}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
