// Why this file exists: shows an agent's edit in VS Code's own diff editor: the two texts become read-only
// virtual documents of our `openhands-diff` scheme, served from memory.

import * as path from "node:path";
import * as vscode from "vscode";

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

  /** The diff editor from `oldText` to the document at `right` (a file: the user may edit it there). */
  async openAgainst(file: string, oldText: string, right: vscode.Uri | null, title: string): Promise<void> {
    this.next++;
    const left = this.put("before", file, oldText);
    await vscode.commands.executeCommand("vscode.diff", left, right ?? this.put("after", file, ""), title, {
      preview: true,
    });
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
