// Why this file exists: a smoke test of the bundled panel in real Chromium under the webview's strict CSP (nonce'd
// script only, no inline handlers): it loads, says ready, renders host messages, and the controls post back.
// Usage: node webview/test/browser.mjs   (skips, exit 0, when no Chromium is installed; CHROMIUM=<path> to choose)

import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.log(`SKIP: no Chromium at ${chromiumPath} (set CHROMIUM=<path>)`);
  process.exit(0);
}
const bundle = await build({
  entryPoints: [join(here, "..", "main.ts")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  write: false,
  logLevel: "warning",
});
const js = bundle.outputFiles[0].text;
const css = readFileSync(join(here, "..", "panel.css"), "utf8");
const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-test'";
const page = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="${csp}"><style>${css}</style></head>
<body><div id="root"></div>
<script nonce="test">
  window.posted = [];
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m) });
  document.addEventListener("securitypolicyviolation", (e) => window.posted.push({ violation: e.violatedDirective }));
</script>
<script nonce="test">${js.replace(/<\/script/gi, "<\\/script")}</script></body></html>`;

const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
let passed = 0;
try {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await tab.setContent(page);
  const send = (msg) => tab.evaluate((m) => window.postMessage(m, "*"), msg);
  const upd = (seq, update) => ({ sessionId: "c", _meta: { seq, taskId: "t" }, update });
  await send({
    type: "updates",
    updates: [
      upd(1, {
        sessionUpdate: "agent_message_chunk",
        content: { type: "text", text: "<img src=x onerror=alert(1)> **hi**" },
      }),
      upd(2, {
        sessionUpdate: "tool_call",
        toolCallId: "k",
        title: "edit a",
        kind: "edit",
        status: "in_progress",
        content: [{ type: "diff", path: "a", oldText: "x\n", newText: "y\n" }],
      }),
    ],
  });
  await tab.getByTestId("message-agent").filter({ hasText: "hi" }).waitFor({ timeout: 5000 });
  assert.equal(await tab.locator("img").count(), 0, "the model's <img> is text");
  assert.match(await tab.getByTestId("message-agent").innerText(), /<img src=x onerror=alert\(1\)> hi/);
  passed++;

  await tab.getByTestId("open-diff").click();
  await tab.getByTestId("prompt").fill("hello");
  await tab.getByTestId("prompt").press("Enter");
  await tab.getByTestId("prompt").fill("two");
  await tab.getByTestId("prompt").press("Shift+Enter");
  assert.equal(await tab.getByTestId("prompt").inputValue(), "two\n");
  assert.deepEqual(await tab.evaluate(() => window.posted), [
    { type: "ready" },
    { type: "openDiff", path: "a", oldText: "x\n", newText: "y\n", title: "edit a" },
    { type: "prompt", text: "hello" },
  ]);
  passed++;

  await send({
    type: "approval",
    approval: {
      approvalId: "a1",
      taskId: "t",
      conversationId: "c",
      toolCallId: "k",
      title: "$ rm x",
      reason: "it deletes files",
      kind: "execute",
      command: "rm x",
    },
  });
  await tab.getByTestId("approve-reject").click();
  await send({ type: "approvalResolved", resolved: { approvalId: "a1", taskId: "t", decision: "reject" } });
  await tab.locator('[data-testid="approval"][data-outcome="reject"]').waitFor({ timeout: 5000 });
  assert.deepEqual((await tab.evaluate(() => window.posted)).at(-1), {
    type: "approve",
    approvalId: "a1",
    decision: "reject",
  });
  passed++;
  // The Changes section: its buttons post under the CSP too.
  await send({
    type: "changes",
    changes: {
      mode: "review",
      running: false,
      files: [
        { path: "a.txt", status: "modified", added: 1, removed: 1, binary: false, taskId: "t1", live: false, busy: false },
      ],
      kept: 0,
      reverted: 0,
      busy: false,
    },
  });
  await tab.getByTestId("change-revert").click();
  assert.deepEqual((await tab.evaluate(() => window.posted)).at(-1), { type: "changeRevert", path: "a.txt", taskId: "t1" });
  passed++;
  assert.deepEqual(errors, [], "no page errors");
  assert.deepEqual(
    (await tab.evaluate(() => window.posted)).filter((m) => "violation" in m),
    [],
    "no CSP violations",
  );
  passed++;
} finally {
  await browser.close();
}
console.log(`${passed} passed, 0 failed`);
