// Why this file exists: the panel's "Changes" section: the live list during a task, the review list with its
// counts, what each button posts (with the file's run), busy files, reverts waiting for a running task, rows of
// several runs, the server's refusal shown, and nothing shown when there is nothing.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import type { ChangeRow, ChangesView } from "../../src/protocol";
import { MAX_ROWS } from "../changes";
import { mount } from "./harness";

const row = (over: Partial<ChangeRow> & Pick<ChangeRow, "path">): ChangeRow => ({
  status: "modified",
  added: 1,
  removed: 1,
  binary: false,
  taskId: "t1",
  live: false,
  busy: false,
  ...over,
});
const files = (): ChangeRow[] => [
  row({ path: "src/a.rs", added: 3, removed: 1 }),
  row({ path: "new.txt", status: "added", added: 2, removed: 0 }),
  row({ path: "logo.png", status: "deleted", added: null, removed: null, binary: true }),
];
const view = (over: Partial<ChangesView> = {}): ChangesView => ({
  mode: "review",
  running: false,
  files: files(),
  kept: 0,
  reverted: 0,
  busy: false,
  ...over,
});
const disabled = (p: ReturnType<typeof mount>, id: string) => p.qa(id).map((b) => (b as HTMLButtonElement).disabled);

test("changes: hidden until there is something, then each file with its counts, status and buttons", () => {
  const p = mount();
  const section = p.q("changes");
  assert.equal(section.hidden, true);
  p.send({ type: "changes", changes: view({ files: [] }) });
  assert.equal(section.hidden, true);
  p.send({ type: "changes", changes: view() });
  assert.equal(section.hidden, false);
  assert.equal(section.getAttribute("data-mode"), "review");
  assert.equal(section.querySelector(".changes-title")!.textContent, "Changes · 3 files");
  const rows = p.qa("change");
  assert.deepEqual(
    rows.map((r) => [r.getAttribute("data-path"), r.getAttribute("data-status"), r.getAttribute("data-added"), r.getAttribute("data-removed")]),
    [
      ["src/a.rs", "modified", "3", "1"],
      ["new.txt", "added", "2", "0"],
      ["logo.png", "deleted", null, null],
    ],
  );
  assert.deepEqual(
    rows.map((r) => p.q("change-counts", r).textContent),
    ["+3 −1", "+2 −0", "binary"],
  );
  assert.deepEqual(rows.map((r) => r.querySelector(".change-mark")!.textContent), ["M", "A", "D"]);
  assert.equal(p.qa("change-keep").length, 3);
  assert.equal(p.qa("change-revert").length, 3);
  assert.equal(p.qa("changes-message").length, 0);
  // One run: no run label on the rows.
  assert.equal(section.querySelectorAll(".change-run").length, 0);
});

test("changes: the buttons post the file's diff, keep and revert with its run, and keep all / revert all", () => {
  const p = mount();
  p.send({ type: "changes", changes: view({ files: [row({ path: "src/a.rs" }), row({ path: "new.txt", taskId: null })] }) });
  const [a, added] = p.qa("change");
  p.q("change-open", a).click();
  p.q("change-keep", added).click();
  p.q("change-revert", a).click();
  p.q("changes-keep-all").click();
  p.q("changes-revert-all").click();
  assert.deepEqual(p.posted, [
    { type: "changeDiff", path: "src/a.rs", taskId: "t1" },
    { type: "changeKeep", path: "new.txt", taskId: null },
    { type: "changeRevert", path: "src/a.rs", taskId: "t1" },
    { type: "changeKeep" },
    { type: "changeRevert" },
  ]);
});

test("changes: a busy file's buttons wait, keep all / revert all wait while anything is busy", () => {
  const p = mount();
  const busy = files();
  busy[1].busy = true;
  p.send({ type: "changes", changes: view({ files: busy, busy: true }) });
  assert.deepEqual(disabled(p, "change-revert"), [false, true, false]);
  assert.deepEqual(disabled(p, "change-keep"), [false, true, false]);
  assert.deepEqual(disabled(p, "changes-revert-all"), [true]);
  assert.deepEqual(disabled(p, "changes-keep-all"), [true]);
  assert.deepEqual(p.qa("change").map((r) => r.hasAttribute("data-busy")), [false, true, false]);
});

