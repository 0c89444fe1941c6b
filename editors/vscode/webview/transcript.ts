// Why this file exists: the conversation as it happens: messages, thoughts, tool-call cards and approval cards,
// appended or patched in place as updates arrive, so a long conversation is never rebuilt for one new update.

import type { ApprovalRequest, ApprovalResolved, FromPanel, SessionUpdateParams, Update } from "../src/protocol";
import { ApprovalCard } from "./approval";
import { clear, el, type Scheduler } from "./dom";
import { renderMarkdown } from "./markdown";
import { ToolCard } from "./toolcard";

type MessageKind = "user" | "agent" | "thought";

/** The message chunks are appended to; its Markdown is rendered again once per batch, not per chunk. */
type OpenMessage = { kind: MessageKind; body: HTMLElement; preview: HTMLElement | null; text: string; key: string };

const THOUGHT_PREVIEW_CHARS = 80;

export class Transcript {
  readonly root: HTMLElement;
  private open: OpenMessage | null = null;
  private readonly dirty = new Set<OpenMessage>();
  private readonly tools = new Map<string, ToolCard>();
  private readonly approvals = new Map<string, ApprovalCard>();

  constructor(
    private readonly doc: Document,
    private readonly post: (m: FromPanel) => void,
    private readonly schedule: Scheduler,
  ) {
    this.root = el(doc, "div", { class: "transcript", "data-testid": "transcript", role: "log", "aria-live": "polite" });
  }

  /** Applies one (already deduplicated) transcript update; call `flush` after a batch. */
  apply(p: SessionUpdateParams): void {
    const u: Update = p.update;
    switch (u.sessionUpdate) {
      case "user_message_chunk":
        return this.chunk("user", p, u.content?.text ?? "");
      case "agent_message_chunk":
        return this.chunk("agent", p, u.content?.text ?? "");
      case "agent_thought_chunk":
        return this.chunk("thought", p, u.content?.text ?? "");
      case "tool_call":
      case "tool_call_update": {
        const key = `${p.sessionId}\u0000${u.toolCallId}`;
        let card = this.tools.get(key);
        if (!card) {
          // An update for a call this view never saw (its replay started later) still gets a card.
          card = new ToolCard({ doc: this.doc, post: this.post, schedule: this.schedule }, u.toolCallId);
          this.tools.set(key, card);
          this.add(card.root);
        }
        card.apply(u);
        return;
      }
    }
  }

  approval(a: ApprovalRequest): void {
    if (this.approvals.has(a.approvalId)) return;
    const card = new ApprovalCard(this.doc, a, this.post, this.schedule);
    this.approvals.set(a.approvalId, card);
    this.add(card.root);
  }

  resolved(r: ApprovalResolved): void {
    this.approvals.get(r.approvalId)?.resolve(r);
  }

  /** Renders the messages that got chunks since the last flush. */
  flush(): void {
    for (const m of this.dirty) {
      clear(m.body);
      m.body.appendChild(renderMarkdown(this.doc, m.text));
      if (m.preview) m.preview.textContent = preview(m.text);
    }
    this.dirty.clear();
  }

  reset(): void {
    clear(this.root);
    this.open = null;
    this.dirty.clear();
    this.tools.clear();
    this.approvals.clear();
  }

  /**
   * ACP's chunk rule: consecutive chunks of one kind make one message. This server sends each stored message
   * whole, one chunk per event (seq), so chunks of different seqs are joined as separate paragraphs.
   */
  private chunk(kind: MessageKind, p: SessionUpdateParams, text: string): void {
    if (!text.trim()) return;
    const key = `${p.sessionId}\u0000${p._meta?.seq}`;
    const open = this.open;
    if (open && open.kind === kind) {
      open.text += open.key === key ? text : `\n\n${text}`;
      open.key = key;
      this.dirty.add(open);
      return;
    }
    const body = el(this.doc, "div", { class: "message-body markdown" });
    let preview: HTMLElement | null = null;
    let node: HTMLElement;
    if (kind === "thought") {
      preview = el(this.doc, "span", { class: "thought-preview" });
      node = el(
        this.doc,
        "details",
        { class: "thought", "data-testid": "thought" },
        el(this.doc, "summary", null, el(this.doc, "span", { class: "thought-label" }, "Thought"), preview),
        body,
      );
    } else {
      node = el(
        this.doc,
        "div",
        { class: `message message-${kind}`, "data-testid": `message-${kind}` },
        el(this.doc, "div", { class: "message-role" }, kind === "user" ? "You" : "OpenHands"),
        body,
      );
    }
    this.add(node);
    const m: OpenMessage = { kind, body, preview, text, key };
    this.open = m;
    this.dirty.add(m);
  }

  private add(node: HTMLElement): void {
    this.root.appendChild(node);
    this.open = null;
  }
}

function preview(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > THOUGHT_PREVIEW_CHARS ? `${line.slice(0, THOUGHT_PREVIEW_CHARS)}…` : line;
}
