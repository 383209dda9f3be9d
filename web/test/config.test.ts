// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { buildConfig, parseConfig, withDefaultHotkeys } from "../src/lib/config";
import { replaceLabels } from "../src/pages/config-editor";

const SEED = `<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
  <Label value="face" background="#FFA39E"/></RectangleLabels>
</View>`;

describe("labeling config", () => {
  it("reads the seed config", () => {
    const { config, errors } = parseConfig(SEED);
    expect(errors).toEqual([]);
    expect(config).toEqual({ fromName: "label", toName: "image", type: "rectanglelabels", dataKey: "image", labels: [{ value: "face", background: "#FFA39E", hotkey: "1" }] });
  });

  it("builds the template and reads it back", () => {
    const xml = buildConfig([
      { value: "cat", background: "#FF0000", hotkey: "" },
      { value: 'a "dog"', background: "#00FF00", hotkey: "d" },
    ]);
    const { config } = parseConfig(xml);
    expect(config?.labels.map((l) => [l.value, l.hotkey])).toEqual([
      ["cat", "1"],
      ['a "dog"', "d"],
    ]);
  });

  it("reports a syntax error with its line", () => {
    const r = parseConfig('<View>\n  <Image name="image" value="$image">\n</View>');
    expect(r.config).toBeNull();
    expect(r.errors[0].message).toMatch(/XML syntax error/);
    expect(r.errors[0].line).toBe(3);
  });

  it("reports a toName that names nothing, like Label Studio", () => {
    const r = parseConfig('<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="img"><Label value="a"/></RectangleLabels></View>');
    expect(r.errors.map((e) => e.message)).toContain('toName="img" not found in names: [image, label]');
  });

  it("reports duplicate names, missing labels, missing image, reserved and duplicate hotkeys", () => {
    const dup = parseConfig('<View><Image name="x" value="$image"/><RectangleLabels name="x" toName="x"><Label value="a"/></RectangleLabels></View>');
    expect(dup.errors[0].message).toMatch(/non-unique names/);
    expect(parseConfig('<View><Image name="i" value="$image"/><RectangleLabels name="l" toName="i"></RectangleLabels></View>').errors[0].message).toMatch(/no <Label>/);
    expect(parseConfig("<View><Text name='t' value='$t'/></View>").errors.map((e) => e.message).join()).toMatch(/<Image>/);
    const hk = parseConfig('<View><Image name="i" value="$image"/><RectangleLabels name="l" toName="i"><Label value="a" hotkey="q"/><Label value="b" hotkey="q"/><Label value="c" hotkey="["/></RectangleLabels></View>');
    expect(hk.errors.map((e) => e.message)).toEqual(['hotkey "q" is used by two labels', 'hotkey "[" is reserved by the editor']);
    expect(parseConfig("  ").errors[0].message).toMatch(/empty/);
  });

  it("gives labels the free digits", () => {
    const ls = withDefaultHotkeys([
      { value: "a", background: "", hotkey: "" },
      { value: "b", background: "", hotkey: "1" },
      { value: "c", background: "", hotkey: "" },
    ]);
    expect(ls.map((l) => l.hotkey)).toEqual(["2", "1", "3"]);
  });

  it("edits labels of a template config and of a custom one without losing the rest", () => {
    const labels = [{ value: "x", background: "#111111", hotkey: "" }];
    expect(replaceLabels(buildConfig([{ value: "a", background: "#222222", hotkey: "" }]), labels)).toBe(buildConfig(labels));
    const custom = SEED.replace("<View>", '<View>\n  <Header value="Faces"/>');
    const out = replaceLabels(custom, labels);
    expect(out).toContain('<Header value="Faces"/>');
    expect(parseConfig(out).config?.labels.map((l) => l.value)).toEqual(["x"]);
  });
});
