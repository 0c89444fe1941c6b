// Why this file exists: the palette commands ("OpenHands: ..."). Their ids live under `openhands.vscode.*`:
// vscode-languageclient registers a VS Code command for each of the server's own (`openhands.task.start`, ...).

import * as vscode from "vscode";

import type { Agent } from "./agent";
import type { AgentPanel } from "./panel";
import { SECRET_KEY, type Server } from "./server";

export function registerCommands(
  context: vscode.ExtensionContext,
  agent: Agent,
  panel: AgentPanel,
  server: Server,
): void {
  const register = (id: string, f: () => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(`openhands.vscode.${id}`, f));

  register("newTask", async () => {
    const prompt = await vscode.window.showInputBox({
      title: "OpenHands: new task",
      prompt: "What should the agent do?",
      placeHolder: "make the failing test pass",
      ignoreFocusOut: true,
    });
    if (!prompt?.trim()) return;
    await panel.focus();
    await agent.startNew({ prompt });
  });

  register("taskFromSelection", async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage("OpenHands: open a file and select what the task is about first.");
      return;
    }
    const selected = editor.document.getText(editor.selection).trim();
    const prompt = await vscode.window.showInputBox({
      title: "OpenHands: task from selection",
      prompt: "What should the agent do with the selection?",
      value: selected.length <= 200 && !selected.includes("\n") ? selected : "",
      ignoreFocusOut: true,
    });
    if (!prompt?.trim()) return;
    await panel.focus();
    await agent.startNew({ prompt, uri: editor.document.uri.toString(), range: editor.selection });
  });

  register("reply", async () => {
    const text = await vscode.window.showInputBox({
      title: "OpenHands: reply",
      prompt: "Your answer to the agent",
      ignoreFocusOut: true,
    });
    if (text?.trim()) await agent.reply(text);
  });

  register("stop", () => agent.stop());
  register("openTranscript", () => agent.openTranscript());
  register("showLog", () => server.log.show(true));
  register("restartServer", () => server.restart());
  register("showPanel", () => panel.focus());

  register("resumeConversation", async () => {
    const list = await agent.conversations();
    if (!list) return;
    if (!list.length) {
      void vscode.window.showInformationMessage("OpenHands: no conversations yet.");
      return;
    }
    const picked = await vscode.window.showQuickPick(
      list.map((c) => ({
        label: c.title || c.conversationId,
        description: `${c.state} · ${c.updatedAt}`,
        detail: c.workspace,
        id: c.conversationId,
      })),
      { title: "OpenHands: resume conversation", matchOnDescription: true, matchOnDetail: true },
    );
    if (!picked) return;
    await panel.focus();
    await agent.resume(picked.id);
  });

  register("setApiKey", async () => {
    const key = await vscode.window.showInputBox({
      title: "OpenHands: set API key",
      prompt: "The LLM provider's API key; kept in VS Code's secret storage. Leave empty to remove it.",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return;
    if (key.trim()) await context.secrets.store(SECRET_KEY, key.trim());
    else await context.secrets.delete(SECRET_KEY);
    // The key reaches the server in its environment, so it takes a new process.
    await server.restart();
    void vscode.window.showInformationMessage(
      key.trim() ? "OpenHands: API key saved; the server restarted with it." : "OpenHands: API key removed.",
    );
  });
}
