// Why this file exists: terminal output as the panel shows it: SGR codes become classes, other escapes and control
// characters vanish, carriage returns overwrite, long lines are cut and long output folds and unfolds lazily.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import { parseAnsi, plainStyle } from "../ansi";
import { CHUNK_LINES, FOLD_LINES } from "../fold";
import { MAX_LINE_CHARS, renderOutput } from "../output";
import { html, newDocument } from "./harness";

const { doc } = newDocument();
const parse = (line: string) => parseAnsi(line, plainStyle());

test("ansi: SGR colours and attributes become classes, reset ends them", () => {
  assert.deepEqual(parse("\x1b[31merror\x1b[0m: \x1b[1;32mok\x1b[22m plain\x1b[39m"), [
    { text: "error", classes: "ansi-fg-1" },
    { text: ": ", classes: "" },
    { text: "ok", classes: "ansi-fg-2 ansi-bold" },
    { text: " plain", classes: "ansi-fg-2" },
  ]);
  assert.deepEqual(parse("\x1b[97;44mhi\x1b[m!"), [
    { text: "hi", classes: "ansi-fg-15 ansi-bg-4" },
    { text: "!", classes: "" },
  ]);
  assert.deepEqual(parse("\x1b[2;3;4;9ma\x1b[23;24;29mb"), [
    { text: "a", classes: "ansi-dim ansi-italic ansi-underline ansi-strike" },
    { text: "b", classes: "ansi-dim" },
  ]);
});

test("ansi: 256 and true colours map to the nearest of the 16 themed ones", () => {
  assert.deepEqual(
    parse("\x1b[38;5;9ma\x1b[38;5;196mb\x1b[48;5;21mc\x1b[38;5;255md\x1b[38;2;0;200;0me\x1b[38:2:10:10:10mf"),
    [
      { text: "ab", classes: "ansi-fg-9" },
      { text: "c", classes: "ansi-fg-9 ansi-bg-12" },
      { text: "d", classes: "ansi-fg-15 ansi-bg-12" },
      { text: "e", classes: "ansi-fg-10 ansi-bg-12" },
      { text: "f", classes: "ansi-fg-0 ansi-bg-12" },
    ],
  );
});

test("ansi: other escapes and control characters are stripped", () => {
  const line =
    "\x1b[2K\x1b[1Gcursor\x1b[?25l \x1b]0;title\x07osc \x1b]8;;http://x\x1b\\link\x1b(B \x1b=key\x07\x08\x00 tab\there \x9b1mc1\x1b";
  assert.deepEqual(parse(line), [
    { text: "cursor osc link key tab\there ", classes: "" },
    { text: "c1", classes: "ansi-bold" },
  ]);
});

test("ansi: the style carries across lines, as in a terminal", () => {
  const style = plainStyle();
  assert.deepEqual(parseAnsi("\x1b[33mwarn", style), [{ text: "warn", classes: "ansi-fg-3" }]);
  assert.deepEqual(parseAnsi("still", style), [{ text: "still", classes: "ansi-fg-3" }]);
});

test("output: lines render with ANSI spans, carriage returns overwrite, plain lines share one text node", () => {
  const out = renderOutput(
    doc,
    "plain 1\nplain 2\r\n\x1b[32mgreen\x1b[0m done\nprogress 10%\rprogress 100%\n",
    "command-output",
    () => {},
  );
  assert.equal(out.getAttribute("data-lines"), "4");
  assert.equal(
    html(out),
    '<pre class="output-text">plain 1\nplain 2\n<span class="ansi-fg-2">green</span> done\nprogress 100%\n</pre>',
  );
});

test("output: a very long line is cut", () => {
  const out = renderOutput(doc, "x".repeat(MAX_LINE_CHARS + 500), "command-output", () => {});
  assert.equal(out.querySelector("pre")!.textContent, `${"x".repeat(MAX_LINE_CHARS)} … (500 more characters)\n`);
});

test("output: 100,000 lines show the first 20 at once and build the rest in chunks only when asked", () => {
  const lines = Array.from({ length: 100_000 }, (_, i) => (i % 10 === 0 ? `\x1b[31mline ${i}\x1b[0m` : `line ${i}`));
  const queue: (() => void)[] = [];
  const start = performance.now();
  const out = renderOutput(doc, lines.join("\n"), "command-output", (t) => queue.push(t));
  const ms = performance.now() - start;
  assert.ok(ms < 500, `first render took ${ms.toFixed(0)} ms`);
  const pre = out.querySelector("pre")!;
  const shown = () =>
    Array.from(pre.childNodes).filter(
      (n) => !(n instanceof doc.defaultView!.HTMLElement && n.classList.contains("fold-rest")),
    );
  assert.equal(
    shown()
      .map((n) => n.textContent)
      .join(""),
    lines
      .slice(0, FOLD_LINES)
      .join("\n")
      .replace(/\x1b\[\d+m/g, "") + "\n",
  );
  assert.ok(out.querySelectorAll("span").length <= 3, "only the shown lines are built");
  const toggle = out.querySelector<HTMLButtonElement>('[data-testid="fold-toggle"]')!;
  assert.equal(toggle.textContent, "Show all 100,000 lines");
  assert.equal(queue.length, 0);

  toggle.click();
  assert.equal(toggle.textContent, "Show the first 20 lines");
  const rest = pre.querySelector<HTMLElement>(".fold-rest")!;
  assert.equal(rest.hidden, false);
  assert.equal(queue.length, 1, "the rest is built later, not in the click");
  let tasks = 0;
  while (queue.length) {
    const before = rest.childNodes.length;
    queue.shift()!();
    tasks++;
    assert.ok(rest.childNodes.length > before);
  }
  assert.equal(tasks, Math.ceil((100_000 - FOLD_LINES) / CHUNK_LINES));
  assert.equal(toggle.getAttribute("data-built"), "100000");
  assert.equal(pre.textContent, lines.join("\n").replace(/\x1b\[\d+m/g, "") + "\n");
  assert.equal(pre.querySelectorAll(".ansi-fg-1").length, 10_000);

  toggle.click();
  assert.equal(rest.hidden, true);
  assert.equal(toggle.textContent, "Show all 100,000 lines");
});

test("output: folding away mid-build pauses it; unfolding resumes where it stopped", () => {
  const queue: (() => void)[] = [];
  const out = renderOutput(doc, Array.from({ length: 5000 }, (_, i) => `l${i}`).join("\n"), "command-output", (t) =>
    queue.push(t),
  );
  const toggle = out.querySelector<HTMLButtonElement>(".fold-toggle")!;
  toggle.click();
  queue.shift()!(); // one chunk
  assert.equal(toggle.getAttribute("data-built"), String(FOLD_LINES + CHUNK_LINES));
  toggle.click(); // fold
  while (queue.length) queue.shift()!();
  assert.equal(toggle.getAttribute("data-built"), String(FOLD_LINES + CHUNK_LINES));
  toggle.click(); // unfold
  while (queue.length) queue.shift()!();
  assert.equal(toggle.getAttribute("data-built"), "5000");
  assert.equal(out.querySelector("pre")!.textContent!.split("\n").length - 1, 5000);
});

test("output: short output has no fold", () => {
  const out = renderOutput(doc, "a\nb", "tool-output", () => {});
  assert.equal(out.querySelector(".fold-toggle"), null);
  assert.equal(out.getAttribute("data-testid"), "tool-output");
});
