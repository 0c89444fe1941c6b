// Why this file exists: the agent panel webview's entry point (bundled to dist/webview.js): it mounts the panel,
// passes it the extension host's messages and says `ready` so the host sends the state to show.
//
// The stable `data-testid`s the e2e test (Playwright in code-server) relies on:
//   panel chrome:   prompt (textarea; Enter sends, Shift+Enter is a newline), send, stop, new-conversation,
//                   conversations-toggle, conversation-list, conversation-item (data-conversation-id),
//                   task-state (data-state), usage, plan (li[data-status]), server-status (data-status),
//                   transcript
//   transcript:     message-user, message-agent, thought (a <details>), show-earlier (a long replay's older part),
//                   tool-call (data-status, data-kind, data-tool-call-id) with tool-status,
//                   command-output (execute) or tool-output (other kinds), data-lines; fold-toggle,
//                   diff (data-path, data-added, data-deleted), open-diff
//   changes:        changes (data-mode live|review), change (data-path, data-status, data-added, data-removed,
//                   data-task-id, data-live, data-busy) with change-open, change-counts, change-keep,
//                   change-revert; changes-keep-all,
//                   changes-revert-all, changes-message (data-error)
//   approvals:      approval (data-approval-id, data-outcome), approval-command, approval-outcome,
//                   approve-allow_once, approve-allow_always, approve-reject

import type { FromPanel, ToPanel } from "../src/protocol";
import { Panel } from "./panel";

declare function acquireVsCodeApi(): { postMessage(message: FromPanel): void };

const vscode = acquireVsCodeApi();
// The host's page has `<div id="root">`; the body will do where it does not.
const panel = new Panel(document.getElementById("root") ?? document.body, (m) => vscode.postMessage(m));
window.addEventListener("message", (e: MessageEvent<ToPanel>) => panel.handle(e.data));
vscode.postMessage({ type: "ready" });
