// Why this file exists: the conversation as it happens: messages, thoughts, tool-call cards and approval cards,
// appended or patched in place as updates arrive, so a long conversation is never rebuilt for one new update;
// and a long history replayed at once shows its recent part at once and builds the rest as the reader scrolls up.

import type { ApprovalRequest, ApprovalResolved, FromPanel, SessionUpdateParams, Update } from "../src/protocol";
import { ApprovalCard } from "./approval";
import { button, clear, el, type Scheduler } from "./dom";
import { renderMarkdown } from "./markdown";
import { ToolCard } from "./toolcard";

type MessageKind = "user" | "agent" | "thought";

/** Something the transcript shows; its DOM is built when it is first shown. */
type Item = { readonly node: HTMLElement | null; build(): HTMLElement };

/** Items from one batch built at once; older ones of the same batch wait behind a "show earlier" row. */
export const RECENT_ITEMS = 50;
/** Items built per "show earlier" step. */
export const EARLIER_STEP = 50;
/** How close to the bottom (px) the reader must be for new content to keep the view scrolled down. */
const STICK_PX = 48;
/** Frames in which scrolling to the bottom is repeated while off-screen items settle to their real height. */
const FOLLOW_FRAMES = 10;
const THOUGHT_PREVIEW_CHARS = 80;

/** A message; chunks append to its text, and its Markdown is rendered again once per batch, not per chunk. */
class Message implements Item {
  node: HTMLElement | null = null;
  private body: HTMLElement | null = null;
  private preview: HTMLElement | null = null;

  constructor(
    private readonly doc: Document,
    readonly kind: MessageKind,
    public text: string,
    public key: string,
  ) {}

  build(): HTMLElement {
    if (this.node) return this.node;
    const doc = this.doc;
    this.body = el(doc, "div", { class: "message-body markdown" });
    if (this.kind === "thought") {
      this.preview = el(doc, "span", { class: "thought-preview" });
      this.node = el(
        doc,
        "details",
        { class: "thought", "data-testid": "thought" },
        el(doc, "summary", null, el(doc, "span", { class: "thought-label" }, "Thought"), this.preview),
        this.body,
      );
    } else {
      this.node = el(
        doc,
        "div",
        { class: `message message-${this.kind}`, "data-testid": `message-${this.kind}` },
        el(doc, "div", { class: "message-role" }, this.kind === "user" ? "You" : "OpenHands"),
        this.body,
      );
    }
    this.render();
    return this.node;
  }

  render(): void {
    if (!this.body) return;
    clear(this.body);
    this.body.appendChild(renderMarkdown(this.doc, this.text));
    if (this.preview) this.preview.textContent = preview(this.text);
  }
}

export class Transcript {
  readonly root: HTMLElement;
  private open: Message | null = null;
  private readonly dirty = new Set<Message>();
  /** Items added since the last flush, not yet in the DOM. */
  private pending: Item[] = [];
  private readonly tools = new Map<string, ToolCard>();
  private readonly approvals = new Map<string, ApprovalCard>();
  /** Those watching "show earlier" rows, dropped with the view. */
  private readonly observers = new Set<IntersectionObserver>();
  private atBottom = true;
  /** Whether the reader is scrolling (scroll events then say where they are) rather than the panel following. */
  private reading = false;
  private scrollQueued = false;

  constructor(
    private readonly doc: Document,
    private readonly post: (m: FromPanel) => void,
    private readonly schedule: Scheduler,
  ) {
    this.root = el(doc, "div", {
      class: "transcript",
      "data-testid": "transcript",
      role: "log",
      "aria-live": "polite",
    });
    // Where the reader is, read when they scroll (not before each update, so an update never forces a layout).
    // Only the reader's own scrolling counts: content growing under a programmatic scroll is not leaving the bottom.
    const reader = () => (this.reading = true);
    for (const e of ["wheel", "touchstart", "keydown", "mousedown"])
      this.root.addEventListener(e, reader, { passive: true });
    this.root.addEventListener("scroll", () => {
      if (!this.reading) return;
      const t = this.root;
      this.atBottom = t.scrollHeight - t.scrollTop - t.clientHeight <= STICK_PX;
    });
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
          this.add(card);
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
    this.add({ node: card.root, build: () => card.root });
    this.flush();
    // The agent waits on the reader: bring the question into view even if they scrolled away to read.
    this.schedule(() => card.root.scrollIntoView?.({ block: "nearest" }));
  }

