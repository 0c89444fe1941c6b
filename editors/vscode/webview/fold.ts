// Why this file exists: command output and diffs can run to 100,000 lines; only the first few are built at once,
// and the rest is built in chunks, one per scheduled task, after the reader asks for it, so the panel never freezes.

import { button, el, type Scheduler } from "./dom";

/** Lines shown before the fold. */
export const FOLD_LINES = 20;
/** Lines built per scheduled task once unfolded. */
export const CHUNK_LINES = 2000;

/**
 * Renders items `[0, total)` of something line-like into `body` through `render(start, end, into)`, the first
 * `shown` now and the rest on demand; returns the toggle to place after `body`, or null when nothing is folded.
 */
export function foldLines(
  doc: Document,
  body: HTMLElement,
  total: number,
  render: (start: number, end: number, into: HTMLElement) => void,
  schedule: Scheduler,
  shown = FOLD_LINES,
  noun = "lines",
): HTMLButtonElement | null {
  if (total <= shown) {
    render(0, total, body);
    return null;
  }
  render(0, shown, body);
  // Each chunk is a block of its own: appending one lays out only it, not the whole text again (and panel.css lets
  // the browser skip chunks out of view), so a 100,000-line unfold costs about what the visible lines cost.
  const rest = el(doc, "div", { class: "fold-rest", hidden: "" });
  body.appendChild(rest);
  let built = shown;
  let expanded = false;
  let pumping = false;
  const showAll = `Show all ${total.toLocaleString("en-US")} ${noun}`;
  const pump = () => {
    pumping = false;
    if (!expanded || built >= total) return;
    const end = Math.min(total, built + CHUNK_LINES);
    const chunk = el(doc, "div", { class: "fold-chunk" });
    render(built, end, chunk);
    rest.appendChild(chunk);
    built = end;
    toggle.setAttribute("data-built", String(built));
    if (built < total) {
      pumping = true;
      schedule(pump);
    }
  };
  const toggle = button(
    doc,
    showAll,
    { class: "fold-toggle", "data-testid": "fold-toggle", "data-built": String(built) },
    () => {
      expanded = !expanded;
      rest.hidden = !expanded;
      toggle.textContent = expanded ? `Show the first ${shown} ${noun}` : showAll;
      toggle.setAttribute("aria-expanded", String(expanded));
      if (expanded && !pumping && built < total) {
        pumping = true;
        schedule(pump);
      }
    },
  );
  toggle.setAttribute("aria-expanded", "false");
  return toggle;
}
