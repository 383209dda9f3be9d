// Labeling-config XML for box projects: build it from a list of labels (the template's label editor),
// parse it back for the editor (from_name, to_name, data key, labels, colours, hotkeys), and check it
// the way Label Studio does (well-formed, unique names, toName targets exist) plus what our box editor
// needs, reporting each problem with its line so the XML editor can show it inline.

export interface LabelDef {
  value: string;
  background: string;
  hotkey: string;
}

export interface BoxConfig {
  fromName: string; // RectangleLabels@name
  toName: string; // Image@name
  type: string; // "rectanglelabels"
  dataKey: string; // Image@value without "$"
  labels: LabelDef[];
}

export interface ConfigIssue {
  message: string;
  line?: number;
}

export interface ParsedConfig {
  config: BoxConfig | null;
  errors: ConfigIssue[];
}

export const PALETTE = ["#FF6B6B", "#4DABF7", "#51CF66", "#FCC419", "#CC5DE8", "#FF922B", "#20C997", "#F06595", "#845EF7", "#94D82D"];

/** Keys the editor uses itself; a label hotkey may not take them. */
export const RESERVED_KEYS = new Set(["0", "[", "]", "?", "+", "-", "=", " ", "enter", "escape", "tab", "delete", "backspace"]);

export function colourFor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The "Object detection with bounding boxes" template with the given labels. */
export function buildConfig(labels: LabelDef[]): string {
  const lines = labels.map((l) => {
    const hk = l.hotkey ? ` hotkey="${escapeAttr(l.hotkey)}"` : "";
    return `    <Label value="${escapeAttr(l.value)}" background="${escapeAttr(l.background)}"${hk}/>`;
  });
  return [
    "<View>",
    '  <Image name="image" value="$image" zoom="true" zoomControl="true"/>',
    '  <RectangleLabels name="label" toName="image">',
    ...lines,
    "  </RectangleLabels>",
    "</View>",
  ].join("\n");
}

export const TEMPLATE_LABELS: LabelDef[] = [
  { value: "Airplane", background: PALETTE[0], hotkey: "" },
  { value: "Car", background: PALETTE[1], hotkey: "" },
];

/** Line number (1-based) of the first occurrence of `needle` in `text`, if any. */
function lineOf(text: string, needle: string): number | undefined {
  const i = text.indexOf(needle);
  return i < 0 ? undefined : text.slice(0, i).split("\n").length;
}

function parserError(doc: Document): ConfigIssue | null {
  const pe = doc.getElementsByTagName("parsererror")[0];
  if (!pe) return null;
  const text = (pe.textContent || "XML syntax error").replace(/\s+/g, " ").trim();
  const m = /line (\d+)/.exec(text) || /^(\d+):(\d+)/.exec(text);
  const detail = /error on line \d+ at column \d+: ([^]*?)(Below is|$)/.exec(text);
  return { message: "XML syntax error: " + (detail ? detail[1].trim() : text), line: m ? Number(m[1]) : undefined };
}

function allElements(doc: Document): Element[] {
  return Array.from(doc.getElementsByTagName("*"));
}

function checkNames(xml: string, els: Element[], errors: ConfigIssue[]): Set<string> {
  const names = new Set<string>();
  for (const el of els) {
    const n = el.getAttribute("name");
    if (!n) continue;
    if (names.has(n)) errors.push({ message: `Label config contains non-unique names: "${n}"`, line: lineOf(xml, `name="${n}"`) });
    names.add(n);
  }
  for (const el of els) {
    const to = el.getAttribute("toName");
    if (to === null) continue;
    for (const t of to.split(",")) {
      if (!names.has(t.trim())) {
        errors.push({ message: `toName="${t.trim()}" not found in names: [${[...names].sort().join(", ")}]`, line: lineOf(xml, `toName="${to}"`) });
      }
    }
  }
  return names;
}

