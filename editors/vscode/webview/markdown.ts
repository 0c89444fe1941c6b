// Why this file exists: messages are untrusted model output written in Markdown; this small renderer turns the
// subset chat models use into DOM nodes built one by one, so raw HTML in a message can only ever show as text.
//
// Blocks: paragraphs, ATX headings, fenced code, bullet/ordered/task lists (nested by indentation), block quotes,
// GFM tables, rules. Inline: code spans, **bold**, *italic*, ~~strike~~, backslash escapes, hard breaks, and
// links, images and autolinks shown as text (a link is never clickable: the URL is shown beside its text).

import { el } from "./dom";

/** Nesting deeper than this (quotes in lists in quotes…) renders as plain text instead of recursing. */
const MAX_DEPTH = 12;

export function renderMarkdown(doc: Document, source: string): DocumentFragment {
  const out = doc.createDocumentFragment();
  blocks(doc, source.replace(/\r\n?/g, "\n").split("\n"), out, 0);
  return out;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:([ \t]+)(.*))?$/;
const TABLE_RULE = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

function blank(line: string): boolean {
  return line.trim() === "";
}

function indentOf(line: string): number {
  let n = 0;
  while (n < line.length && line[n] === " ") n++;
  return n;
}

/** Whether `line` starts a block that ends a paragraph (lazy continuation lines are the rest). */
function startsBlock(line: string): boolean {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || isItem(line);
}

function isItem(line: string): boolean {
  const m = ITEM.exec(line);
  return m !== null && m[4] !== undefined && m[4].trim() !== "";
}

