// Why this file exists: the line diff is right (it turns the old text into the new one), minimal (checked against
// an LCS on random inputs), bounded on huge inputs, and shown as +/- rows with context and an "Open diff" button.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import { diffLines, diffRows, myers, textLines, type DiffLine } from "../diff";
import { DIFF_ROWS_SHOWN, renderDiff } from "../diffview";
import { html, newDocument } from "./harness";

const { doc } = newDocument();
const compact = (lines: DiffLine[]) => lines.map((l) => `${{ ctx: " ", del: "-", add: "+" }[l.kind]}${l.text}`);

test("diff: a change in the middle, with line numbers on each side", () => {
  const lines = diffLines(["a", "b", "c", "d"], ["a", "B", "c", "d", "e"]);
  assert.deepEqual(lines, [
    { kind: "ctx", text: "a", oldNo: 1, newNo: 1 },
    { kind: "del", text: "b", oldNo: 2, newNo: 0 },
    { kind: "add", text: "B", oldNo: 0, newNo: 2 },
    { kind: "ctx", text: "c", oldNo: 3, newNo: 3 },
    { kind: "ctx", text: "d", oldNo: 4, newNo: 4 },
    { kind: "add", text: "e", oldNo: 0, newNo: 5 },
  ]);
});

test("diff: new file, deleted file, no change, moved block", () => {
  assert.deepEqual(compact(diffLines(textLines(null), textLines("x\ny\n"))), ["+x", "+y"]);
  assert.deepEqual(compact(diffLines(textLines("x\n"), textLines(""))), ["-x"]);
  assert.deepEqual(compact(diffLines(["same"], ["same"])), [" same"]);
  assert.deepEqual(compact(diffLines(["1", "2", "3", "x", "y"], ["x", "y", "1", "2", "3"])), [
    "+x",
    "+y",
    " 1",
    " 2",
    " 3",
    "-x",
    "-y",
  ]);
  assert.deepEqual(textLines("a\r\nb\r\n"), ["a", "b"]);
});

/** The length of the longest common subsequence, by dynamic programming: the reference for minimality. */
function lcs(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j], row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

test("diff: on 500 random pairs the script rebuilds both texts and is as short as an LCS allows", () => {
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 500; round++) {
    const alphabet = 2 + Math.floor(rand() * 4);
    const gen = () =>
      Array.from({ length: Math.floor(rand() * 30) }, () => String.fromCharCode(97 + Math.floor(rand() * alphabet)));
    const a = gen();
    const b = gen();
    const lines = diffLines(a, b);
    assert.deepEqual(
      lines.filter((l) => l.kind !== "add").map((l) => l.text),
      a,
    );
    assert.deepEqual(
      lines.filter((l) => l.kind !== "del").map((l) => l.text),
      b,
    );
    const edits = lines.filter((l) => l.kind !== "ctx").length;
    assert.equal(edits, a.length + b.length - 2 * lcs(a, b), `not minimal for ${a.join("")} -> ${b.join("")}`);
  }
});

test("diff: past the edit-distance bound the middle is shown replaced whole, fast", () => {
  assert.equal(myers(Int32Array.from([1, 2, 3]), Int32Array.from([4, 5, 6]), 2), null);
  const old = Array.from({ length: 100_000 }, (_, i) => `old ${i}`);
  const next = Array.from({ length: 100_000 }, (_, i) => `new ${i}`);
  const start = performance.now();
  const lines = diffLines(["head", ...old, "tail"], ["head", ...next, "tail"]);
  const ms = performance.now() - start;
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
  assert.equal(lines.length, 200_002);
  assert.deepEqual(compact([lines[0], lines[1], lines[100_001], lines[200_001]]), [
    " head",
    "-old 0",
    "+new 0",
    " tail",
  ]);
});

test("diff: rows keep 3 lines of context and fold the unchanged runs between", () => {
  const old = Array.from({ length: 30 }, (_, i) => `l${i}`);
  const next = [...old];
  next[2] = "two";
  next[25] = "twenty-five";
  const rows = diffRows(diffLines(old, next)).map((r) => (r.kind === "skip" ? `…${r.count}` : `${r.kind[0]}${r.text}`));
  assert.deepEqual(rows, [
    "cl0",
    "cl1",
    "dl2",
    "atwo",
    "cl3",
    "cl4",
    "cl5",
    "…16",
    "cl22",
    "cl23",
    "cl24",
    "dl25",
    "atwenty-five",
    "cl26",
    "cl27",
    "cl28",
    "cl29",
  ]);
});

test("diff view: file, counts, coloured rows, and Open diff", () => {
  let opened = 0;
  const view = renderDiff(
    doc,
    { path: "src/a.rs", oldText: "fn a() {}\nkeep\n", newText: "fn b() {}\nkeep\n<script>x</script>\n" },
    () => opened++,
    () => {},
  );
  assert.equal(view.getAttribute("data-testid"), "diff");
  assert.equal(view.getAttribute("data-added"), "2");
  assert.equal(view.getAttribute("data-deleted"), "1");
  assert.equal(
    html(view.querySelector(".diff-body")!),
    '<div class="diff-line diff-del"><span class="diff-no">1</span>- fn a() {}</div>' +
      '<div class="diff-line diff-add"><span class="diff-no">1</span>+ fn b() {}</div>' +
      '<div class="diff-line diff-ctx"><span class="diff-no">2</span>  keep</div>' +
      '<div class="diff-line diff-add"><span class="diff-no">3</span>+ &lt;script&gt;x&lt;/script&gt;</div>',
  );
  assert.equal(view.querySelector(".diff-new"), null);
  view.querySelector<HTMLButtonElement>('[data-testid="open-diff"]')!.click();
  assert.equal(opened, 1);
  const created = renderDiff(
    doc,
    { path: "new.txt", oldText: null, newText: "x\n" },
    () => {},
    () => {},
  );
  assert.equal(created.querySelector(".diff-new")!.textContent, "new file");
});

test("diff view: a 100,000-line new file shows 20 rows and folds the rest", () => {
  const queue: (() => void)[] = [];
  const text = Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join("\n");
  const start = performance.now();
  const view = renderDiff(
    doc,
    { path: "big.txt", oldText: null, newText: text },
    () => {},
    (t) => queue.push(t),
  );
  assert.ok(performance.now() - start < 3000);
  assert.equal(view.querySelectorAll(".diff-line").length, DIFF_ROWS_SHOWN);
  const toggle = view.querySelector<HTMLButtonElement>(".fold-toggle")!;
  assert.equal(toggle.textContent, "Show all 100,000 diff lines");
  toggle.click();
  queue.shift()!();
  assert.ok(view.querySelectorAll(".diff-line").length > DIFF_ROWS_SHOWN);
});
