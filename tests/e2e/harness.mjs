// Shared pieces of the browser tests: start the real `labelloop serve` on a free port with a
// temporary data dir, launch Debian's Chromium headless through playwright-core, log in, save
// screenshots, and small assertion helpers. Each test is one node script run by ctest.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(path.join(ROOT, "web/package.json"));
const { chromium } = require("playwright-core");

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

export const EMAIL = process.env.LL_E2E_EMAIL || "e2e@example.com";
export const PASSWORD = process.env.LL_E2E_PASSWORD || "e2e-password-1";

export function fail(msg) {
  throw new Error(msg);
}

export function check(cond, msg) {
  if (!cond) fail("check failed: " + msg);
}

export function near(a, b, tol, msg) {
  if (!(Math.abs(a - b) <= tol)) fail(`check failed: ${msg}: ${a} is not within ${tol} of ${b}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(base, proc, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.exitCode !== null) fail(`labelloop serve exited with ${proc.exitCode}`);
    try {
      const r = await fetch(base + "/health");
      if (r.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail("labelloop serve did not become healthy");
}

/** Starts the server (or uses LL_E2E_URL), the browser and a logged-out page. `serverArgs` are
 * added to `labelloop serve`'s; by default --no-training (no detector trains in the background).
 * Always --no-zoo: the tests' `face` projects (a zoo class) start without a model. */
export async function start(name, serverArgs = ["--no-training"]) {
  const artifacts = path.resolve(process.env.LL_ARTIFACTS || path.join(os.tmpdir(), "labelloop-e2e"), name);
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ll-e2e-"));
  let proc = null;
  let base = process.env.LL_E2E_URL;
  if (!base) {
    const bin = process.env.LL_BIN || fail("LL_BIN is not set");
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const args = ["serve", "--data-dir", dataDir, "--port", String(port), "--host", "127.0.0.1", "--admin-email", EMAIL, "--admin-password", PASSWORD, "--no-zoo", ...serverArgs];
    proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const log = fs.createWriteStream(path.join(artifacts, "server.log"));
    proc.stdout.pipe(log);
    proc.stderr.pipe(log);
    await waitHealthy(base, proc, 20000);
  }
  // A fresh profile each run: launchPersistentContext passes it as --user-data-dir.
  const context = await chromium.launchPersistentContext(path.join(dataDir, "chromium"), {
    executablePath: process.env.LL_CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: false, // --headless is in CHROMIUM_ARGS, exactly as the project's rules name it
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10000);
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  let shot = 0;
  const t = {
    base, page, context, artifacts, dataDir, consoleErrors,
    async screenshot(label) {
      shot++;
      await page.screenshot({ path: path.join(artifacts, `${String(shot).padStart(2, "0")}-${label}.png`) });
    },
    async login() {
      await page.goto(base + "/");
      await page.fill("input[name=email]", EMAIL);
      await page.fill("input[name=password]", PASSWORD);
      await page.click("button[type=submit]");
      await page.waitForSelector("header.top");
    },
    async stop() {
      await context.close().catch(() => undefined);
      if (proc) {
        proc.kill("SIGTERM");
        await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Runs a test body with setup and teardown; prints one result line and sets the exit code.
 * `serverArgs` as for start(). */
export async function run(name, body, serverArgs = undefined) {
  const t0 = Date.now();
  let t = null;
  try {
    t = await start(name, serverArgs);
    await body(t);
    if (t.consoleErrors.length) fail("uncaught errors in the page: " + t.consoleErrors.join("; "));
    console.error(`e2e ${name}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    if (t) await t.screenshot("failure").catch(() => undefined);
    console.error(`e2e ${name}: FAILED: ${e.stack || e}`);
    process.exitCode = 1;
  } finally {
    if (t) await t.stop();
  }
}
