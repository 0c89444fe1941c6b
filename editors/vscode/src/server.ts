// Why this file exists: the life of the `openhands-lsp` process (find it, start it with the settings and the API
// key, notice a missing binary or a crash, restart it) behind one small interface the rest of the extension uses.

import * as vscode from "vscode";
import type { LanguageClient, LanguageClientOptions, ServerOptions, ShowDocumentResult } from "vscode-languageclient/node";

import { findServer } from "./binary";
import type { ServerStatus } from "./store";
import { clearedKeys, serverOptions, versionMismatch } from "./settings";

export const SECRET_KEY = "openhands.apiKey";
const RESTART = "Restart server";
const SHOW_LOG = "Show server log";
const OPEN_SETTINGS = "Open settings";

export type Handlers = {
  /** Called with each rich notification once the client runs. */
  notifications: (client: LanguageClient) => void;
  status: (s: ServerStatus) => void;
  /** A `window/showDocument` the extension shows its own way: true when it took it. */
  showDocument?: (uri: string) => boolean;
};

/** A setting's value only where the user set it: the defaults in package.json must not override the server's
 * configuration files (a `runtime` of "docker" in config.toml beats nothing, not the default "local"). */
function userValue(config: vscode.WorkspaceConfiguration): (key: string) => unknown {
  return (key) => {
    const i = config.inspect(key);
    return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
  };
}

/** vscode-languageclient, loaded when the server first starts: evaluating it is most of the bundle's load time,
 * which activation should not pay. */
type Lc = typeof import("vscode-languageclient/node");
let lcModule: Lc | undefined;
async function lc(): Promise<Lc> {
  lcModule ??= await import("vscode-languageclient/node");
  return lcModule;
}
const running = (c: LanguageClient | undefined) => !!c && !!lcModule && c.state === lcModule.State.Running;

