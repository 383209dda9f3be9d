// Bad input in the UI gets a clear message: a wrong password, an invalid labeling config (syntax
// and a dangling toName), files that are not images, and a session that expires mid-edit (the user
// logs in again and finds the boxes as a draft). Last, the project is deleted behind its
// confirmation dialog.

import fs from "node:fs";
import path from "node:path";
import { check, EMAIL, PASSWORD, run } from "./harness.mjs";
import { canvasPoint, drag, editorState, shared, waitEditor } from "./util.mjs";

export async function scenario(t) {
  const p = t.page;
  await p.goto(t.base + "/");
  await p.fill("input[name=email]", EMAIL);
  await p.fill("input[name=password]", "not-the-password");
  await p.click("button[type=submit]");
  await p.waitForSelector(".msg-error:has-text('Wrong email or password')");
  await t.screenshot("login-wrong-password");
  await t.login();

  // Invalid XML: errors inline with their line, and the project cannot be created.
  await p.click("text=New project");
  await p.fill("input[name=title]", "Bad input");
  await p.click("role=tab[name=XML]");
  const good = await p.inputValue("textarea.xml");
  await p.fill("textarea.xml", good.replace("</RectangleLabels>", ""));
  await p.waitForSelector("[data-testid=config-errors]:has-text('XML syntax error')");
  check(await p.isDisabled("button:has-text('Create project')"), "create is disabled while the XML is invalid");
  check(/line \d+/.test(await p.textContent("[data-testid=config-errors]")), "the error names its line");
  await t.screenshot("config-syntax-error");
  await p.fill("textarea.xml", good.replace('toName="image"', 'toName="picture"'));
  await p.waitForSelector("[data-testid=config-errors]:has-text('toName=\"picture\" not found')");
  await t.screenshot("config-toname-error");
  await p.fill("textarea.xml", good);
  await p.waitForSelector("[data-testid=config-errors]", { state: "detached" });
  await p.click("button:has-text('Create project')");
  await p.waitForURL(/\/projects\/\d+$/);

  // Files that are not images: each gets its message, the good image still goes in.
  const notes = path.join(t.dataDir, "notes.pdf");
  const fake = path.join(t.dataDir, "fake.jpg");
  fs.writeFileSync(notes, "%PDF-1.4 not really");
  fs.writeFileSync(fake, "this is text, not a JPEG");
  await p.click("button:has-text('Import')");
  await p.setInputFiles("[data-testid=file-input]", [notes, fake, path.join(shared(), "datasets/seed-faces16/images/000003.jpg")]);
  await p.waitForSelector(".upload.error[data-file='notes.pdf']:has-text('unsupported file type')");
  await p.waitForSelector(".upload.error[data-file='fake.jpg']:has-text('not a valid image')");
  await p.waitForSelector(".upload.done[data-file='000003.jpg']");
  await p.waitForSelector(".msg-error:has-text('2 files were not imported')");
  await p.waitForFunction(() => /^1 task$/.test(document.querySelector("[data-testid=task-total]")?.textContent || ""));
  await t.screenshot("upload-errors");

  // The session expires while editing: a clear message, and the boxes survive as a draft.
  await p.click("text=Label tasks");
  await waitEditor(p);
  await drag(p, await canvasPoint(p, 40, 40), await canvasPoint(p, 140, 120));
  const drawn = (await editorState(p)).regions;
  check(drawn.length === 1, "box drawn");
  await t.context.clearCookies();
  await p.keyboard.press("Control+Enter");
  await p.waitForSelector(".msg-warn:has-text('session has expired')");
  await t.screenshot("session-expired");
  await p.fill("input[name=email]", EMAIL);
  await p.fill("input[name=password]", PASSWORD);
  await p.click("button[type=submit]");
  await waitEditor(p);
  await p.waitForSelector("[data-testid=draft-restored]");
  const back = (await editorState(p)).regions;
  check(back.length === 1 && back[0].id === drawn[0].id, "the draft survives the expired session");

  await p.click("header.top >> text=Projects");
  await p.click("tr:has-text('Bad input') >> button:has-text('Delete')");
  await p.waitForSelector("role=dialog[name='Delete project'] >> text=1 task,");
  await t.screenshot("delete-confirmation");
  await p.click("role=dialog >> button:has-text('Delete project')");
  await p.waitForSelector("text=No projects yet");
}

if (process.argv[1] && process.argv[1].endsWith("bad-input.e2e.mjs")) await run("bad-input", scenario);
