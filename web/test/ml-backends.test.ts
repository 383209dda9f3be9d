import { describe, expect, it } from "vitest";
import { externalBackends, type MlBackend } from "../src/pages/ml-backends";

const row = (id: number, url: string, project = 3): MlBackend => ({ id, url, project, title: "t", state: "CO", readable_state: "Connected", error_message: "", model_version: "" });

describe("externalBackends", () => {
  it("leaves out the built-in detector's row and other projects", () => {
    const list = [row(1, "http://127.0.0.1:8080/api/projects/3/model"), row(2, "http://localhost:9090"), row(3, "http://x:9090", 4)];
    expect(externalBackends(list, 3).map((b) => b.id)).toEqual([2]);
  });
});