  resolved(r: ApprovalResolved): void {
    this.approvals.get(r.approvalId)?.resolve(r);
  }

  /** Shows what the last updates changed: re-renders the messages that got chunks, builds the new items. */
  flush(): void {
    const changed = this.dirty.size > 0 || this.pending.length > 0;
    for (const m of this.dirty) m.render();
    this.dirty.clear();
    const items = this.pending;
    this.pending = [];
    if (items.length > RECENT_ITEMS) {
      this.root.appendChild(this.earlier(items.slice(0, items.length - RECENT_ITEMS)));
      this.mount(items.slice(items.length - RECENT_ITEMS));
    } else this.mount(items);
    if (changed && this.atBottom && !this.scrollQueued) {
      this.scrollQueued = true;
      this.schedule(() => this.toBottom(FOLLOW_FRAMES));
    }
  }

  /**
   * Scrolls to the bottom, and again in the next frames while items that were only estimated (content-visibility)
   * come into view at their real height and push the bottom further down.
   */
  private toBottom(frames: number): void {
    if (!this.atBottom) {
      this.scrollQueued = false;
      return;
    }
    const t = this.root;
    this.reading = false;
    t.scrollTop = t.scrollHeight;
    if (frames > 1) this.schedule(() => this.toBottom(frames - 1));
    else this.scrollQueued = false;
  }

  reset(): void {
    for (const o of this.observers) o.disconnect();
    this.observers.clear();
    clear(this.root);
    this.open = null;
    this.dirty.clear();
    this.pending = [];
    this.tools.clear();
    this.approvals.clear();
    this.atBottom = true;
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
      if (open.node) this.dirty.add(open);
      return;
    }
    const m = new Message(this.doc, kind, text, key);
    this.add(m);
    this.open = m;
  }

  private add(item: Item): void {
    this.pending.push(item);
    this.open = null;
  }

  private mount(items: Item[]): void {
    const frag = this.doc.createDocumentFragment();
    for (const item of items) frag.appendChild(item.build());
    this.root.appendChild(frag);
  }

  /** A row standing for `items` (older, unbuilt); clicking it, or scrolling it into view, builds the newest of them. */
  private earlier(items: Item[]): HTMLElement {
    const label = () => `Show ${items.length.toLocaleString("en-US")} earlier item${items.length === 1 ? "" : "s"}`;
    let observer: IntersectionObserver | null = null;
    const row = button(this.doc, label(), { class: "show-earlier", "data-testid": "show-earlier" }, () => step());
    const step = () => {
      const chunk = items.splice(Math.max(0, items.length - EARLIER_STEP));
      const frag = this.doc.createDocumentFragment();
      for (const item of chunk) frag.appendChild(item.build());
      // Inserted below the row, so the row stays the oldest thing shown. The reader's place is kept by the browser's
      // scroll anchoring, except at the very top where it does not apply: there the panel keeps it.
      const t = this.root;
      const top = t.scrollTop;
      const height = t.scrollHeight;
      row.after(frag);
      if (t.scrollTop === top && t.scrollHeight > height) t.scrollTop = top + (t.scrollHeight - height);
      if (items.length === 0) {
        if (observer) {
          observer.disconnect();
          this.observers.delete(observer);
        }
        row.remove();
        return;
      }
      row.textContent = label();
      if (observer) {
        // Observing again reports the row's state now: still in view (a short step) means another step.
        observer.unobserve(row);
        observer.observe(row);
      }
    };
    const IO = this.doc.defaultView?.IntersectionObserver;
    if (IO) {
      observer = new IO((entries) => entries.some((e) => e.isIntersecting) && step(), {
        root: this.root,
        rootMargin: "600px 0px 0px 0px",
      });
      observer.observe(row);
      this.observers.add(observer);
    }
    return row;
  }
}

function preview(text: string): string {
  const line = text.trim().replace(/\s+/g, " ");
  return line.length > THOUGHT_PREVIEW_CHARS ? `${line.slice(0, THOUGHT_PREVIEW_CHARS)}…` : line;
}
