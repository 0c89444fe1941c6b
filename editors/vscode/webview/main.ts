// Why this file exists: a PLACEHOLDER renderer for the agent panel so the extension can be built and driven end
// to end before the panel engineer's renderer (branch `panel`) merges; it is replaced by theirs wholesale.

import type { FromPanel, SessionUpdateParams, ToPanel } from "../src/protocol";

declare function acquireVsCodeApi(): { postMessage(m: FromPanel): void };
const vscode = acquireVsCodeApi();
const root = document.getElementById("root") ?? document.body;
const log = document.createElement("div");
const approvals = document.createElement("div");
const status = document.createElement("div");
const input = document.createElement("textarea");
input.placeholder = "Ask OpenHands to do something (Enter sends)";
input.setAttribute("aria-label", "Prompt");
root.append(status, log, approvals, input);
const calls = new Map<string, HTMLElement>();

function el(tag: string, cls: string, text = ""): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

function render(p: SessionUpdateParams): void {
  const u = p.update;
  switch (u.sessionUpdate) {
    case "user_message_chunk":
    case "agent_message_chunk":
    case "agent_thought_chunk":
      log.append(el("div", u.sessionUpdate, u.content.text));
      break;
    case "tool_call": {
      const box = el("div", "tool-call");
      box.append(el("div", "title", u.title));
      calls.set(u.toolCallId, box);
      log.append(box);
      for (const c of u.content ?? []) box.append(content(c));
      break;
    }
    case "tool_call_update":
      for (const c of u.content ?? []) calls.get(u.toolCallId)?.append(content(c));
      break;
    default:
      break;
  }
}

function content(c: NonNullable<Extract<SessionUpdateParams["update"], { sessionUpdate: "tool_call" }>["content"]>[number]): HTMLElement {
  if (c.type === "content") return el("pre", "output", c.content.text);
  const d = el("pre", "diff", `--- ${c.path}\n${(c.oldText ?? "").split("\n").map((l) => "- " + l).join("\n")}\n${c.newText.split("\n").map((l) => "+ " + l).join("\n")}`);
  d.addEventListener("click", () =>
    vscode.postMessage({ type: "openDiff", path: c.path, oldText: c.oldText, newText: c.newText, title: c.path }),
  );
  return d;
}

window.addEventListener("message", (e: MessageEvent<ToPanel>) => {
  const m = e.data;
  switch (m.type) {
    case "reset":
      log.replaceChildren();
      approvals.replaceChildren();
      calls.clear();
      break;
    case "updates":
      m.updates.forEach(render);
      break;
    case "taskState":
      status.textContent = `${m.state.state} ${m.state.step}/${m.state.maxIterations}`;
      break;
    case "approval": {
      const a = m.approval;
      const box = el("div", "approval");
      box.dataset.id = a.approvalId;
      box.append(el("div", "title", `${a.title} (${a.reason})`));
      for (const [label, decision] of [["Allow once", "allow_once"], ["Allow always", "allow_always"], ["Reject", "reject"]] as const) {
        const b = el("button", "", label);
        b.addEventListener("click", () => vscode.postMessage({ type: "approve", approvalId: a.approvalId, decision }));
        box.append(b);
      }
      approvals.append(box);
      break;
    }
    case "approvalResolved":
      approvals.querySelector(`[data-id="${m.resolved.approvalId}"]`)?.remove();
      break;
    case "server":
      if (m.status !== "running") status.textContent = `server ${m.status}${m.message ? ": " + m.message : ""}`;
      break;
    default:
      break;
  }
});

input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && input.value.trim()) {
    e.preventDefault();
    vscode.postMessage({ type: "prompt", text: input.value });
    input.value = "";
  }
});
vscode.postMessage({ type: "ready" });
