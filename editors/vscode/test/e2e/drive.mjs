// Why this file exists: drives real VS Code (code-server) in headless Chromium for tests/agent/editors/vscode.rs:
// the agent panel runs a task end to end (prompt, messages, command output, diff, an approval answered in the
// panel, the edit in the unsaved buffer, the final message, replay after a window reload), a task's changes are
// reviewed in the panel (MODE=review), an edit's new TypeScript error reaches the agent (MODE=diagnostics), or a
// broken set-up shows its notifications. The Rust test owns the scripted model, the workspace and the
// expectations (env).
//
// Env: CS_URL (code-server with ?folder=), OUT (directory for screenshots and report.json), MODE ("task", "review",
// "diagnostics" or "faults"), EXPECT (JSON, see below), SCREENSHOT (optional extra copy of the panel screenshot),
// SETTINGS (the user settings.json, read for MODE=faults).
import { chromium } from "playwright-core";
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OUT = process.env.OUT ?? "test-output";
const MODE = process.env.MODE ?? "task";
const EXPECT = JSON.parse(process.env.EXPECT ?? "{}");
mkdirSync(OUT, { recursive: true });
const t0 = Date.now();
const steps = [];
const step = (what) => {
  const s = ((Date.now() - t0) / 1000).toFixed(1);
  steps.push({ s: Number(s), what });
  console.log(`${s}s ${what}`);
};

/** Monaco renders spaces as U+00A0 and positions lines absolutely: the text of every rendered line. */
const editorHas = (page, text, timeout = 20000) =>
  page.waitForFunction(
    (t) =>
      [...document.querySelectorAll(".monaco-editor .view-lines .view-line")].some((l) =>
        l.textContent.replace(/\u00a0/g, " ").includes(t),
      ),
    text,
    { timeout },
  );

async function workbench(page) {
  await page.goto(process.env.CS_URL);
  await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
  step("workbench loaded");
}

