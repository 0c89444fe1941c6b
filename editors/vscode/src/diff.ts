// Why this file exists: shows an agent's edit, or a task's change to a file, in VS Code's own diff editor: the
// texts become read-only virtual documents of our `openhands-diff` scheme, served from memory.

import * as path from "node:path";
import * as vscode from "vscode";

import { reverseApply } from "./unidiff";

export const DIFF_SCHEME = "openhands-diff";
/** Texts kept for diffs the user opened; old ones are dropped so a long session does not grow without end. */
const KEEP = 200;

export class DiffDocuments implements vscode.TextDocumentContentProvider {
  private texts = new Map<string, string>();
  private next = 0;

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.path) ?? "";
  }

  private put(side: string, file: string, text: string): vscode.Uri {
    const id = `/${this.next}/${side}/${path.basename(file) || "file"}`;
    this.texts.set(id, text);
    while (this.texts.size > KEEP * 2) this.texts.delete(this.texts.keys().next().value as string);
    return vscode.Uri.from({ scheme: DIFF_SCHEME, path: id });
  }

  /**
   * A task's change to `file` (workspace-relative) in the diff editor: the text before the task (the server's
   * `diff` undone on the file as it is now) beside the file itself, which the user may edit there. Where that
   * cannot be rebuilt (the file changed since, a binary file), the server's read-only diff document at `uri`.
   */
  async openTaskChange(root: vscode.Uri, file: string, diff: string, uri: string): Promise<boolean> {
    const target = vscode.Uri.joinPath(root, file);
    let now: string | null = null;
    try {
      now = (await vscode.workspace.openTextDocument(target)).getText();
    } catch {
      // Deleted: shown against an empty side.
    }
    const before = reverseApply(diff, now ?? "");
    if (before === undefined) {
      await vscode.window.showTextDocument(vscode.Uri.parse(uri), { preview: true });
      return false;
    }
    this.next++;
    const left = this.put("before", file, before);
    const right = now === null ? this.put("after", file, "") : target;
    await vscode.commands.executeCommand("vscode.diff", left, right, `${file} (task's change)`, { preview: true });
    return true;
  }

  async open(file: string, oldText: string | null, newText: string, title: string): Promise<void> {
    this.next++;
    const left = this.put("before", file, oldText ?? "");
    const right = this.put("after", file, newText);
    await vscode.commands.executeCommand("vscode.diff", left, right, title || `OpenHands: ${path.basename(file)}`, {
      preview: true,
    });
  }
}
