// Why this file exists: the panel's "Changes" section: each file the task changed with its added and removed lines,
// a click for its diff, Keep and Revert per file and for all; replaced whole by each `changes` message.

import type { ChangesView, FromPanel } from "../src/protocol";
import { append, button, clear, el } from "./dom";

/** Rows shown at most: a task that rewrote a whole tree still gets a usable panel (Keep all / Revert all cover all). */
export const MAX_ROWS = 300;

const STATUS_MARK: Record<ChangesView["files"][number]["status"], string> = { added: "A", modified: "M", deleted: "D" };

/** `+3 −1`, or `binary`. */
export function countsText(f: ChangesView["files"][number]): string {
  if (f.binary || f.added === null || f.removed === null) return "binary";
  return `+${f.added} −${f.removed}`;
}

function settledText(v: ChangesView): string {
  const parts = [v.kept ? `${v.kept} kept` : "", v.reverted ? `${v.reverted} reverted` : ""].filter(Boolean);
  return parts.join(", ");
}

/** Replaces `root`'s content with `v`; hidden when there is nothing to say. */
export function renderChanges(doc: Document, root: HTMLElement, v: ChangesView, post: (m: FromPanel) => void): void {
  clear(root);
  const settled = settledText(v);
  root.hidden = v.files.length === 0 && !v.message && !settled;
  root.setAttribute("data-mode", v.mode);
  if (root.hidden) return;
  const reviewable = v.files.filter((f) => !f.live).length;
  // Rows of several runs say which run each is (a reply to the agent starts a new one).
  const runs = new Set(v.files.map((f) => f.taskId));
  const title =
    v.files.length === 0
      ? `Changes · all reviewed${settled ? ` (${settled})` : ""}`
      : `Changes · ${v.files.length} file${v.files.length === 1 ? "" : "s"}${v.running ? " so far" : ""}`;
  const head = el(doc, "div", { class: "changes-head" }, el(doc, "span", { class: "changes-title" }, title));
  if (reviewable > 0) {
    const waits = v.busy ? "" : undefined;
    const actions = el(doc, "span", { class: "changes-actions" });
    head.append(actions);
    actions.append(
      button(doc, "Keep all", { class: "secondary", "data-testid": "changes-keep-all", disabled: waits }, () =>
        post({ type: "changeKeep" }),
      ),
      button(
        doc,
        "Revert all",
        {
          class: "secondary",
          "data-testid": "changes-revert-all",
          disabled: v.busy || v.running ? "" : undefined,
          title: v.running ? "Revert once the task has ended" : undefined,
        },
        () => post({ type: "changeRevert" }),
      ),
    );
  }
  root.appendChild(head);
  if (v.files.length) {
    const list = el(doc, "ul", { class: "changes-files" });
    for (const f of v.files.slice(0, MAX_ROWS)) {
      const row = el(doc, "li", {
        class: `change change-${f.status}${f.live ? " change-live" : ""}`,
        "data-testid": "change",
        "data-path": f.path,
        "data-status": f.status,
        "data-added": f.added === null ? undefined : String(f.added),
        "data-removed": f.removed === null ? undefined : String(f.removed),
        "data-task-id": f.taskId ?? undefined,
        "data-live": f.live ? "" : undefined,
        "data-busy": f.busy ? "" : undefined,
      });
      append(
        row,
        el(doc, "span", { class: "change-mark", title: f.status }, STATUS_MARK[f.status] ?? "M"),
        f.live
          ? el(doc, "span", { class: "change-path", title: "so far: keep or revert it when the task ends" }, f.path)
          : button(doc, f.path, { class: "change-path link", "data-testid": "change-open", title: `Diff of ${f.path}` }, () =>
              post({ type: "changeDiff", path: f.path, taskId: f.taskId }),
            ),
        runs.size > 1 && f.taskId ? el(doc, "span", { class: "change-run" }, f.live ? `${f.taskId} · so far` : f.taskId) : null,
        el(doc, "span", { class: "change-counts", "data-testid": "change-counts" }, countsText(f)),
      );
      if (!f.live) {
        row.append(
          button(
            doc,
            "Keep",
            { class: "secondary", "data-testid": "change-keep", disabled: f.busy ? "" : undefined, title: `Keep ${f.path}` },
            () => post({ type: "changeKeep", path: f.path, taskId: f.taskId }),
          ),
          button(
            doc,
            "Revert",
            {
              class: "secondary",
              "data-testid": "change-revert",
              disabled: f.busy || v.running ? "" : undefined,
              title: v.running ? "Revert once the task has ended" : `Revert ${f.path}`,
            },
            () => post({ type: "changeRevert", path: f.path, taskId: f.taskId }),
          ),
        );
      }
      list.appendChild(row);
    }
    root.appendChild(list);
    if (v.files.length > MAX_ROWS) {
      root.appendChild(
        el(doc, "div", { class: "changes-note", "data-testid": "changes-more" }, `… and ${v.files.length - MAX_ROWS} more files`),
      );
    }
  }
  if (reviewable === 0 && v.files.length) {
    root.appendChild(el(doc, "div", { class: "changes-note" }, "Keep or revert them when the task ends."));
  } else if (settled && v.files.length) {
    root.appendChild(el(doc, "div", { class: "changes-note" }, settled));
  }
  if (v.message) {
    root.appendChild(
      el(
        doc,
        "div",
        {
          class: v.message.error ? "changes-message changes-error" : "changes-message",
          "data-testid": "changes-message",
          "data-error": String(v.message.error),
          role: v.message.error ? "alert" : "status",
        },
        v.message.text,
      ),
    );
  }
}
