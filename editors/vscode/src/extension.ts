// Why this file exists: the extension's entry point: wires the server, the conversation, the agent panel, the
// diff documents, the commands and the status bar, and starts the server without making activation wait for it.

import { loadStart } from "./clock";
import * as fs from "node:fs";
import * as vscode from "vscode";

import { Agent } from "./agent";
import { registerCommands } from "./commands";
import { followDiagnostics } from "./diagnostics";
import { DIFF_SCHEME, DiffDocuments } from "./diff";
import { AgentPanel, VIEW_ID } from "./panel";
import { Server } from "./server";

/** When the bundle's modules were all evaluated (loading vscode-languageclient is most of it). */
const loaded = performance.now();
let server: Server | undefined;
/** The current client's diagnostics feed (replaced when the server restarts). */
let diagnostics: vscode.Disposable | undefined;

/** JSON lines to `$OPENHANDS_VSCODE_TRACE` when set: what the end-to-end test reads (timings, panel traffic). */
function tracer(log: () => vscode.OutputChannel | undefined): (event: string, data?: unknown) => void {
  const file = process.env.OPENHANDS_VSCODE_TRACE;
  return (event, data) => {
    const line = JSON.stringify({ t: Date.now(), event, data });
    if (file) fs.appendFileSync(file, line + "\n");
    if (event === "activated" || event === "client.started") log()?.appendLine(`[timing] ${line}`);
  };
}

export function activate(context: vscode.ExtensionContext): void {
  const t0 = performance.now();
  const trace = tracer(() => server?.log);
  const statusItem = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
  statusItem.command = "openhands.vscode.showPanel";
  const diffs = new DiffDocuments();
  // The server calls back into the agent only once it runs, after both exist.
  server = new Server(
    context,
    {
      notifications: (client) => {
        agent.attach(client);
        diagnostics?.dispose();
        diagnostics = followDiagnostics(client);
      },
      status: (s) => agent.serverStatus(s),
      showDocument: (uri): boolean => agent.review.tookDocument(uri),
    },
    trace,
  );
  const agent = new Agent(context, server, diffs, statusItem, trace);
  const panel = new AgentPanel(context.extensionUri, { replay: () => agent.replay(), message: (m) => agent.handle(m) }, trace);
  agent.panel = panel;
  const s = server;
  context.subscriptions.push(
    s,
    statusItem,
    panel,
    vscode.window.registerWebviewViewProvider(VIEW_ID, panel, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.workspace.registerTextDocumentContentProvider(DIFF_SCHEME, diffs),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("openhands")) void s.configurationChanged(e);
    }),
  );
  registerCommands(context, agent, panel, s);
  trace("activated", { ms: performance.now() - t0, load: loaded - loadStart });
  const started = performance.now();
  void s.start().then(() => trace("server.ready", { ms: performance.now() - started, sinceActivate: performance.now() - t0 }));
}

export function deactivate(): Thenable<void> | undefined {
  diagnostics?.dispose();
  return server?.stop();
}