async function palette(page, command) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${command}`);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: command }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press("Enter");
}

/** The agent panel's document: VS Code nests a webview's content in two iframes. */
function panelFrame(page) {
  return page.frameLocator("iframe.webview.ready").first().frameLocator("iframe#active-frame");
}

async function openPanel(page) {
  // The status-bar item appears when the extension has activated (its commands exist from then on).
  await page.locator(".statusbar-item", { hasText: "OpenHands" }).first().waitFor({ timeout: 30000 });
  await palette(page, "OpenHands: Show agent panel");
  const frame = panelFrame(page);
  await frame.getByTestId("prompt").waitFor({ timeout: 20000 });
  step("agent panel open");
  return frame;
}

async function task(page) {
  await workbench(page);
  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(EXPECT.file);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: EXPECT.file }).first().waitFor();
  await page.keyboard.press("Enter");
  await editorHas(page, EXPECT.before);
  step(`${EXPECT.file} open`);
  const frame = await openPanel(page);
  if (EXPECT.apiKey) {
    // The key goes to VS Code's secret storage and reaches the restarted server as LLM_API_KEY.
    await palette(page, "OpenHands: Set API key");
    await page.locator(".quick-input-widget input[type=password]").waitFor();
    await page.keyboard.type(EXPECT.apiKey);
    await page.keyboard.press("Enter");
    await notification(page, "API key saved");
    await palette(page, "Notifications: Clear All Notifications");
    step("API key set");
  }
  const box = frame.getByTestId("prompt");
  await box.click();
  await box.fill(EXPECT.prompt);
  await box.press("Enter");
  step("prompt sent");
  await frame.getByTestId("message-agent").filter({ hasText: EXPECT.agentMessage }).first().waitFor({ timeout: 30000 });
  step("agent message shown");
  await frame.getByTestId("tool-call").filter({ hasText: EXPECT.command }).first().waitFor({ timeout: 20000 });
  step("command shown");
  // The approval: answered in the panel.
  const allow = frame.getByTestId("approval").filter({ hasText: EXPECT.command }).getByTestId("approve-allow_once");
  await allow.waitFor({ timeout: 20000 });
  await page.screenshot({ path: join(OUT, "1-approval.png") });
  // The status bar follows the task: its step, and that it waits for the approval.
  const waiting = page.locator(".statusbar-item", { hasText: /OpenHands \d+\/\d+: approve\?/ }).first();
  await waiting.waitFor({ timeout: 5000 });
  const statusAtApproval = (await waiting.innerText()).trim();
  await allow.click();
  step("approval answered in the panel");
  await frame.getByTestId("command-output").filter({ hasText: EXPECT.output }).first().waitFor({ timeout: 20000 });
  step("command output shown");
  await frame.getByTestId("diff").filter({ hasText: EXPECT.after }).first().waitFor({ timeout: 30000 });
  step("the edit's diff shown");
  // The agent asks; the prompt box now replies to the waiting task.
  await frame.getByTestId("message-agent").filter({ hasText: EXPECT.question }).first().waitFor({ timeout: 30000 });
  await box.waitFor({ timeout: 5000 });
  await frame.locator('[data-testid="prompt"][placeholder="Reply…"]').waitFor({ timeout: 10000 });
  step("question shown, the prompt box replies");
  await box.fill(EXPECT.reply);
  await box.press("Enter");
  await frame.getByTestId("message-user").filter({ hasText: EXPECT.reply }).first().waitFor({ timeout: 20000 });
  step("reply sent from the panel");
  await frame.getByTestId("message-agent").filter({ hasText: EXPECT.final }).first().waitFor({ timeout: 30000 });
  step("final message shown");
  // The edit was made before the question; the reply's run changed nothing: the edit is still to review.
  await frame
    .locator(`[data-testid="change"][data-path="${EXPECT.file}"][data-added="1"][data-removed="1"]`)
    .getByTestId("change-keep")
    .waitFor({ timeout: 20000 });
  step("the first run's edit listed under Changes");
  await editorHas(page, EXPECT.after);
  // The buffer holds the edit and is not saved.
  await page.locator(".tabs-container .tab.active.dirty").waitFor({ timeout: 10000 });
  step("edit in the editor's buffer, unsaved");
  const statusBar = (await page.locator(".statusbar").innerText()).replace(/\s+/g, " ");
  await page.waitForTimeout(300);
  const shot = join(OUT, "vscode-panel.png");
  await page.screenshot({ path: shot });
  if (process.env.SCREENSHOT) copyFileSync(shot, process.env.SCREENSHOT);
  // The diff's card opens VS Code's diff editor on the two texts.
  await frame.getByTestId("diff").filter({ hasText: EXPECT.after }).first().getByTestId("open-diff").click();
  await page.locator(".monaco-diff-editor").first().waitFor({ timeout: 10000 });
  await editorHas(page, EXPECT.after);
  step("diff editor open");
  // A reloaded webview is replayed the conversation by the extension host, which kept it.
  await palette(page, "Developer: Reload Webviews");
  const reloaded = panelFrame(page);
  await reloaded.getByTestId("message-agent").filter({ hasText: EXPECT.final }).first().waitFor({ timeout: 20000 });
  await reloaded.getByTestId("command-output").filter({ hasText: EXPECT.output }).first().waitFor({ timeout: 5000 });
  step("webview reloaded and replayed");
  // A window reload restarts the extension host and the server; the panel replays the conversation from the
  // server's history.
  await page.reload();
  await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
  step("window reloaded");
  const again = await openPanel(page);
  await again.getByTestId("message-agent").filter({ hasText: EXPECT.final }).first().waitFor({ timeout: 30000 });
  await again.getByTestId("message-agent").filter({ hasText: EXPECT.agentMessage }).first().waitFor({ timeout: 5000 });
  await again.getByTestId("command-output").filter({ hasText: EXPECT.output }).first().waitFor({ timeout: 5000 });
  await again.getByTestId("diff").filter({ hasText: EXPECT.after }).first().waitFor({ timeout: 5000 });
  step("history replayed after the reload");
  await page.screenshot({ path: join(OUT, "2-after-reload.png") });
  return { statusBar, statusAtApproval };
}

/** Opens `file` with Quick Open and waits for its text. */
async function openFile(page, file, text) {
  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(file);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: file }).first().waitFor();
  await page.keyboard.press("Enter");
  await page.locator(".tabs-container .tab.active", { hasText: file }).waitFor({ timeout: 10000 });
  await editorHas(page, text);
}

/** The Changes section's rows: `{path, added, removed}` in order. */
const changeRows = (frame) =>
  frame.getByTestId("change").evaluateAll((rows) =>
    rows.map((r) => ({
      path: r.getAttribute("data-path"),
      added: Number(r.getAttribute("data-added")),
      removed: Number(r.getAttribute("data-removed")),
    })),
  );

/** Waits until the Changes section lists exactly `paths` (in `mode`). */
async function listed(frame, mode, paths, timeout = 30000) {
  await frame.locator(`[data-testid="changes"][data-mode="${mode}"]`).waitFor({ timeout });
  const deadline = Date.now() + timeout;
  for (;;) {
    const rows = await changeRows(frame);
    if (JSON.stringify(rows.map((r) => r.path)) === JSON.stringify(paths)) return rows;
    if (Date.now() > deadline) throw new Error(`changes list ${JSON.stringify(rows)}, wanted ${JSON.stringify(paths)} (${mode})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A task edits three files (two open, one closed), then its changes are reviewed in the panel. */
