// Why this file exists: the agent panel as a whole: its layout (status bar, conversation list, transcript, changes,
// plan, prompt box), what each message from the extension host changes, and what the reader's actions post back.

import type { FromPanel, PlanEntry, SessionUpdateParams, TaskState, ToPanel } from "../src/protocol";
import { Dedupe } from "./dedupe";
import { renderChanges } from "./changes";
import { button, defaultScheduler, el, type Scheduler } from "./dom";
import { renderConversations } from "./conversations";
import { RUNNING_STATES, renderPlan, serverText, taskStateText, usageText } from "./status";
import { Transcript } from "./transcript";

export type PanelOptions = { schedule?: Scheduler };

export class Panel {
  private readonly doc: Document;
  private readonly dedupe = new Dedupe();
  private readonly transcript: Transcript;
  private readonly banner: HTMLElement;
  private readonly state: HTMLElement;
  private readonly usage: HTMLElement;
  private readonly list: HTMLElement;
  private readonly plan: HTMLElement;
  private readonly changes: HTMLElement;
  private readonly prompt: HTMLTextAreaElement;
  private readonly stop: HTMLButtonElement;
  private conversationId: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly post: (m: FromPanel) => void,
    options: PanelOptions = {},
  ) {
    const doc = (this.doc = root.ownerDocument);
    const schedule = options.schedule ?? defaultScheduler();
    this.transcript = new Transcript(doc, post, schedule);
    this.banner = el(doc, "div", { class: "banner", "data-testid": "server-status", role: "status", hidden: "" });
    this.state = el(doc, "span", { class: "task-state", "data-testid": "task-state", "data-state": "idle" }, "ready");
    this.usage = el(doc, "span", { class: "usage", "data-testid": "usage", hidden: "" });
    this.list = el(doc, "div", { class: "conversations", "data-testid": "conversation-list", hidden: "" });
    this.plan = el(doc, "section", { class: "plan", "data-testid": "plan", hidden: "" });
    this.changes = el(doc, "section", { class: "changes", "data-testid": "changes", hidden: "" });
    this.prompt = el(doc, "textarea", {
      class: "prompt",
      "data-testid": "prompt",
      rows: "3",
      placeholder: "Ask OpenHands…",
      "aria-label": "Message to OpenHands",
    });
    this.prompt.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.send();
      }
    });
    this.stop = button(doc, "Stop", { class: "stop", "data-testid": "stop", disabled: "" }, () =>
      post({ type: "stop" }),
    );
    const history = button(
      doc,
      "History",
      { class: "secondary", "data-testid": "conversations-toggle", "aria-expanded": "false" },
      () => this.toggleList(),
    );
    const toolbar = el(
      doc,
      "div",
      { class: "toolbar" },
      this.state,
      el(doc, "span", { class: "spacer" }),
      history,
      button(doc, "New conversation", { class: "secondary", "data-testid": "new-conversation" }, () =>
        post({ type: "newConversation" }),
      ),
    );
    const composer = el(
      doc,
      "div",
      { class: "composer" },
      this.prompt,
      el(
        doc,
        "div",
        { class: "composer-row" },
        this.usage,
        el(doc, "span", { class: "spacer" }),
        this.stop,
        button(doc, "Send", { class: "send", "data-testid": "send" }, () => this.send()),
      ),
    );
    root.classList.add("panel");
    root.append(this.banner, toolbar, this.list, this.transcript.root, this.changes, this.plan, composer);
  }

  handle(msg: ToPanel): void {
    switch (msg?.type) {
      case "reset":
        return this.reset(msg.conversationId);
      case "updates":
        return this.updates(msg.updates);
      case "taskState":
        return this.taskState(msg.state);
      case "approval":
        return this.transcript.approval(msg.approval);
      case "approvalResolved":
        return this.transcript.resolved(msg.resolved);
      case "changes":
        return renderChanges(this.doc, this.changes, msg.changes, this.post);
      case "conversations":
        return renderConversations(this.doc, this.list, msg.list ?? [], this.conversationId, this.post, () =>
          this.showList(false),
        );
      case "server": {
        const text = serverText(msg);
        this.banner.textContent = text ?? "";
        this.banner.hidden = text === null;
        this.banner.setAttribute("data-status", msg.status);
        return;
      }
    }
  }

  private updates(batch: SessionUpdateParams[]): void {
    // Plan and usage replace what was there, so only a batch's last one of each is shown.
    let plan: PlanEntry[] | null = null;
    let usage: string | null = null;
    for (const p of batch ?? []) {
      if (!p?.update || !this.dedupe.accept(p)) continue;
      const u = p.update;
      if (u.sessionUpdate === "plan") plan = u.entries ?? [];
      else if (u.sessionUpdate === "usage_update") usage = usageText(u);
      else this.transcript.apply(p);
    }
    if (plan) renderPlan(this.doc, this.plan, plan);
    if (usage !== null) {
      this.usage.textContent = usage;
      this.usage.hidden = false;
    }
    this.transcript.flush();
  }

  private reset(conversationId: string | null): void {
    this.conversationId = conversationId;
    if (conversationId) this.root.setAttribute("data-conversation-id", conversationId);
    else this.root.removeAttribute("data-conversation-id");
    this.transcript.reset();
    this.dedupe.reset();
    renderPlan(this.doc, this.plan, []);
    this.usage.textContent = "";
    this.usage.hidden = true;
    this.state.textContent = "ready";
    this.state.setAttribute("data-state", "idle");
    this.state.removeAttribute("title");
    this.stop.disabled = true;
    this.prompt.placeholder = "Ask OpenHands…";
  }

  private taskState(s: TaskState): void {
    this.state.textContent = taskStateText(s);
    this.state.setAttribute("data-state", s.state);
    if (s.message) this.state.title = s.message;
    else this.state.removeAttribute("title");
    this.stop.disabled = !RUNNING_STATES.has(s.state);
    this.prompt.placeholder = s.state === "awaiting_user_input" ? "Reply…" : "Ask OpenHands…";
  }

  private send(): void {
    const text = this.prompt.value.replace(/\s+$/, "");
    if (!text.trim()) return;
    this.post({ type: "prompt", text });
    this.prompt.value = "";
  }

  private toggleList(): void {
    const show = this.list.hidden;
    this.showList(show);
    if (show) {
      if (!this.list.firstChild)
        this.list.appendChild(el(this.doc, "div", { class: "conversations-empty" }, "Loading…"));
      this.post({ type: "listConversations" });
    }
  }

  private showList(show: boolean): void {
    this.list.hidden = !show;
    this.root.querySelector('[data-testid="conversations-toggle"]')?.setAttribute("aria-expanded", String(show));
  }
}
