// Drives `openhands-lsp acp` with the official ACP TypeScript SDK as a real client (tests/agent/acp.rs).
// Usage: node driver.mjs <scenario> <agent binary> <cwd> [session id]; the agent's environment is inherited.
// Prints one JSON report on stdout: every session/update in order, the requests the agent made, the answers.
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { client, methods, ndJsonStream } from "@agentclientprotocol/sdk";

const [scenario, bin, cwd, sessionArg] = process.argv.slice(2);
const agentProc = spawn(bin, ["acp"], { stdio: ["pipe", "pipe", "inherit"] });
const stream = ndJsonStream(Writable.toWeb(agentProc.stdin), Readable.toWeb(agentProc.stdout));

const report = {
  scenario, updates: [], permissions: [], reads: [], writes: [], terminals: [], kills: [], releases: [], results: {},
};
// Scenario knobs, set before each step.
const knobs = {
  permission: "allow_once", write: "apply", onUpdate: null, terminal: false, terminalCreate: "run",
};
// The client's terminals: real processes spawned here, as an editor would.
const terminals = new Map();
let terminalsCreated = 0;
const terminal = (id) => {
  const t = terminals.get(id);
  if (!t) throw new Error(`no terminal ${id}`);
  return t;
};
const exitStatus = (t) => t.exit && {
  ...(t.exit.code !== null ? { exitCode: t.exit.code } : {}),
  ...(t.exit.signal ? { signal: t.exit.signal } : {}),
};
const never = new Promise(() => {});

const app = client({ name: "acp-driver" })
  .onNotification(methods.client.session.update, (ctx) => {
    report.updates.push(ctx.params.update);
    if (knobs.onUpdate) knobs.onUpdate(ctx.params, ctx.agent);
  })
  .onRequest(methods.client.session.requestPermission, async (ctx) => {
    report.permissions.push(ctx.params);
    if (knobs.permission === "never") return never;
    return { outcome: { outcome: "selected", optionId: knobs.permission } };
  })
  .onRequest(methods.client.fs.readTextFile, async (ctx) => {
    report.reads.push(ctx.params.path);
    return { content: readFileSync(ctx.params.path, "utf8") };
  })
  .onRequest(methods.client.fs.writeTextFile, async (ctx) => {
    report.writes.push({ path: ctx.params.path, content: ctx.params.content });
    if (knobs.write === "never") return never;
    if (knobs.write === "refuse") throw new Error("the user closed the buffer");
    writeFileSync(ctx.params.path, ctx.params.content);
    return {};
  })
  .onRequest(methods.client.terminal.create, async (ctx) => {
    const p = ctx.params;
    report.terminals.push({ command: p.command, args: p.args, cwd: p.cwd });
    if (knobs.terminalCreate === "never") return never;
    terminalsCreated += 1;
    const id = `term-${terminalsCreated}`;
    const proc = spawn(p.command, p.args ?? [], { cwd: p.cwd, stdio: ["ignore", "pipe", "pipe"] });
    const t = { proc, output: "", exit: null, waiters: [] };
    proc.stdout.on("data", (d) => { t.output += d; });
    proc.stderr.on("data", (d) => { t.output += d; });
    proc.on("exit", (code, signal) => {
      t.exit = { code, signal };
      for (const w of t.waiters) w(exitStatus(t));
    });
    terminals.set(id, t);
    return { terminalId: id };
  })
  .onRequest(methods.client.terminal.output, async (ctx) => {
    const t = terminal(ctx.params.terminalId);
    return { output: t.output, truncated: false, ...(t.exit ? { exitStatus: exitStatus(t) } : {}) };
  })
  .onRequest(methods.client.terminal.waitForExit, async (ctx) => {
    const t = terminal(ctx.params.terminalId);
    if (t.exit) return exitStatus(t);
    return new Promise((resolve) => t.waiters.push(resolve));
  })
  .onRequest(methods.client.terminal.kill, async (ctx) => {
    report.kills.push(ctx.params.terminalId);
    terminal(ctx.params.terminalId).proc.kill("SIGKILL");
    return {};
  })
  .onRequest(methods.client.terminal.release, async (ctx) => {
    report.releases.push(ctx.params.terminalId);
    const t = terminal(ctx.params.terminalId);
    if (!t.exit) t.proc.kill("SIGKILL");
    terminals.delete(ctx.params.terminalId);
    return {};
  });

async function init(agent) {
  report.results.initialize = await agent.request(methods.agent.initialize, {
    protocolVersion: 1,
    clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: knobs.terminal },
  });
}

async function prompt(agent, sessionId, text) {
  const r = await agent.request(methods.agent.session.prompt, {
    sessionId,
    prompt: [{ type: "text", text }],
  });
  report.updates.push({ sessionUpdate: "(prompt response)", stopReason: r.stopReason });
  return r;
}

