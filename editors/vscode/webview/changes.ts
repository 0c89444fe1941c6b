// Why this file exists: the panel's "Changes" section: each file the task changed with its added and removed lines,
// a click for its diff, Keep and Revert per file and for all; replaced whole by each `changes` message.

import type { ChangesView, FromPanel } from "../src/protocol";
import { button, clear, el } from "./dom";

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
  const reviewing = v.mode === "review";
  const all = v.busy.includes("*");
  const waits = (path: string) => all || v.busy.includes(path);
  const title =
    v.files.length === 0
      ? `Changes · all reviewed${settled ? ` (${settled})` : ""}`
      : `Changes · ${v.files.length} file${v.files.length === 1 ? "" : "s"}${reviewing ? "" : " so far"}`;
  const head = el(doc, "div", { class: "changes-head" }, el(doc, "span", { class: "changes-title" }, title));
  if (reviewing && v.files.length > 0) {
    const disabled = v.busy.length > 0 ? "" : undefined;
    head.append(
      el(doc, "span", { class: "spacer" }),
      button(doc, "Keep all", { class: "secondary", "data-testid": "changes-keep-all", disabled }, () =>
        post({ type: "changeKeep" }),
      ),
      button(doc, "Revert all", { class: "secondary", "data-testid": "changes-revert-all", disabled }, () =>
        post({ type: "changeRevert" }),
      ),
    );
  }
  root.appendChild(head);
  if (v.files.length) {
    const list = el(doc, "ul", { class: "changes-files" });
    for (const f of v.files) {
      const row = el(doc, "li", {
        class: `change change-${f.status}`,
        "data-testid": "change",
        "data-path": f.path,
        "data-status": f.status,
        "data-added": f.added === null ? undefined : String(f.added),
        "data-removed": f.removed === null ? undefined : String(f.removed),
      });
      if (waits(f.path)) row.setAttribute("data-busy", "");
      row.append(
        el(doc, "span", { class: "change-mark", title: f.status }, STATUS_MARK[f.status] ?? "M"),
        reviewing
          ? button(doc, f.path, { class: "change-path link", "data-testid": "change-open", title: `Diff of ${f.path}` }, () =>
              post({ type: "changeDiff", path: f.path }),
            )
          : el(doc, "span", { class: "change-path" }, f.path),
        el(doc, "span", { class: "change-counts", "data-testid": "change-counts" }, countsText(f)),
      );
      if (reviewing) {
        const disabled = waits(f.path) ? "" : undefined;
        row.append(
          button(doc, "Keep", { class: "secondary", "data-testid": "change-keep", disabled, title: `Keep ${f.path}` }, () =>
            post({ type: "changeKeep", path: f.path }),
          ),
          button(doc, "Revert", { class: "secondary", "data-testid": "change-revert", disabled, title: `Revert ${f.path}` }, () =>
            post({ type: "changeRevert", path: f.path }),
          ),
        );
      }
      list.appendChild(row);
    }
    root.appendChild(list);
  }
  if (!reviewing && v.files.length) {
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