test("changes: during a task the list is so far, without buttons; the path is text", () => {
  const p = mount();
  const live = files().slice(0, 2).map((f) => ({ ...f, live: true }));
  p.send({ type: "changes", changes: view({ mode: "live", running: true, files: live }) });
  assert.equal(p.q("changes").getAttribute("data-mode"), "live");
  assert.equal(p.q("changes").querySelector(".changes-title")!.textContent, "Changes · 2 files so far");
  assert.equal(p.qa("change").length, 2);
  assert.equal(p.qa("change-keep").length + p.qa("change-revert").length + p.qa("change-open").length, 0);
  assert.equal(p.qa("changes-keep-all").length, 0);
  assert.match(p.q("changes").textContent!, /Keep or revert them when the task ends/);
});

test("changes: an earlier run's files stay reviewable while a new run works; revert waits for its end", () => {
  const p = mount();
  const rows = [row({ path: "notes.txt", taskId: "t1" }), row({ path: "more.txt", taskId: "t2", live: true })];
  p.send({ type: "changes", changes: view({ running: true, files: rows }) });
  assert.equal(p.q("changes").getAttribute("data-mode"), "review");
  const [earlier, live] = p.qa("change");
  assert.equal(earlier.querySelector(".change-run")!.textContent, "t1");
  assert.equal(live.querySelector(".change-run")!.textContent, "t2 · so far");
  assert.equal(live.hasAttribute("data-live"), true);
  assert.deepEqual(disabled(p, "change-keep"), [false]);
  assert.deepEqual(disabled(p, "change-revert"), [true], "the server refuses a revert while the task runs");
  assert.deepEqual(disabled(p, "changes-revert-all"), [true]);
  assert.deepEqual(disabled(p, "changes-keep-all"), [false]);
});

test("changes: the server's refusal is shown as an alert; settled files are counted; all reviewed", () => {
  const p = mount();
  const refusal = "notes.txt was edited since the task on the lines the task changed; nothing was reverted";
  p.send({ type: "changes", changes: view({ kept: 1, reverted: 2, message: { text: refusal, error: true } }) });
  const m = p.q("changes-message");
  assert.equal(m.textContent, refusal);
  assert.equal(m.getAttribute("data-error"), "true");
  assert.equal(m.getAttribute("role"), "alert");
  assert.match(p.q("changes").textContent!, /1 kept, 2 reverted/);
  p.send({ type: "changes", changes: view({ files: [], kept: 1, reverted: 1 }) });
  assert.equal(p.q("changes").hidden, false);
  assert.equal(p.q("changes").querySelector(".changes-title")!.textContent, "Changes · all reviewed (1 kept, 1 reverted)");
  assert.equal(p.qa("change").length, 0);
  assert.equal(p.qa("changes-keep-all").length, 0);
});

test("changes: a path with markup is text, and a reset conversation's section goes when the host says so", () => {
  const p = mount();
  const evil = '<img src=x onerror="alert(1)">.txt';
  p.send({ type: "changes", changes: view({ files: [row({ path: evil, status: "added" })] }) });
  assert.equal(p.q("changes").querySelector("img"), null);
  assert.equal(p.q("change-open").textContent, evil);
  p.send({ type: "reset", conversationId: null }, { type: "changes", changes: view({ files: [] }) });
  assert.equal(p.q("changes").hidden, true);
});

test("changes: a task that changed 20,000 files shows the first rows and says how many more; keep all covers them", () => {
  const p = mount();
  const many = Array.from({ length: 20_000 }, (_, i) => row({ path: `gen/file${i}.js` }));
  const t0 = performance.now();
  p.send({ type: "changes", changes: view({ files: many }) });
  const ms = performance.now() - t0;
  assert.equal(p.qa("change").length, MAX_ROWS);
  assert.equal(p.q("changes-more").textContent, `… and ${20_000 - MAX_ROWS} more files`);
  assert.equal(p.q("changes").querySelector(".changes-title")!.textContent, "Changes · 20000 files");
  assert.equal(p.qa("changes-keep-all").length, 1);
  assert.ok(ms < 2000, `rendered in ${ms} ms`);
});
