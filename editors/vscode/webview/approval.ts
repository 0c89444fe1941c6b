// Why this file exists: the agent asks before risky actions; this card shows what it wants to do (the command, or
// the edit as a diff) and why, posts the reader's decision, and then shows how the request was settled.

import type { ApprovalRequest, ApprovalResolved, Decision, FromPanel } from "../src/protocol";
import { button, el, type Scheduler } from "./dom";
import { renderDiff } from "./diffview";

const DECISIONS: { decision: Decision; label: string }[] = [
  { decision: "allow_once", label: "Allow once" },
  { decision: "allow_always", label: "Allow for this conversation" },
  { decision: "reject", label: "Reject" },
];

const OUTCOME: Record<ApprovalResolved["decision"], string> = {
  allow_once: "Allowed once",
  allow_always: "Allowed for this conversation",
  reject: "Rejected",
  timeout: "Timed out: not run",
  cancelled: "Cancelled: the task ended",
};

export class ApprovalCard {
  readonly root: HTMLElement;
  private readonly buttons: HTMLButtonElement[];
  private readonly outcome: HTMLElement;
  private resolved = false;

  constructor(doc: Document, a: ApprovalRequest, post: (m: FromPanel) => void, schedule: Scheduler) {
    this.buttons = DECISIONS.map(({ decision, label }) =>
      button(doc, label, { class: `approve approve-${decision}`, "data-testid": `approve-${decision}` }, () => {
        if (this.resolved) return;
        post({ type: "approve", approvalId: a.approvalId, decision });
        // Answered, not yet settled: `approvalResolved` says what the server made of it.
        this.disable();
        this.root.setAttribute("data-outcome", "sent");
        this.outcome.textContent = `${label}: sent`;
      }),
    );
    this.outcome = el(doc, "div", { class: "approval-outcome", "data-testid": "approval-outcome" });
    const diff = a.diff;
    this.root = el(
      doc,
      "div",
      {
        class: "approval",
        "data-testid": "approval",
        "data-approval-id": a.approvalId,
        "data-kind": a.kind,
        role: "group",
      },
      el(doc, "div", { class: "approval-title" }, el(doc, "span", { class: "approval-label" }, "Approve? "), a.title),
      a.reason ? el(doc, "div", { class: "approval-reason" }, a.reason) : null,
      a.command ? el(doc, "pre", { class: "approval-command", "data-testid": "approval-command" }, a.command) : null,
      diff
        ? renderDiff(
            doc,
            diff,
            () =>
              post({ type: "openDiff", path: diff.path, oldText: diff.oldText, newText: diff.newText, title: a.title }),
            schedule,
          )
        : null,
      el(doc, "div", { class: "approval-buttons" }, ...this.buttons),
      this.outcome,
    );
  }

  resolve(r: ApprovalResolved): void {
    this.resolved = true;
    this.disable();
    this.root.setAttribute("data-outcome", r.decision);
    this.outcome.textContent = OUTCOME[r.decision] ?? r.decision;
  }

  private disable(): void {
    for (const b of this.buttons) b.disabled = true;
    this.root.classList.add("approval-done");
  }
}
