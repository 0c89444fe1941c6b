// Why this file exists: the webview entry as VS Code runs it (acquireVsCodeApi, window messages, `ready` once),
// and a guard that no webview source writes markup from strings (the CSP and untrusted model output demand it).

import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { FromPanel } from "../../src/protocol";
import { newDocument, params, updates, user } from "./harness";

test("main: mounts the panel on the body, posts ready once, renders what the host sends", async () => {
  const { window, doc } = newDocument();
  const posted: FromPanel[] = [];
  const g = globalThis as Record<string, unknown>;
  g.acquireVsCodeApi = () => ({ postMessage: (m: FromPanel) => posted.push(m) });
  g.document = doc;
  g.window = window;
  // As the host's page: the panel mounts on #root.
  const root = doc.createElement("div");
  root.id = "root";
  doc.body.appendChild(root);
  try {
    await import("../main");
    assert.deepEqual(posted, [{ type: "ready" }]);
    assert.ok(root.classList.contains("panel"));
    assert.equal(root.querySelector('[data-testid="prompt"]')?.tagName, "TEXTAREA");
    assert.ok(doc.querySelector('[data-testid="prompt"]'));
    const MessageEvent = window.MessageEvent as unknown as typeof globalThis.MessageEvent;
    window.dispatchEvent(
      new MessageEvent("message", { data: updates(params(1, user("hello from the host"))) }) as never,
    );
    assert.equal(doc.querySelector('[data-testid="message-user"] .message-body')!.textContent, "hello from the host");
    window.dispatchEvent(new MessageEvent("message", { data: { type: "no-such-message" } }) as never);
    window.dispatchEvent(new MessageEvent("message", { data: null }) as never);
    assert.deepEqual(posted, [{ type: "ready" }]);
  } finally {
    delete g.acquireVsCodeApi;
    delete g.document;
    delete g.window;
  }
});

test("sources: no webview module writes markup from a string or evaluates code", () => {
  const dir = process.env.WEBVIEW_DIR;
  assert.ok(dir, "run through webview/test/run.mjs, which says where the sources are");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("main.ts") && files.includes("markdown.ts"));
  const banned =
    /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*["'](on\w+|href|src|style)["']/;
  for (const f of files) {
    const text = readFileSync(join(dir, f), "utf8");
    assert.doesNotMatch(text, banned, f);
    assert.match(text, /^\/\/ Why this file exists: /, `${f} starts with why it exists`);
  }
});

test("styles: every colour comes from the VS Code theme, so light, dark and high-contrast themes all fit", () => {
  const css = readFileSync(join(process.env.WEBVIEW_DIR!, "panel.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  assert.doesNotMatch(css, /#[0-9a-f]{3,8}\b|\brgba?\(|\bhsla?\(|:\s*(white|black|red|green|blue|gray|grey)\b/i);
  const vars = css.match(/var\(--[\w-]+/g) ?? [];
  assert.ok(vars.length > 50 && vars.every((v) => v.startsWith("var(--vscode-")), "only --vscode-* variables");
});
