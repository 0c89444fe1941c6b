// Why this file exists: one tool call as a card (what it does, its kind and status, its output or diff) that
// `tool_call_update`s patch in place, since a call and its result arrive as separate updates. The card keeps the
// call's state and builds its DOM only when the transcript shows it, so calls far back in history cost no nodes.

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

type Parts = {
  root: HTMLElement;
  icon: HTMLElement;
  kind: HTMLElement;
  title: HTMLElement;
  exit: HTMLElement;
  status: HTMLElement;
  command: HTMLElement;
  body: HTMLElement;
};

export class ToolCard {
  private kind: ToolKind = "other";
  private title: string;
  private status: ToolStatus = "pending";
  private command = "";
  private exitCode: number | null = null;
  private content: ToolContent[] = [];
  private parts: Parts | null = null;

  constructor(
    private readonly ctx: CardContext,
    readonly id: string,
  ) {
    this.title = id;
  }

  /** The card's element, once built. */
  get node(): HTMLElement | null {
    return this.parts?.root ?? null;
  }

  /** Applies a `tool_call` (everything it carries) or a `tool_call_update` (only the fields it carries). */
  apply(u: ToolCall | ToolCallUpdate): void {
    if (u.sessionUpdate === "tool_call") {
      this.kind = KIND[u.kind] ? u.kind : "other";
      this.title = u.title ?? this.id;
      const input = u.rawInput as { command?: unknown } | undefined;
      const command = u.kind === "execute" && typeof input?.command === "string" ? input.command : "";
      // The title shortens long commands; the whole one is shown under it.
      this.command = command && !this.title.includes(command) ? command : "";
    }
    if (u.status) this.status = u.status;
    if (u.sessionUpdate === "tool_call_update" && typeof u.rawOutput?.exitCode === "number")
      this.exitCode = u.rawOutput.exitCode;
    // As in ACP, content that comes is the call's whole content: it replaces what was there.
    if (u.content) this.content = u.content;
    if (this.parts) {
      this.syncHead(this.parts);
      if (u.content) this.syncBody(this.parts);
    }
  }

  build(): HTMLElement {
    if (this.parts) return this.parts.root;
    const doc = this.ctx.doc;
    const icon = el(doc, "span", { class: "tool-icon", "aria-hidden": "true" });
    const kind = el(doc, "span", { class: "tool-kind" });
    const title = el(doc, "span", { class: "tool-title" });
    const exit = el(doc, "span", { class: "tool-exit", hidden: "" });
    const status = el(doc, "span", { class: "tool-status", "data-testid": "tool-status" });
    const command = el(doc, "pre", { class: "tool-command", hidden: "" });
    const body = el(doc, "div", { class: "tool-body" });
    const root = el(
      doc,
      "div",
      { class: "tool-call", "data-testid": "tool-call", "data-tool-call-id": this.id },
      el(doc, "div", { class: "tool-head" }, icon, kind, title, exit, status),
      command,
      body,
    );
    const p: Parts = { root, icon, kind, title, exit, status, command, body };
    this.parts = p;
    this.syncHead(p);
    this.syncBody(p);
    return p.root;
  }

  private syncHead(p: Parts): void {
    const k = KIND[this.kind];
    p.root.setAttribute("data-kind", this.kind);
    p.root.setAttribute("data-status", this.status);
    p.icon.textContent = k.icon;
    p.kind.textContent = k.label;
    p.title.textContent = this.title;
    p.title.title = this.title;
    p.status.textContent = STATUS[this.status] ?? this.status;
    p.command.textContent = this.command;
    p.command.hidden = !this.command;
    if (this.exitCode !== null) {
      p.exit.textContent = `exit ${this.exitCode}`;
      p.exit.hidden = false;
      p.exit.setAttribute("data-exit-code", String(this.exitCode));
      p.exit.classList.toggle("tool-exit-failed", this.exitCode !== 0);
    }
  }

  private syncBody(p: Parts): void {
    const { doc, post, schedule } = this.ctx;
    clear(p.body);
    for (const block of this.content) {
      if (block.type === "diff") {
        const open = () =>
          post({
            type: "openDiff",
            path: block.path,
            oldText: block.oldText,
            newText: block.newText,
            title: this.title,
          });
        p.body.appendChild(renderDiff(doc, block, open, schedule));
      } else if (block.type === "content" && block.content?.type === "text" && block.content.text) {
        const testid = this.kind === "execute" ? "command-output" : "tool-output";
        p.body.appendChild(renderOutput(doc, block.content.text, testid, schedule));
      }
    }
  }
}