function readLabels(xml: string, ctrl: Element, errors: ConfigIssue[]): LabelDef[] {
  const labels: LabelDef[] = [];
  const seen = new Set<string>();
  const keys = new Set<string>();
  Array.from(ctrl.getElementsByTagName("Label")).forEach((el, i) => {
    const value = el.getAttribute("alias") || el.getAttribute("value") || "";
    if (!value) {
      errors.push({ message: "<Label> needs a value", line: lineOf(xml, "<Label") });
      return;
    }
    if (seen.has(value)) errors.push({ message: `label "${value}" appears twice`, line: lineOf(xml, `value="${value}"`) });
    seen.add(value);
    const hotkey = (el.getAttribute("hotkey") || "").toLowerCase();
    if (hotkey && keys.has(hotkey)) errors.push({ message: `hotkey "${hotkey}" is used by two labels`, line: lineOf(xml, `hotkey="${hotkey}"`) });
    if (hotkey && RESERVED_KEYS.has(hotkey)) errors.push({ message: `hotkey "${hotkey}" is reserved by the editor`, line: lineOf(xml, `hotkey="${hotkey}"`) });
    if (hotkey) keys.add(hotkey);
    labels.push({ value, background: el.getAttribute("background") || colourFor(i), hotkey });
  });
  if (labels.length === 0) errors.push({ message: `<${ctrl.tagName} name="${ctrl.getAttribute("name")}"> has no <Label> children`, line: lineOf(xml, `<${ctrl.tagName}`) });
  return labels;
}

/** Gives labels without a hotkey the first free digit 1-9, as the editor shows them. */
export function withDefaultHotkeys(labels: LabelDef[]): LabelDef[] {
  const used = new Set(labels.map((l) => l.hotkey).filter(Boolean));
  let next = 1;
  return labels.map((l) => {
    if (l.hotkey) return l;
    while (next <= 9 && used.has(String(next))) next++;
    if (next > 9) return l;
    const hk = String(next++);
    used.add(hk);
    return { ...l, hotkey: hk };
  });
}

/** Parses and checks a labeling config; `config` is null when any error was found. */
export function parseConfig(xml: string): ParsedConfig {
  const errors: ConfigIssue[] = [];
  if (!xml.trim()) return { config: null, errors: [{ message: "Label config is not set or is empty" }] };
  const doc = new DOMParser().parseFromString(xml, "text/xml");
  const pe = parserError(doc);
  if (pe) return { config: null, errors: [pe] };
  const root = doc.documentElement;
  if (root.tagName !== "View") errors.push({ message: `the root tag must be <View>, not <${root.tagName}>`, line: 1 });
  const els = allElements(doc);
  checkNames(xml, els, errors);
  const images = els.filter((e) => e.tagName === "Image");
  for (const img of images) {
    if (!img.getAttribute("name") || !(img.getAttribute("value") || "").startsWith("$")) {
      errors.push({ message: '<Image> needs a name and a value like "$image"', line: lineOf(xml, "<Image") });
    }
  }
  const ctrls = els.filter((e) => e.tagName === "RectangleLabels");
  if (images.length === 0) errors.push({ message: "the config needs an <Image> tag" });
  if (ctrls.length === 0) errors.push({ message: "the box editor needs a <RectangleLabels> tag" });
  if (errors.length) return { config: null, errors };
  const ctrl = ctrls[0];
  const toName = (ctrl.getAttribute("toName") || "").split(",")[0].trim();
  const img = images.find((i) => i.getAttribute("name") === toName);
  if (!img) return { config: null, errors: [{ message: `<RectangleLabels> must point at an <Image> (toName="${toName}")`, line: lineOf(xml, "<RectangleLabels") }] };
  const labels = readLabels(xml, ctrl, errors);
  if (errors.length) return { config: null, errors };
  return {
    config: {
      fromName: ctrl.getAttribute("name") || "",
      toName,
      type: "rectanglelabels",
      dataKey: (img.getAttribute("value") || "").slice(1),
      labels: withDefaultHotkeys(labels),
    },
    errors,
  };
}
