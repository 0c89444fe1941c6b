// Why this file exists: hosts the agent panel's webview in its activity-bar view: its HTML (the bundled
// renderer from `dist/`, a strict CSP), and the message pipe, which posts nothing before the webview said
// `ready` and then replays the whole conversation, so no update is lost to a closed or reloading panel.

import * as vscode from "vscode";

import type { FromPanel, ToPanel } from "./protocol";

export const VIEW_ID = "openhands.agent";

export type PanelHandlers = {
  /** Everything the panel needs to show the current state from scratch (sent on each `ready`). */
  replay: () => ToPanel[];
  message: (m: FromPanel) => void;
};

export class AgentPanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private subscriptions: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly handlers: PanelHandlers,
    private readonly trace: (event: string, data?: unknown) => void,
  ) {}

  get visible(): boolean {
    return !!this.view?.visible;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    for (const s of this.subscriptions) s.dispose();
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, "dist");
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = html(view.webview, dist);
    this.subscriptions = [
      view.webview.onDidReceiveMessage((m: FromPanel) => this.received(m)),
      view.onDidDispose(() => {
        if (this.view === view) {
          this.view = undefined;
          this.ready = false;
        }
      }),
    ];
  }

  private received(m: FromPanel): void {
    this.trace("fromPanel", m);
    if (m?.type === "ready") {
      this.ready = true;
      for (const msg of this.handlers.replay()) this.deliver(msg);
      return;
    }
    this.handlers.message(m);
  }

  /** Posts to the panel once it is ready; before that the replay on `ready` carries the message's news. */
  post(m: ToPanel): void {
    if (this.ready) this.deliver(m);
  }

  /** Sends the whole state again (after a conversation switch or updates that arrived out of order). */
  replay(): void {
    if (!this.ready) return;
    for (const msg of this.handlers.replay()) this.deliver(msg);
  }

  private deliver(m: ToPanel): void {
    const view = this.view;
    if (!view) return;
    this.trace("toPanel", m.type === "updates" ? { type: m.type, count: m.updates.length } : m);
    void view.webview.postMessage(m).then((delivered) => {
      // A webview that went away loses the message; it says `ready` again when it comes back.
      if (!delivered && this.view === view) this.ready = false;
    });
  }

  async focus(): Promise<void> {
    await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}

function html(webview: vscode.Webview, dist: vscode.Uri): string {
  const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.js"));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, "panel.css"));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>OpenHands</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