export class Server implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private stopping = false;
  /** The current client got through `initialize`: a close from then on is a crash, before it a failed start. */
  private started = false;
  /** The settings the server was last given. */
  private sent: Record<string, unknown> = {};
  readonly log: vscode.OutputChannel;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly handlers: Handlers,
    private readonly trace: (event: string, data?: unknown) => void,
  ) {
    this.log = vscode.window.createOutputChannel("OpenHands");
  }

  /** The running client, starting it when needed; undefined when the server cannot run (the user was told). */
  async ready(): Promise<LanguageClient | undefined> {
    if (running(this.client)) return this.client;
    return this.start();
  }

  start(): Promise<LanguageClient | undefined> {
    this.starting ??= this.launch().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async launch(): Promise<LanguageClient | undefined> {
    const t0 = performance.now();
    const { CloseAction, ErrorAction, LanguageClient, RevealOutputChannelOn } = await lc();
    /** Its own error notifications ("couldn't create connection", "Server initialization failed") would bury
     * ours, which say what to do: it only logs them. */
    class Client extends LanguageClient {
      override error(message: string, data?: unknown): void {
        super.error(message, data, false);
      }
    }
    const config = vscode.workspace.getConfiguration("openhands");
    const found = findServer(config.get<string>("server.path"), this.context.extensionPath, process.env.PATH);
    if (!found.ok) {
      this.log.appendLine(found.message);
      this.handlers.status({ type: "server", status: "missing", message: found.message });
      this.offer(found.message, OPEN_SETTINGS);
      return undefined;
    }
    this.log.appendLine(`OpenHands server: ${found.path} (${found.from})`);
    this.handlers.status({ type: "server", status: "starting" });
    const env: Record<string, string> = {};
    const key = await this.context.secrets.get(SECRET_KEY);
    if (key) env.LLM_API_KEY = key;
    // For an executable, vscode-languageclient hands `env` to spawn as is: the whole environment goes in.
    const server: ServerOptions = { command: found.path, options: { env: { ...process.env, ...env } } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationFailedHandler: () => false,
      initializationOptions: { openhands: (this.sent = serverOptions(userValue(config))) },
      middleware: {
        window: {
          showDocument: async (params, next) => {
            if (this.handlers.showDocument?.(params.uri)) return { success: true };
            // vscode-languageclient's own handler: it answers a result, never an error.
            return (await next(params, new vscode.CancellationTokenSource().token)) as ShowDocumentResult;
          },
        },
      },
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          if (!this.stopping && this.started) this.crashed();
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new Client("openhands", "OpenHands", server, clientOptions);
    this.client = client;
    this.started = false;
    try {
      await client.start();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const message = `The OpenHands server ${found.path} did not start (${why}); what it said is in the server log.`;
      this.log.appendLine(message);
      this.handlers.status({ type: "server", status: "crashed", message });
      this.offer(message, SHOW_LOG);
      return undefined;
    }
    this.started = true;
    this.trace("client.started", { ms: performance.now() - t0, path: found.path, from: found.from });
    const mismatch = versionMismatch(
      client.initializeResult?.serverInfo?.version,
      String(this.context.extension.packageJSON.version ?? ""),
    );
    if (mismatch) {
      const message = `The OpenHands server ${found.path} is ${mismatch}; the panel may miss what it does not know. Install the matching openhands-lsp or set openhands.server.path.`;
      this.log.appendLine(message);
      void vscode.window.showWarningMessage(message, OPEN_SETTINGS).then((choice) => {
        if (choice === OPEN_SETTINGS) void vscode.commands.executeCommand("workbench.action.openSettings", "openhands.server.path");
      });
    }
    this.handlers.notifications(client);
    this.handlers.status({ type: "server", status: "running" });
    return client;
  }

  private crashed(): void {
    this.started = false;
    const message = "The OpenHands server stopped unexpectedly; its last words are in the server log.";
    this.handlers.status({ type: "server", status: "crashed", message });
    this.offer(message, SHOW_LOG);
  }

  /** A notification that says what happened and offers the ways out. */
  private offer(message: string, extra: string): void {
    void vscode.window.showErrorMessage(message, RESTART, extra).then((choice) => {
      if (choice === RESTART) void this.restart();
      else if (choice === SHOW_LOG) this.log.show(true);
      else if (choice === OPEN_SETTINGS) void vscode.commands.executeCommand("workbench.action.openSettings", "openhands.server.path");
    });
  }

  async restart(): Promise<LanguageClient | undefined> {
    await this.stop();
    return this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.state !== (await lc()).State.Stopped) await client.stop(5000);
    } catch (e) {
      this.log.appendLine(`stopping the server: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      this.stopping = false;
      this.handlers.status({ type: "server", status: "stopped" });
    }
  }

  /** `workspace/executeCommand`; the error is the server's sentence. */
  async command<T>(command: string, args: unknown[] = []): Promise<T> {
    const client = await this.ready();
    if (!client) throw new Error("the OpenHands server is not running");
    return (await client.sendRequest("workspace/executeCommand", { command, arguments: args })) as T;
  }

  async request<T>(method: string, params: unknown): Promise<T> {
    const client = await this.ready();
    if (!client) throw new Error("the OpenHands server is not running");
    return client.sendRequest<T>(method, params);
  }

  /** Settings other than the server's path reach the running server; the path (or the key) needs a restart. */
  async configurationChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (e.affectsConfiguration("openhands.server.path")) {
      await this.restart();
      return;
    }
    const client = this.client;
    if (!client || !running(client)) return;
    const options = serverOptions(userValue(vscode.workspace.getConfiguration("openhands")));
    // A setting the user cleared goes as `null`, which puts the server's own value back.
    const cleared = Object.fromEntries(clearedKeys(this.sent, options).map((k) => [k, null]));
    this.sent = options;
    await client.sendNotification("workspace/didChangeConfiguration", { settings: { openhands: { ...cleared, ...options } } });
  }

  dispose(): void {
    void this.stop();
    this.log.dispose();
  }
}