async function review(page) {
  await workbench(page);
  for (const [file, text] of EXPECT.open) await openFile(page, file, text);
  step("files open");
  const frame = await openPanel(page);
  const box = frame.getByTestId("prompt");
  await box.click();
  await box.fill(EXPECT.prompt);
  await box.press("Enter");
  step("prompt sent");
  // The task waits for an approval (a risky command) after two edits: the list so far shows them.
  const allow = frame.getByTestId("approval").filter({ hasText: EXPECT.command }).getByTestId("approve-allow_once");
  await allow.waitFor({ timeout: 30000 });
  const live = await listed(frame, "live", EXPECT.live);
  step(`live list: ${JSON.stringify(live)}`);
  await page.screenshot({ path: join(OUT, "1-live-changes.png") });
  await allow.click();
  await frame.getByTestId("message-agent").filter({ hasText: EXPECT.final }).first().waitFor({ timeout: 30000 });
  step("task finished");
  const rows = await listed(frame, "review", EXPECT.review.map((r) => r.path));
  step(`review list: ${JSON.stringify(rows)}`);
  await page.screenshot({ path: join(OUT, "2-review.png") });
  const row = (path) => frame.locator(`[data-testid="change"][data-path="${path}"]`);

  // Revert one open file: its buffer has the text from before the task again, and it leaves the list.
  await row(EXPECT.revert.path).getByTestId("change-revert").click();
  await listed(frame, "review", EXPECT.review.map((r) => r.path).filter((p) => p !== EXPECT.revert.path));
  await page.locator(".tabs-container .tab", { hasText: EXPECT.revert.path }).first().click();
  await editorHas(page, EXPECT.revert.restored);
  step("reverted in the buffer and gone from the list");

  // The user types over the task's change in another open file: its revert is refused, with the server's words.
  await page.locator(".tabs-container .tab", { hasText: EXPECT.refused.path }).first().click();
  await editorHas(page, EXPECT.refused.before);
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+Home");
  await page.keyboard.type(EXPECT.refused.typed);
  await editorHas(page, EXPECT.refused.typed + EXPECT.refused.before);
  // The server hears of the typing (didChange) before the click; a short pause covers the round trip.
  await page.waitForTimeout(500);
  await row(EXPECT.refused.path).getByTestId("change-revert").click();
  const message = frame.getByTestId("changes-message").filter({ hasText: EXPECT.refused.message });
  await message.waitFor({ timeout: 20000 });
  const refusal = (await message.innerText()).trim();
  await row(EXPECT.refused.path).waitFor({ timeout: 5000 });
  await editorHas(page, EXPECT.refused.typed + EXPECT.refused.before);
  step("revert refused, message shown, file still listed");
  await page.screenshot({ path: join(OUT, "3-refused.png") });

  // A click on a file opens its change in VS Code's diff editor, the text before the task beside the file.
  await row(EXPECT.keep.path).getByTestId("change-open").click();
  await page.locator(".monaco-diff-editor").first().waitFor({ timeout: 10000 });
  await page.locator(".tabs-container .tab.active", { hasText: EXPECT.keep.path }).waitFor({ timeout: 10000 });
  await editorHas(page, EXPECT.keep.diffLine);
  step("diff editor opened");
  await page.screenshot({ path: join(OUT, "4-diff-editor.png") });
  // The file the user typed in since cannot be rebuilt that way: the server's read-only diff document.
  await row(EXPECT.refused.path).getByTestId("change-open").click();
  await page.locator(".tabs-container .tab.active", { hasText: ".diff" }).waitFor({ timeout: 10000 });
  await editorHas(page, EXPECT.refused.diffLine);
  step("diff document opened");

  // Keep: the file leaves the list and keeps the task's content; keep all settles the rest.
  await row(EXPECT.keep.path).getByTestId("change-keep").click();
  await listed(frame, "review", EXPECT.review.map((r) => r.path).filter((p) => p !== EXPECT.revert.path && p !== EXPECT.keep.path));
  step("kept one");
  await frame.getByTestId("changes-keep-all").click();
  await frame.locator(".changes-title", { hasText: EXPECT.allReviewed }).waitFor({ timeout: 10000 });
  step("kept the rest: all reviewed");
  // The buffers are saved (code-server's default auto save) before the test reads the files.
  await page.waitForFunction(() => document.querySelectorAll(".tabs-container .tab.dirty").length === 0, null, {
    timeout: 10000,
  });
  await page.screenshot({ path: join(OUT, "5-reviewed.png") });
  return { live, rows, refusal };
}