function blocks(doc: Document, lines: string[], out: Node, depth: number): void {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (blank(line)) {
      i++;
      continue;
    }
    if (depth >= MAX_DEPTH) {
      out.appendChild(el(doc, "p", null, lines.slice(i).join("\n")));
      return;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      i = codeBlock(doc, lines, i, fence, out);
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const h = doc.createElement(`h${heading[1].length}` as "h1");
      h.className = "md-heading";
      inline(doc, heading[2] ?? "", h, 0);
      out.appendChild(h);
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.appendChild(el(doc, "hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const inner: string[] = [];
      while (i < lines.length && !blank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        if (!q && startsBlock(lines[i])) break;
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      const quote = el(doc, "blockquote");
      blocks(doc, inner, quote, depth + 1);
      out.appendChild(quote);
      continue;
    }
    if (isItem(line)) {
      i = list(doc, lines, i, out, depth);
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && lines[i + 1].includes("|") && TABLE_RULE.test(lines[i + 1])) {
      i = table(doc, lines, i, out);
      continue;
    }
    const para: string[] = [line];
    i++;
    while (i < lines.length && !blank(lines[i]) && !startsBlock(lines[i])) para.push(lines[i++]);
    const p = el(doc, "p");
    inline(doc, para.map((l) => l.replace(/^[ \t]+/, "")).join("\n"), p, 0);
    out.appendChild(p);
  }
}

function codeBlock(doc: Document, lines: string[], start: number, fence: RegExpExecArray, out: Node): number {
  const indent = fence[1].length;
  const marker = fence[2];
  const body: string[] = [];
  let i = start + 1;
  for (; i < lines.length; i++) {
    const l = lines[i];
    const t = l.trim();
    if (indentOf(l) < 4 && t.length >= marker.length && t === marker[0].repeat(t.length)) {
      i++;
      break;
    }
    body.push(l.slice(Math.min(indent, indentOf(l))));
  }
  const code = el(doc, "code", fence[3] ? { "data-lang": fence[3] } : null, body.join("\n"));
  out.appendChild(el(doc, "pre", { class: "md-code" }, code));
  return i;
}

type ItemStart = { indent: number; ordered: boolean; marker: string; width: number; text: string; start: number };

function itemStart(line: string): ItemStart | null {
  const m = ITEM.exec(line);
  if (!m || m[4] === undefined || m[4].trim() === "") return null;
  const ordered = /\d/.test(m[2][0]);
  const spaces = m[3].length > 4 ? 1 : m[3].length;
  return {
    indent: m[1].length,
    ordered,
    marker: ordered ? m[2].slice(-1) : m[2],
    width: m[1].length + m[2].length + spaces,
    text: m[3].length > 4 ? m[3].slice(1) + m[4] : m[4],
    start: ordered ? parseInt(m[2], 10) : 1,
  };
}

/** One list: each item's lines are de-indented and rendered as blocks, which is how nested lists come out. */
function list(doc: Document, lines: string[], start: number, out: Node, depth: number): number {
  const first = itemStart(lines[start])!;
  const listEl = first.ordered
    ? el(doc, "ol", first.start !== 1 ? { start: String(first.start) } : null)
    : el(doc, "ul");
  let i = start;
  while (i < lines.length) {
    const head = itemStart(lines[i]);
    if (!head || head.ordered !== first.ordered || head.marker !== first.marker || head.indent >= first.width) break;
    const body: string[] = [head.text];
    i++;
    while (i < lines.length) {
      const l = lines[i];
      if (blank(l)) {
        // A blank line continues the item only if what follows it is indented into the item.
        let j = i;
        while (j < lines.length && blank(lines[j])) j++;
        if (j < lines.length && indentOf(lines[j]) >= head.width) {
          for (; i < j; i++) body.push("");
          continue;
        }
        break;
      }
      if (indentOf(l) >= head.width) body.push(l.slice(head.width));
      else if (!startsBlock(l) && !blank(body[body.length - 1])) body.push(l.trim());
      else break;
      i++;
    }
    const li = el(doc, "li");
    const task = /^\[([ xX])\][ \t]+/.exec(body[0]);
    if (task) {
      li.className = "md-task";
      li.setAttribute("data-checked", String(task[1] !== " "));
      body[0] = (task[1] === " " ? "☐ " : "☑ ") + body[0].slice(task[0].length);
    }
    blocks(doc, body, li, depth + 1);
    listEl.appendChild(li);
    // Skip blank lines between items of the same list.
    let j = i;
    while (j < lines.length && blank(lines[j])) j++;
    const next = j < lines.length ? itemStart(lines[j]) : null;
    if (next && next.ordered === first.ordered && next.marker === first.marker && next.indent < first.width) i = j;
    else break;
  }
  out.appendChild(listEl);
  return i;
}

function cells(row: string): string[] {
  let r = row.trim();
  if (r.startsWith("|")) r = r.slice(1);
  if (r.endsWith("|") && !r.endsWith("\\|")) r = r.slice(0, -1);
  const out: string[] = [];
  let cur = "";
  for (let k = 0; k < r.length; k++) {
    if (r[k] === "\\" && r[k + 1] === "|") {
      cur += "|";
      k++;
    } else if (r[k] === "|") {
      out.push(cur.trim());
      cur = "";
    } else cur += r[k];
  }
  out.push(cur.trim());
  return out;
}

function table(doc: Document, lines: string[], start: number, out: Node): number {
  const head = cells(lines[start]);
  const tableEl = el(doc, "table", { class: "md-table" });
  const tr = el(doc, "tr");
  for (const c of head) {
    const th = el(doc, "th");
    inline(doc, c, th, 0);
    tr.appendChild(th);
  }
  tableEl.appendChild(el(doc, "thead", null, tr));
  const tbody = el(doc, "tbody");
  let i = start + 2;
  for (; i < lines.length && !blank(lines[i]) && lines[i].includes("|"); i++) {
    const row = el(doc, "tr");
    const cs = cells(lines[i]);
    for (let k = 0; k < head.length; k++) {
      const td = el(doc, "td");
      inline(doc, cs[k] ?? "", td, 0);
      row.appendChild(td);
    }
    tbody.appendChild(row);
  }
  tableEl.appendChild(tbody);
  out.appendChild(tableEl);
  return i;
}

const PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

function isSpace(c: string | undefined): boolean {
  return c === undefined || c === " " || c === "\t" || c === "\n";
}

function isWord(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

/** Per inline run: for each delimiter, the smallest start from which no closer was found (so "*a *b *c…" stays linear). */
type Misses = Map<string, number>;

/** Where the emphasis opened at `from` with `delim` closes, or -1. */
function closing(s: string, from: number, delim: string, misses: Misses): number {
  if (from >= (misses.get(delim) ?? Infinity)) return -1;
  const found = findClosing(s, from, delim, misses);
  if (found < 0) misses.set(delim, Math.min(from, misses.get(delim) ?? Infinity));
  return found;
}

function findClosing(s: string, from: number, delim: string, misses: Misses): number {
  const ch = delim[0];
  for (let j = from; j < s.length; j++) {
    if (s[j] === "\\") {
      j++;
      continue;
    }
    if (s[j] === "`") {
      // Code spans bind tighter than emphasis: skip over one.
      const run = runLength(s, j, "`");
      const end = s.indexOf("`".repeat(run), j + run);
      if (end >= 0) j = end + run - 1;
      continue;
    }
    if (delim.length === 1 && s[j] === ch && s[j + 1] === ch && !isSpace(s[j + 2])) {
      // `*a **b** c*`: a double delimiter inside a single one opens a nested strong span.
      const inner = closing(s, j + 3, ch + ch, misses);
      if (inner >= 0) {
        j = inner + 1;
        continue;
      }
    }
    if (!s.startsWith(delim, j) || isSpace(s[j - 1])) continue;
    let end = j;
    while (s[end + delim.length] === ch) end++; // `***x***`: close at the end of the run
    if (ch === "_" && isWord(s[end + delim.length])) continue;
    return end;
  }
  return -1;
}

function runLength(s: string, i: number, ch: string): number {
  let n = 0;
  while (s[i + n] === ch) n++;
  return n;
}

/** Link texts and URLs longer than this are not links: bounds the scan for a closing bracket. */
const MAX_LINK_CHARS = 2048;

/** The index of the `close` bracket matching the `open` one at `from`, or -1. */
function matching(s: string, from: number, open: string, close: string): number {
  let level = 0;
  const end = Math.min(s.length, from + MAX_LINK_CHARS);
  for (let j = from; j < end; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === open) level++;
    else if (s[j] === close && --level === 0) return j;
  }
  return -1;
}

function inline(doc: Document, s: string, out: Node, depth: number): void {
  if (depth >= MAX_DEPTH) {
    out.appendChild(doc.createTextNode(s));
    return;
  }
  let text = "";
  const misses: Misses = new Map();
  const flush = () => {
    if (text) out.appendChild(doc.createTextNode(text));
    text = "";
  };
  const span = (tag: "strong" | "em" | "del", inner: string) => {
    flush();
    const node = el(doc, tag);
    inline(doc, inner, node, depth + 1);
    out.appendChild(node);
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\" && i + 1 < s.length && PUNCTUATION.includes(s[i + 1])) {
      text += s[++i];
    } else if (c === "\n") {
      const hard = text.endsWith("  ") || text.endsWith("\\");
      text = text.replace(/[ \t\\]+$/, "");
      if (hard) {
        flush();
        out.appendChild(el(doc, "br"));
      } else text += " ";
    } else if (c === "`") {
      const run = runLength(s, i, "`");
      const end = findRun(s, i + run, run, misses);
      if (end < 0) {
        text += "`".repeat(run);
        i += run - 1;
        continue;
      }
      let code = s.slice(i + run, end).replace(/\n/g, " ");
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
      flush();
      out.appendChild(el(doc, "code", { class: "md-code-span" }, code));
      i = end + run - 1;
    } else if ((c === "*" || c === "_" || c === "~") && s[i + 1] === c && !isSpace(s[i + 2])) {
      const delim = c + c;
      const end = c === "_" && isWord(s[i - 1]) ? -1 : closing(s, i + 3, delim, misses);
      if (end < 0) {
        text += delim;
        i++;
        continue;
      }
      span(c === "~" ? "del" : "strong", s.slice(i + 2, end));
      i = end + 1;
    } else if ((c === "*" || c === "_") && !isSpace(s[i + 1])) {
      const end = c === "_" && isWord(s[i - 1]) ? -1 : closing(s, i + 2, c, misses);
      if (end < 0) {
        text += c;
        continue;
      }
      span("em", s.slice(i + 1, end));
      i = end;
    } else if (c === "[" || (c === "!" && s[i + 1] === "[")) {
      const image = c === "!";
      const open = image ? i + 1 : i;
      const close = matching(s, open, "[", "]");
      const paren = close >= 0 && s[close + 1] === "(" ? matching(s, close + 1, "(", ")") : -1;
      if (paren < 0) {
        text += c;
        continue;
      }
      const label = s.slice(open + 1, close);
      const url = s
        .slice(close + 2, paren)
        .trim()
        .replace(/\s+"[^"]*"$/, "");
      flush();
      const node = el(doc, "span", { class: image ? "md-image" : "md-link", title: url });
      if (image) node.appendChild(doc.createTextNode(label || "image"));
      else inline(doc, label, node, depth + 1);
      out.appendChild(node);
      if (url && url !== label) out.appendChild(el(doc, "span", { class: "md-url" }, ` (${url})`));
      i = paren;
    } else if (c === "<") {
      const m = /^<((?:https?|mailto|file):[^\s<>]*)>/i.exec(s.slice(i, i + 2048));
      if (!m) {
        text += c;
        continue;
      }
      flush();
      out.appendChild(el(doc, "span", { class: "md-link", title: m[1] }, m[1]));
      i += m[0].length - 1;
    } else text += c;
  }
  flush();
}

/** The start of the next run of exactly `run` backticks at or after `from`, or -1. */
function findRun(s: string, from: number, run: number, misses: Misses): number {
  const key = `\`${run}`;
  if (from >= (misses.get(key) ?? Infinity)) return -1;
  for (let j = s.indexOf("`", from); j >= 0; j = s.indexOf("`", j)) {
    const n = runLength(s, j, "`");
    if (n === run) return j;
    j += n;
  }
  misses.set(key, from);
  return -1;
}
