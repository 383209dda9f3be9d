// The project settings' Model section with a real ML backend: `labelloop ml-backend` is started
// beside the server; adding a dead address shows Label Studio's "can't connect" words, adding the
// real one lists it as Connected with its model version, Test and Train answer, Remove takes it
// away (and the API agrees at each step).

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { check, run } from "./harness.mjs";
import { api } from "./labeling.e2e.mjs";

const CONFIG = '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image"><Label value="face"/></RectangleLabels></View>';

/** `labelloop ml-backend` on a free port; resolves with {url, stop}. */
async function startBackend() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ll-e2e-mlb-"));
  const proc = spawn(process.env.LL_BIN, ["ml-backend", "--port", "0", "--model-dir", dir, "--no-training"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: proc.stdout });
  const url = await new Promise((resolve, reject) => {
    lines.on("line", (l) => {
      const m = /serving on (http:\/\/[0-9.:]+)/.exec(l);
      if (m) resolve(m[1]);
    });
    proc.on("exit", (c) => reject(new Error(`ml-backend exited with ${c}`)));
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { url, stop };
}

export async function scenario(t) {
  const backend = await startBackend();
  try {
    await t.login();
    const project = await api(t, "POST", "/api/projects", { title: "Backends e2e", label_config: CONFIG });
    const p = t.page;
    await p.goto(`${t.base}/projects/${project.id}/settings`);
    await p.waitForSelector("[data-testid=ml-backends]");
    await p.waitForSelector("[data-testid=ml-backends] >> text=No external backend yet.");

    await p.fill("input[name=ml_url]", "http://127.0.0.1:1");
    await p.click("[data-testid=add-backend]");
    await p.waitForSelector("[data-testid=ml-backends] .msg-error");
    const err = await p.textContent("[data-testid=ml-backends] .msg-error");
    check(/Can't connect to ML backend http:\/\/127\.0\.0\.1:1, health check failed/.test(err), "the connection error is shown: " + err);
    await t.screenshot("dead-backend");

    await p.fill("input[name=ml_url]", backend.url);
    await p.fill("input[name=ml_title]", "own");
    await p.click("[data-testid=add-backend]");
    await p.waitForSelector("[data-testid=ml-backends] [data-state=CO]");
    check((await p.textContent("[data-testid=ml-backends] .ml-list")).includes("untrained"), "the model version is listed");
    const listed = (await api(t, "GET", `/api/ml?project=${project.id}`)).filter((b) => b.url === backend.url);
    check(listed.length === 1 && listed[0].state === "CO" && listed[0].title === "own", "the API lists it connected");
    await t.screenshot("connected");

    await p.click("[data-testid=ml-backends] button:has-text('Test')");
    await p.waitForSelector("[data-testid=ml-backends] [data-state=CO]");
    await p.click("[data-testid=ml-backends] button:has-text('Train')");
    await p.waitForSelector("[data-testid=ml-backends] .msg-ok");

    p.once("dialog", (d) => d.accept());
    await p.click("[data-testid=ml-backends] button:has-text('Remove')");
    await p.waitForSelector("[data-testid=ml-backends] >> text=No external backend yet.");
    const left = (await api(t, "GET", `/api/ml?project=${project.id}`)).filter((b) => b.url === backend.url);
    check(left.length === 0, "the API no longer lists it");
  } finally {
    await backend.stop();
  }
}

if (process.argv[1] && process.argv[1].endsWith("ml-backends.e2e.mjs")) await run("ml-backends", scenario);
