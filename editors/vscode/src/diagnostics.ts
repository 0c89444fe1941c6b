// Why this file exists: the agent hears what the user's language servers say about its edits: each change of a
// workspace file's diagnostics goes to openhands-lsp as the opt-in `openhands/diagnostics {uri, diagnostics}`.

import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

/** An editor Diagnostic in LSP's shape (severities count from 1 there, from 0 here). */
function toLsp(d: vscode.Diagnostic): object {
  const at = (p: vscode.Position) => ({ line: p.line, character: p.character });
  return {
    range: { start: at(d.range.start), end: at(d.range.end) },
    severity: d.severity + 1,
    source: d.source,
    message: d.message,
  };
}

/** Sends every workspace file's diagnostics to `client` as they change, until disposed. */
export function followDiagnostics(client: LanguageClient): vscode.Disposable {
  return vscode.languages.onDidChangeDiagnostics((e) => {
    for (const uri of e.uris) {
      if (uri.scheme !== "file" || !vscode.workspace.getWorkspaceFolder(uri)) continue;
      const diagnostics = vscode.languages.getDiagnostics(uri).map(toLsp);
      // A client that stopped meanwhile drops it: nothing to tell the user.
      client.sendNotification("openhands/diagnostics", { uri: uri.toString(), diagnostics }).catch(() => undefined);
    }
  });
}
