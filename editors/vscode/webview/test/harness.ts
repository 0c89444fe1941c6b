// Why this file exists: what every panel test needs: a happy-dom document with a mounted Panel, the messages it
// posted, a hand-run scheduler for the lazily built folds, and builders for the host's messages.

import { Window } from "happy-dom";
import type { FromPanel, SessionUpdateParams, ToPanel, Update } from "../../src/protocol";
import { Panel } from "../panel";

export type Mounted = {
  window: Window;
  doc: Document;
  panel: Panel;
  posted: FromPanel[];
  /** Tasks the panel scheduled (fold chunks), run by `drain`. */
  queued: (() => void)[];
  drain(): number;
  send(...msgs: ToPanel[]): void;
  q(testid: string, root?: ParentNode): HTMLElement;
  qa(testid: string, root?: ParentNode): HTMLElement[];
  key(target: HTMLElement, key: string, init?: { shiftKey?: boolean }): void;
};

export function newDocument(): { window: Window; doc: Document } {
  const window = new Window();
  return { window, doc: window.document as unknown as Document };
}

export function mount(): Mounted {
  const { window, doc } = newDocument();
  const posted: FromPanel[] = [];
  const queued: (() => void)[] = [];
  const panel = new Panel(doc.body, (m) => posted.push(m), { schedule: (t) => queued.push(t) });
  const qa = (testid: string, root: ParentNode = doc) =>
    Array.from(root.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`));
  return {
    window,
    doc,
    panel,
    posted,
    queued,
    drain() {
      let n = 0;
      while (queued.length) {
        queued.shift()!();
        n++;
      }
      return n;
    },
    send: (...msgs) => msgs.forEach((m) => panel.handle(m)),
    q(testid, root = doc) {
      const found = qa(testid, root);
      if (found.length !== 1) throw new Error(`expected one [data-testid="${testid}"], found ${found.length}`);
      return found[0];
    },
    qa,
    key(target, key, init = {}) {
      const KeyboardEvent = window.KeyboardEvent as unknown as typeof globalThis.KeyboardEvent;
      target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init }));
    },
  };
}

export function params(seq: number, update: Update, sessionId = "conv-1"): SessionUpdateParams {
  return { sessionId, _meta: { seq, taskId: "task-1" }, update };
}

export function updates(...list: SessionUpdateParams[]): ToPanel {
  return { type: "updates", updates: list };
}

export const text = (t: string) => ({ type: "text" as const, text: t });
export const user = (t: string): Update => ({ sessionUpdate: "user_message_chunk", content: text(t) });
export const agent = (t: string): Update => ({ sessionUpdate: "agent_message_chunk", content: text(t) });
export const thought = (t: string): Update => ({ sessionUpdate: "agent_thought_chunk", content: text(t) });

/** A node's markup, for whole-value comparisons (reading it; the panel itself never writes markup). */
export function html(node: Element | DocumentFragment): string {
  if ("innerHTML" in node) return node.innerHTML;
  const div = node.ownerDocument!.createElement("div");
  div.appendChild(node.cloneNode(true));
  return div.innerHTML;
}
