// Why this file exists: an edit shown as the reader knows it from review tools: the file, +/- counts, the changed
// lines in colour with a little context, folded when long, and a button opening VS Code's own diff editor.

import { button, el, type Scheduler } from "./dom";
import { diffLines, diffRows, textLines, type DiffRow } from "./diff";
import { foldLines } from "./fold";
import { MAX_LINE_CHARS } from "./output";

/** Diff rows shown before the fold (a diff reads in larger pieces than output does). */
export const DIFF_ROWS_SHOWN = 20;

export type DiffSource = { path: string; oldText: string | null; newText: string };

export function renderDiff(doc: Document, diff: DiffSource, onOpen: () => void, schedule: Scheduler): HTMLElement {
  const lines = diffLines(textLines(diff.oldText), textLines(diff.newText));
  let added = 0;
  let deleted = 0;
  for (const l of lines) {
    if (l.kind === "add") added++;
    else if (l.kind === "del") deleted++;
  }
  const rows = diffRows(lines);
  const head = el(
    doc,
    "div",
    { class: "diff-head" },
    el(doc, "span", { class: "diff-path", title: diff.path }, diff.path),
    diff.oldText === null ? el(doc, "span", { class: "diff-new" }, "new file") : null,
    el(
      doc,
      "span",
      { class: "diff-stat" },
      el(doc, "span", { class: "diff-stat-add" }, `+${added}`),
      " ",
      el(doc, "span", { class: "diff-stat-del" }, `−${deleted}`),
    ),
    button(
      doc,
      "Open diff",
      { class: "open-diff", "data-testid": "open-diff", title: "Open in VS Code's diff editor" },
      onOpen,
    ),
  );
  const body = el(doc, "div", { class: "diff-body" });
  const root = el(
    doc,
    "div",
    {
      class: "diff",
      "data-testid": "diff",
      "data-path": diff.path,
      "data-added": String(added),
      "data-deleted": String(deleted),
    },
    head,
    body,
  );
  if (rows.length === 0) body.appendChild(el(doc, "div", { class: "diff-empty" }, "No changes"));
  const toggle = foldLines(
    doc,
    body,
    rows.length,
    (start, end, into) => renderRows(doc, rows, start, end, into),
    schedule,
    DIFF_ROWS_SHOWN,
    "diff lines",
  );
  if (toggle) root.appendChild(toggle);
  return root;
}

const SIGN = { ctx: " ", del: "-", add: "+" } as const;

function renderRows(doc: Document, rows: DiffRow[], start: number, end: number, into: HTMLElement): void {
  const frag = doc.createDocumentFragment();
  for (let i = start; i < end; i++) {
    const row = rows[i];
    if (row.kind === "skip") {
      frag.appendChild(
        el(doc, "div", { class: "diff-line diff-skip" }, `⋯ ${row.count} unchanged line${row.count === 1 ? "" : "s"}`),
      );
      continue;
    }
    const no = row.kind === "del" ? row.oldNo : row.newNo;
    const text = row.text.length > MAX_LINE_CHARS ? `${row.text.slice(0, MAX_LINE_CHARS)} …` : row.text;
    frag.appendChild(
      el(
        doc,
        "div",
        { class: `diff-line diff-${row.kind}` },
        el(doc, "span", { class: "diff-no" }, String(no)),
        `${SIGN[row.kind]} ${text}`,
      ),
    );
  }
  into.appendChild(frag);
}
