// Why this file exists: the one-line facts around the conversation (the task's state and step, tokens and cost,
// the server's health) and the plan, each a small view replaced whole by the message that carries it.

import type { PlanEntry, TaskState, ToPanel, Update } from "../src/protocol";
import { clear, el } from "./dom";

type Usage = Extract<Update, { sessionUpdate: "usage_update" }>;
type ServerStatus = Extract<ToPanel, { type: "server" }>;

/** States in which a task runs and Stop means something. */
export const RUNNING_STATES: ReadonlySet<TaskState["state"]> = new Set([
  "starting",
  "running",
  "awaiting_approval",
  "retrying",
]);

export function taskStateText(s: TaskState): string {
  const step = s.maxIterations > 0 ? ` · step ${s.step}/${s.maxIterations}` : s.step > 0 ? ` · step ${s.step}` : "";
  const why = (fallback: string) => (s.message ? `${fallback}: ${s.message}` : fallback);
  switch (s.state) {
    case "starting":
      return "starting…";
    case "running":
      return `running${step}`;
    case "awaiting_approval":
      return `waiting for your approval${step}`;
    case "retrying":
      return why("retrying");
    case "finished":
      return "finished";
    case "awaiting_user_input":
      return "waiting for your answer";
    case "stopped":
      return "stopped";
    case "error":
      return why("failed");
    default:
      return String(s.state);
  }
}

export function usageText(u: Usage): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const cached = u.cachedTokens ? ` (${n(u.cachedTokens)} cached)` : "";
  const cost = u.cost ? ` · ${money(u.cost.amount, u.cost.currency)}` : "";
  return `${n(u.promptTokens ?? 0)} in${cached} · ${n(u.completionTokens ?? 0)} out${cost}`;
}

export function money(amount: number, currency = "USD"): string {
  const digits = amount !== 0 && Math.abs(amount) < 1 ? 4 : 2;
  const v = amount.toFixed(digits);
  return currency === "USD" ? `$${v}` : `${v} ${currency}`;
}

const PLAN_MARK: Record<PlanEntry["status"], string> = { pending: "☐", in_progress: "◐", completed: "☑" };

/** Replaces the plan's list with `entries` (each `plan` update is the whole plan); hides it when empty. */
export function renderPlan(doc: Document, root: HTMLElement, entries: PlanEntry[]): void {
  clear(root);
  root.hidden = entries.length === 0;
  if (root.hidden) return;
  const done = entries.filter((e) => e.status === "completed").length;
  const list = el(doc, "ol", { class: "plan-entries" });
  for (const e of entries) {
    list.appendChild(
      el(
        doc,
        "li",
        { class: `plan-entry plan-${e.status}`, "data-status": e.status, "data-priority": e.priority },
        el(doc, "span", { class: "plan-mark", "aria-hidden": "true" }, PLAN_MARK[e.status] ?? "☐"),
        el(doc, "span", { class: "plan-content" }, String(e.content)),
      ),
    );
  }
  root.appendChild(el(doc, "div", { class: "plan-title" }, `Plan · ${done}/${entries.length} done`));
  root.appendChild(list);
}

/** The banner's text for a server status, or null when there is nothing to say (it runs). */
export function serverText(s: ServerStatus): string | null {
  const detail = s.message ? ` ${s.message}` : "";
  switch (s.status) {
    case "running":
      return null;
    case "starting":
      return "Starting the OpenHands server…";
    case "stopped":
      return `The OpenHands server stopped.${detail}`;
    case "crashed":
      return `The OpenHands server crashed.${detail}`;
    case "missing":
      return `The OpenHands server was not found.${detail}`;
    default:
      return `OpenHands server: ${String(s.status)}.${detail}`;
  }
}