/** The status bar's problem counts, e.g. "1 Error, 0 Warnings" (its aria-label) or its text. */
async function problems(page) {
  const item = page.locator('[id="status.problems"]').first();
  const label = await item.locator("a").first().getAttribute("aria-label").catch(() => null);
  return label ?? (await item.innerText()).replace(/\s+/g, " ");
}

/** An agent edit that breaks a TypeScript file open in the editor: VS Code's own TypeScript server reports it. */
async function diagnostics(page) {
  await workbench(page);
  await openFile(page, EXPECT.file, EXPECT.before);
  // The file has one error already: once the status bar counts it, the TypeScript server has the file.
  const deadline = Date.now() + 60000;
  let count = "";
  while (!/^1 |Errors?: 1\b/i.test((count = await problems(page)))) {
    if (Date.now() > deadline) throw new Error(`the TypeScript server reported nothing: ${count}`);
    await page.waitForTimeout(250);
  }
  step(`TypeScript server ready: ${count}`);
  const frame = await openPanel(page);
  const box = frame.getByTestId("prompt");
  await box.click();
  await box.fill(EXPECT.prompt);
  await box.press("Enter");
  step("prompt sent");
  await frame.getByTestId("message-agent").filter({ hasText: EXPECT.final }).first().waitFor({ timeout: 60000 });
  step("task finished");
  const after = await problems(page);
  await page.screenshot({ path: join(OUT, "diagnostics.png") });
  return { before: count, after };
}

/** The notifications' text, once one containing `text` is shown. */
async function notification(page, text, timeout = 30000) {
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: text }).first();
  await toast.waitFor({ timeout });
  return (await toast.innerText()).replace(/\s+/g, " ");
}

async function faults(page) {
  await workbench(page);
  const missing = await notification(page, EXPECT.missing);
  step("missing-binary notification shown");
  await page.screenshot({ path: join(OUT, "3-missing.png") });
  // The settings change as a user changes them, in settings.json in the editor (code-server does not notice
  // the file changing underneath it). A server that dies at once:
  const settings = JSON.parse(readFileSync(process.env.SETTINGS, "utf8"));
  await palette(page, "Preferences: Open User Settings (JSON)");
  await page.locator(".monaco-editor .view-lines").first().waitFor();
  await editorHas(page, "openhands.server.path");
  const save = async () => {
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(JSON.stringify(settings));
    // Whatever the editor added after the text (a closing quote or bracket) goes.
    await page.keyboard.press("Control+Shift+End");
    await page.keyboard.press("Delete");
    await page.keyboard.press("Control+S");
  };
  settings["openhands.server.path"] = EXPECT.crashingServer;
  await save();
  const crashed = await notification(page, EXPECT.crash);
  step("crash notification shown");
  await page.screenshot({ path: join(OUT, "4-crash.png") });
  // The bundled server, and a setting it refuses: it starts and says what is wrong.
  delete settings["openhands.server.path"];
  Object.assign(settings, EXPECT.invalidSettings);
  await save();
  step("settings.json edited and saved");
  const invalid = await notification(page, EXPECT.invalid);
  step("invalid-setting notification shown");
  await page.screenshot({ path: join(OUT, "5-invalid-setting.png") });
  return { missing, crashed, invalid };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
page.on("console", (m) => {
  if (m.type() === "error") appendFileSync(join(OUT, "browser-console.log"), m.text() + "\n");
});
let report = { ok: false, mode: MODE, steps };
try {
  const run = { task, review, diagnostics, faults }[MODE];
  if (!run) throw new Error(`unknown MODE ${MODE}`);
  report = { ...report, ...(await run(page)), ok: true };
} catch (e) {
  report.error = String(e?.stack ?? e);
  console.error("FAIL", e);
  await page.screenshot({ path: join(OUT, "fail.png") }).catch(() => {});
} finally {
  await browser.close();
}
report.seconds = (Date.now() - t0) / 1000;
writeFileSync(join(OUT, "report.json"), JSON.stringify(report, null, 2));
process.exit(report.ok ? 0 : 1);
