// Why this file exists: the list of stored conversations the reader can go back to, with enough (title, state,
// date, cost) to pick one; choosing one asks the host to resume it.

import type { ConversationSummary, FromPanel } from "../src/protocol";
import { button, clear, el } from "./dom";
import { money } from "./status";

export function renderConversations(
  doc: Document,
  root: HTMLElement,
  list: ConversationSummary[],
  current: string | null,
  post: (m: FromPanel) => void,
  onPick: () => void,
): void {
  clear(root);
  root.appendChild(el(doc, "div", { class: "conversations-title" }, "Conversations"));
  if (list.length === 0) {
    root.appendChild(el(doc, "div", { class: "conversations-empty" }, "No conversations yet."));
    return;
  }
  const ul = el(doc, "ul", { class: "conversations-list" });
  for (const c of list) {
    const item = button(
      doc,
      "",
      {
        class: "conversation",
        "data-testid": "conversation-item",
        "data-conversation-id": c.conversationId,
        "data-current": c.conversationId === current ? "true" : undefined,
        title: c.workspace,
      },
      () => {
        post({ type: "resume", conversationId: c.conversationId });
        onPick();
      },
    );
    item.append(
      el(doc, "span", { class: "conversation-title" }, c.title || "(untitled)"),
      el(doc, "span", { class: "conversation-meta" }, `${c.state} · ${formatDate(c.updatedAt)} · ${money(c.cost)}`),
    );
    ul.appendChild(el(doc, "li", null, item));
  }
  root.appendChild(ul);
}

/** `2026-12-06 15:40` in local time, or the string as given when it is not a date. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
