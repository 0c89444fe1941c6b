// Why this file exists: the settings the server gets, the status bar's words, and the order in which the
// server binary is looked for (with the messages a user reads when it is not found).

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";

import { findServer } from "../../src/binary";
import { clearedKeys, serverOptions, versionMismatch } from "../../src/settings";
import { busy, statusText } from "../../src/status";

test("non-empty settings go to the server under their own key, with the rich channel on", () => {
  const values: Record<string, unknown> = { model: " gpt-4o ", llm: "", baseUrl: "http://x/v1", runtime: "docker", maxIterations: 30, approvals: undefined };
  assert.deepEqual(serverOptions((k) => values[k]), {
    ui: "rich",
    approvalUi: "client",
    model: "gpt-4o",
    baseUrl: "http://x/v1",
    runtime: "docker",
    maxIterations: 30,
  });
});

test("a setting the user cleared is noticed (the server keeps a value it is not given)", () => {
  assert.deepEqual(clearedKeys({ ui: "rich", model: "a", runtime: "docker" }, { ui: "rich", model: "b" }), ["runtime"]);
  assert.deepEqual(clearedKeys({ ui: "rich" }, { ui: "rich", model: "b" }), []);
});

test("the status bar shows the step while a task works", () => {
  const s = (state: "running" | "awaiting_user_input" | "finished") => ({ taskId: "t1", conversationId: "c", state, step: 3, maxIterations: 100 });
  assert.equal(statusText(s("running"), "running").text, "$(sync~spin) OpenHands 3/100");
  assert.equal(statusText(s("awaiting_user_input"), "running").text, "$(comment) OpenHands: your turn");
  assert.equal(statusText(null, "missing").text, "$(error) OpenHands");
  assert.equal(busy(s("running")), true);
  assert.equal(busy(s("finished")), false);
});

test("the server is looked for in the setting, then in the extension, then on PATH", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oh-bin-"));
  const exe = (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, "#!/bin/sh\n");
    fs.chmodSync(p, 0o755);
    return p;
  };
  const ext = path.join(dir, "ext");
  const onPath = exe(path.join(dir, "bin", "openhands-lsp"));
  assert.deepEqual(findServer("", ext, `/nowhere:${path.dirname(onPath)}`), { ok: true, path: onPath, from: "PATH" });
  const bundled = exe(path.join(ext, "server", "openhands-lsp"));
  assert.deepEqual(findServer(undefined, ext, path.dirname(onPath)), { ok: true, path: bundled, from: "bundled" });
  assert.deepEqual(findServer(onPath, ext, ""), { ok: true, path: onPath, from: "setting" });
  // A configured path that does not work is reported, not silently replaced by the bundled binary.
  const missing = findServer("/no/such/openhands-lsp", ext, "");
  assert.equal(missing.ok, false);
  assert.match(!missing.ok ? missing.message : "", /\/no\/such\/openhands-lsp \(setting openhands.server.path\) does not exist/);
  fs.writeFileSync(path.join(dir, "plain"), "");
  assert.match(JSON.stringify(findServer(path.join(dir, "plain"), ext, "")), /is not an executable file/);
  assert.match(JSON.stringify(findServer("", path.join(dir, "none"), "")), /was not found: this extension bundles none, and it is not on PATH/);
  fs.rmSync(dir, { recursive: true });
});

test("a server of another major or minor version is named; a patch release or the same version is not", () => {
  assert.equal(versionMismatch("0.1.0", "0.1.0"), undefined);
  assert.equal(versionMismatch("0.1.7", "0.1.0"), undefined);
  assert.equal(versionMismatch("0.2.0", "0.1.0"), "version 0.2.0, and this extension is 0.1.0");
  assert.equal(versionMismatch(undefined, "0.1.0"), "of an unknown version (it does not say)");
});
