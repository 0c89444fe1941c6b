// Why this file exists: a tool's text output (a command's above all) shown as a terminal would show it: escape
// codes applied or dropped, carriage-return progress lines collapsed, very long lines cut, long output folded.

import { isControl, parseAnsi, plainStyle, type AnsiStyle } from "./ansi";
import { el, type Scheduler } from "./dom";
import { foldLines } from "./fold";

/** Longer lines (minified files, base64) are cut: one such line would otherwise fill the panel. */
export const MAX_LINE_CHARS = 4000;

export function splitOutput(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** `<div data-testid=…><pre>…</pre>[toggle]</div>`; styles carry across lines, as in a terminal. */
export function renderOutput(doc: Document, text: string, testid: string, schedule: Scheduler): HTMLElement {
  const lines = splitOutput(text);
  const pre = el(doc, "pre", { class: "output-text" });
  const root = el(doc, "div", { class: "output", "data-testid": testid, "data-lines": String(lines.length) }, pre);
  const style = plainStyle();
  const toggle = foldLines(
    doc,
    pre,
    lines.length,
    (start, end, into) => renderLines(doc, lines, start, end, into, style),
    schedule,
  );
  if (toggle) root.appendChild(toggle);
  return root;
}

function renderLines(
  doc: Document,
  lines: string[],
  start: number,
  end: number,
  into: HTMLElement,
  style: AnsiStyle,
): void {
  // Unstyled text of consecutive lines goes into one text node: most output has no escapes at all.
  let plain = "";
  for (let k = start; k < end; k++) {
    let line = lines[k];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const cr = line.lastIndexOf("\r");
    if (cr >= 0) {
      parseAnsi(line.slice(0, cr), style); // overwritten text still sets the style
      line = line.slice(cr + 1);
    }
    let cut = "";
    if (line.length > MAX_LINE_CHARS) {
      cut = ` … (${(line.length - MAX_LINE_CHARS).toLocaleString("en-US")} more characters)`;
      line = line.slice(0, MAX_LINE_CHARS);
    }
    if (isPlain(style) && !hasControls(line)) plain += line;
    else {
      for (const seg of parseAnsi(line, style)) {
        if (!seg.classes) {
          plain += seg.text;
          continue;
        }
        if (plain) into.appendChild(doc.createTextNode(plain));
        plain = "";
        into.appendChild(el(doc, "span", { class: seg.classes }, seg.text));
      }
    }
    if (cut) {
      if (plain) into.appendChild(doc.createTextNode(plain));
      plain = "";
      into.appendChild(el(doc, "span", { class: "output-cut" }, cut));
    }
    plain += "\n";
  }
  if (plain) into.appendChild(doc.createTextNode(plain));
}

function isPlain(s: AnsiStyle): boolean {
  return s.fg === null && s.bg === null && !s.bold && !s.dim && !s.italic && !s.underline && !s.strike;
}

function hasControls(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    if (isControl(line.charCodeAt(i))) return true;
  }
  return false;
}
