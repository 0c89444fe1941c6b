// Why this file exists: one tool call as a card (what it does, its kind and status, its output or diff) that
// `tool_call_update`s patch in place, since a call and its result arrive as separate updates.

import type { FromPanel, ToolContent, Update } from "../src/protocol";
import { clear, el, type Scheduler } from "./dom";
import { renderDiff } from "./diffview";
import { renderOutput } from "./output";

type ToolCall = Extract<Update, { sessionUpdate: "tool_call" }>;
type ToolCallUpdate = Extract<Update, { sessionUpdate: "tool_call_update" }>;
export type ToolKind = ToolCall["kind"];
export type ToolStatus = ToolCall["status"];

const KIND: Record<ToolKind, { icon: string; label: string }> = {
  execute: { icon: "›_", label: "Run" },
  read: { icon: "≡", label: "Read" },
  edit: { icon: "✎", label: "Edit" },
  fetch: { icon: "⇣", label: "Fetch" },
  other: { icon: "⚙", label: "Tool" },
};

const STATUS: Record<ToolStatus, string> = {
  pending: "pending",
  in_progress: "in progress",
  completed: "completed",
  failed: "failed",
};

export type CardContext = { doc: Document; post: (m: FromPanel) => void; schedule: Scheduler };

export class ToolCard {
  readonly root: HTMLElement;
  private readonly icon: HTMLElement;
  private readonly kindLabel: HTMLElement;
  private readonly title: HTMLElement;
  private readonly exit: HTMLElement;
  private readonly status: HTMLElement;
  private readonly command: HTMLElement;
  private readonly body: HTMLElement;
  private kind: ToolKind = "other";

  constructor(
    private readonly ctx: CardContext,
    id: string,
  ) {
    const doc = ctx.doc;
    this.icon = el(doc, "span", { class: "tool-icon", "aria-hidden": "true" });
    this.kindLabel = el(doc, "span", { class: "tool-kind" });
    this.title = el(doc, "span", { class: "tool-title" }, id);
    this.exit = el(doc, "span", { class: "tool-exit", hidden: "" });
    this.status = el(doc, "span", { class: "tool-status", "data-testid": "tool-status" });
    this.command = el(doc, "pre", { class: "tool-command", hidden: "" });
    this.body = el(doc, "div", { class: "tool-body" });
    this.root = el(
      doc,
      "div",
      { class: "tool-call", "data-testid": "tool-call", "data-tool-call-id": id },
      el(doc, "div", { class: "tool-head" }, this.icon, this.kindLabel, this.title, this.exit, this.status),
      this.command,
      this.body,
    );
    this.setKind("other");
    this.setStatus("pending");
  }

  /** Applies a `tool_call` (everything it carries) or a `tool_call_update` (only the fields it carries). */
  apply(u: ToolCall | ToolCallUpdate): void {
    if (u.sessionUpdate === "tool_call") {
      this.setKind(u.kind);
      this.title.textContent = u.title;
      const input = u.rawInput as { command?: unknown } | undefined;
      const command = u.kind === "execute" && typeof input?.command === "string" ? input.command : "";
      // The title shortens long commands; the whole one is shown under it.
      this.command.textContent = command && !u.title.includes(command) ? command : "";
      this.command.hidden = !this.command.textContent;
    }
    if (u.status) this.setStatus(u.status);
    if (u.sessionUpdate === "tool_call_update" && u.rawOutput && typeof u.rawOutput.exitCode === "number") {
      const code = u.rawOutput.exitCode;
      this.exit.textContent = `exit ${code}`;
      this.exit.hidden = false;
      this.exit.setAttribute("data-exit-code", String(code));
      this.exit.classList.toggle("tool-exit-failed", code !== 0);
    }
    // As in ACP, content that comes is the call's whole content: it replaces what was there.
    if (u.content) this.setContent(u.content);
  }

  private setKind(kind: ToolKind): void {
    const k = KIND[kind] ?? KIND.other;
    this.kind = KIND[kind] ? kind : "other";
    this.root.setAttribute("data-kind", this.kind);
    this.icon.textContent = k.icon;
    this.kindLabel.textContent = k.label;
  }

  private setStatus(status: ToolStatus): void {
    this.root.setAttribute("data-status", status);
    this.status.textContent = STATUS[status] ?? status;
  }

  private setContent(content: ToolContent[]): void {
    const { doc, post, schedule } = this.ctx;
    clear(this.body);
    for (const block of content) {
      if (block.type === "diff") {
        const open = () =>
          post({ type: "openDiff", path: block.path, oldText: block.oldText, newText: block.newText, title: this.title.textContent ?? block.path });
        this.body.appendChild(renderDiff(doc, block, open, schedule));
      } else if (block.type === "content" && block.content?.type === "text") {
        if (!block.content.text) continue;
        const testid = this.kind === "execute" ? "command-output" : "tool-output";
        this.body.appendChild(renderOutput(doc, block.content.text, testid, schedule));
      }
    }
  }
}