const scenarios = {
  // A whole task: a risky command asked and allowed, an edit through fs/write_text_file, a plan; then a
  // second prompt in the same session.
  async task(agent) {
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    report.results.new = s;
    report.results.first = await prompt(agent, s.sessionId, "clean up and write the notes");
    report.results.second = await prompt(agent, s.sessionId, "and now?");
  },
  // session/cancel while a command runs.
  async cancel(agent) {
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    let cancelled = false;
    knobs.onUpdate = (note, ctx) => {
      const u = note.update;
      if (!cancelled && u.sessionUpdate === "tool_call" && u.kind === "execute") {
        cancelled = true;
        report.results.cancelAt = Date.now();
        ctx.notify(methods.agent.session.cancel, { sessionId: s.sessionId });
      }
    };
    report.results.first = await prompt(agent, s.sessionId, "run the long command");
    report.results.cancelTookMs = Date.now() - report.results.cancelAt;
    knobs.onUpdate = null;
    report.results.second = await prompt(agent, s.sessionId, "go on");
  },
  // The client never answers the permission request nor the write: the agent gives up on both.
  async silent(agent) {
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    await agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "ask" });
    knobs.permission = "never";
    knobs.write = "never";
    report.results.first = await prompt(agent, s.sessionId, "try things");
  },
  // A write the client refuses or never answers (DRIVER_WRITE), in full-auto mode (no permission asked).
  async refuse(agent) {
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    await agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "full-auto" });
    knobs.write = process.env.DRIVER_WRITE || "refuse";
    report.results.first = await prompt(agent, s.sessionId, "write it");
  },
  // Plan mode: a turn with read-only tools that ends with its plan, then the same conversation acts in
  // auto-edit mode.
  async plan(agent) {
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    report.results.new = s;
    await agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "plan" });
    report.results.first = await prompt(agent, s.sessionId, "add the notes");
    report.results.writesAfterPlan = report.writes.length;
    report.results.notesAfterPlan = existsSync(`${cwd}/notes.txt`);
    await agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "auto-edit" });
    report.results.second = await prompt(agent, s.sessionId, "go ahead");
  },
  // Commands in the client's terminal (a client that offers one; the agent decides by its setting), in
  // full-auto mode. DRIVER_TERMINAL=never: the client never answers terminal/create.
  // DRIVER_TERMINAL=cancel: session/cancel once the tool call shows a terminal.
  async terminal(agent) {
    knobs.terminal = true;
    knobs.terminalCreate = process.env.DRIVER_TERMINAL || "run";
    await init(agent);
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    await agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "full-auto" });
    if (knobs.terminalCreate === "cancel") {
      let cancelled = false;
      knobs.onUpdate = (note, ctx) => {
        const c = note.update.content;
        if (!cancelled && Array.isArray(c) && c[0] && c[0].type === "terminal") {
          cancelled = true;
          report.results.cancelAt = Date.now();
          ctx.notify(methods.agent.session.cancel, { sessionId: s.sessionId });
        }
      };
    }
    report.results.first = await prompt(agent, s.sessionId, "run things");
    if (report.results.cancelAt) report.results.cancelTookMs = Date.now() - report.results.cancelAt;
    report.results.leftRunning = [...terminals.values()].filter((t) => !t.exit).length;
  },
  // A stored session: listed, loaded (replayed), continued.
  async load(agent) {
    await init(agent);
    report.results.list = await agent.request(methods.agent.session.list, { cwd });
    report.results.load = await agent.request(methods.agent.session.load, {
      sessionId: sessionArg, cwd, mcpServers: [],
    });
    report.updates.push({ sessionUpdate: "(load response)" });
    report.results.next = await prompt(agent, sessionArg, "one more thing");
  },
  // Errors the client sees as JSON-RPC errors, and the agent still serving after them.
  async errors(agent) {
    await init(agent);
    const errors = {};
    const attempt = async (name, f) => {
      try { await f(); errors[name] = null; } catch (e) { errors[name] = { code: e.code, message: e.message }; }
    };
    await attempt("unknownSession", () => prompt(agent, "0123456789ab", "hi"));
    await attempt("relativeCwd", () => agent.request(methods.agent.session.new, { cwd: "rel", mcpServers: [] }));
    await attempt("loadMissing", () => agent.request(methods.agent.session.load, { sessionId: "abcdefabcdef", cwd, mcpServers: [] }));
    const s = await agent.request(methods.agent.session.new, { cwd, mcpServers: [] });
    await attempt("badMode", () => agent.request(methods.agent.session.setMode, { sessionId: s.sessionId, modeId: "yolo" }));
    await attempt("image", () => agent.request(methods.agent.session.prompt, {
      sessionId: s.sessionId, prompt: [{ type: "image", data: "AAAA", mimeType: "image/png" }],
    }));
    await attempt("unknownMethod", () => agent.request("session/frobnicate", {}));
    report.results.errors = errors;
    report.results.stillServing = await agent.request(methods.agent.session.list, { cwd });
  },
};

const timer = setTimeout(() => {
  console.log(JSON.stringify({ ...report, error: "the driver timed out" }));
  agentProc.kill();
  process.exit(2);
}, 60000);
try {
  await app.connectWith(stream, scenarios[scenario]);
  console.log(JSON.stringify(report));
} catch (e) {
  console.log(JSON.stringify({ ...report, error: String(e && e.stack || e) }));
}
clearTimeout(timer);
agentProc.stdin.end();
agentProc.kill();
process.exit(0);
