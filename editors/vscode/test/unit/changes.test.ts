// Why this file exists: the extension host's model of the "Changes" section: the running task's edits counted from
// its tool calls (completed ones, per file, relative to the workspace), a new task's fresh list, the server's list
// after the run less the settled files, and the revert outcome read from the server's log line.

import { strict as assert } from "node:assert";
import { test } from "node:test";

import { ChangesModel, lineCounts, relativePath, revertOutcome } from "../../src/changes";
import type { FileChange, SessionUpdateParams, TaskChanges, TaskState, Update } from "../../src/protocol";

const p = (seq: number, update: Update, taskId = "t1"): SessionUpdateParams => ({ sessionId: "c1", _meta: { seq, taskId }, update });
const edit = (id: string, path: string, oldText: string | null, newText: string): Update => ({
  sessionUpdate: "tool_call",
  toolCallId: id,
  title: `edit ${path}`,
  kind: "edit",
  status: "in_progress",
  content: [{ type: "diff", path, oldText, newText }],
});
const done = (id: string, status: "completed" | "failed" = "completed"): Update => ({ sessionUpdate: "tool_call_update", toolCallId: id, status });
const state = (s: TaskState["state"], taskId = "t1"): TaskState => ({ taskId, conversationId: "c1", state: s, step: 1, maxIterations: 10 });

test("line counts and workspace-relative paths", () => {
  assert.deepEqual(lineCounts("a\nb\nc\n", "a\nB\nc\nd\n"), { added: 2, removed: 1 });
  assert.deepEqual(lineCounts(null, "x\ny\n"), { added: 2, removed: 0 });
  assert.equal(relativePath("/ws/src/a.rs", "/ws"), "src/a.rs");
  assert.equal(relativePath("/ws/src/a.rs", "/ws/"), "src/a.rs");
  assert.equal(relativePath("/other/a.rs", "/ws"), "/other/a.rs");
  assert.equal(relativePath("/wsx/a.rs", "/ws"), "/wsx/a.rs");
  assert.equal(relativePath("a.rs", undefined), "a.rs");
});

const live = (path: string, added: number, removed: number, status: "added" | "modified" = "modified", taskId = "t1") => ({
  path,
  status,
  added,
  removed,
  binary: false,
  taskId,
  live: true,
  busy: false,
});
const changes = (firstEvent: number, files: FileChange[]): TaskChanges => ({ conversationId: "c1", firstEvent, lastEvent: firstEvent + 5, files });
const file = (path: string, settled: FileChange["settled"] = null, added: number | null = 1, removed: number | null = 1): FileChange => ({
  path,
  status: "modified",
  added,
  removed,
  binary: added === null,
  settled,
});

test("live: completed edits of the running task, summed per file; failed or unfinished ones are not listed", () => {
  const m = new ChangesModel();
  assert.deepEqual(m.taskState(state("running")), { changed: true, ended: false });
  assert.equal(m.updates([p(1, edit("k1", "/ws/a.txt", "one\n", "One\n"))], "/ws"), false, "not done yet");
  assert.deepEqual(m.view().files, []);
  assert.equal(m.updates([p(2, done("k1"))], "/ws"), true);
  m.updates([p(3, edit("k2", "b.txt", null, "x\ny\n")), p(4, done("k2")), p(5, edit("k3", "/ws/a.txt", "two\n", "")), p(6, done("k3"))], "/ws");
  m.updates([p(7, edit("k4", "c.txt", "c\n", "C\n")), p(8, done("k4", "failed"))], "/ws");
  m.updates([p(9, { sessionUpdate: "tool_call", toolCallId: "k5", title: "$ ls", kind: "execute", status: "in_progress" })], "/ws");
  const v = m.view();
  assert.equal(v.mode, "live");
  assert.equal(v.running, true);
  assert.deepEqual(v.files, [live("a.txt", 1, 2), live("b.txt", 2, 0, "added")]);
  // The same task again changes nothing; its end asks for the server's list.
  assert.deepEqual(m.taskState(state("awaiting_approval")), { changed: false, ended: false });
  assert.deepEqual(m.taskState(state("finished")), { changed: true, ended: true });
  assert.equal(m.view().running, false);
  // The server's list replaces the live one.
  m.setRun("t1", changes(1, [file("a.txt", null, 1, 2), file("b.txt", null, 2, 0)]));
  assert.deepEqual(
    m.view().files.map((f) => [f.path, f.live, f.taskId]),
    [
      ["a.txt", false, "t1"],
      ["b.txt", false, "t1"],
    ],
  );
  assert.equal(m.view().mode, "review");
});

test("live: a new task starts a new live list, also when its first update comes before its state", () => {
  const m = new ChangesModel();
  m.taskState(state("running"));
  m.updates([p(1, edit("k1", "a.txt", "a\n", "b\n")), p(2, done("k1"))], undefined);
  assert.equal(m.view().files.length, 1);
  m.updates([p(3, edit("k2", "z.txt", "a\n", "b\n"), "t2"), p(4, done("k2"), "t2")], undefined);
  assert.deepEqual(m.view().files.map((f) => [f.path, f.taskId]), [["z.txt", "t2"]]);
  assert.deepEqual(m.taskState(state("running", "t2")), { changed: false, ended: false });
  assert.deepEqual(m.taskState(state("running", "t3")), { changed: true, ended: false });
  assert.deepEqual(m.view().files, []);
});

test("runs: an earlier run's files stay listed while a reply's run works and after it, each with its run", () => {
  const m = new ChangesModel();
  m.taskState(state("running"));
  m.taskState(state("awaiting_user_input"));
  m.setRun("t1", changes(1, [file("notes.txt")]));
  // The reply: a new run; the first one's file stays, the new one's edits come live.
  m.taskState(state("running", "t2"));
  m.updates([p(10, edit("k9", "more.txt", "a\n", "b\n"), "t2"), p(11, done("k9"), "t2")], undefined);
  let v = m.view();
  assert.equal(v.mode, "review");
  assert.equal(v.running, true);
  assert.deepEqual(v.files.map((f) => [f.path, f.taskId, f.live]), [
    ["notes.txt", "t1", false],
    ["more.txt", "t2", true],
  ]);
  m.taskState(state("finished", "t2"));
  m.setRun("t2", changes(8, [file("more.txt")]));
  assert.deepEqual(m.reviewable, ["t2", "t1"], "newest first: the order to revert them in");
  assert.deepEqual(m.known, ["t1", "t2"]);
  // Settled in full, a run leaves when the next one starts.
  m.setRun("t1", changes(1, [file("notes.txt", "kept")]));
  v = m.view();
  assert.deepEqual([v.files.map((f) => f.path), v.kept], [["more.txt"], 1]);
  m.taskState(state("running", "t3"));
  assert.deepEqual(m.known, ["t2"]);
  // A restarted server numbers its tasks anew: the last run is known by the conversation.
  m.taskState(state("stopped", "t3"));
  m.serverRestarted();
  assert.deepEqual(m.known, [null]);
  // The same run fetched by conversation is not listed twice.
  m.setRun(null, changes(8, [file("more.txt")]));
  assert.equal(m.view().files.length, 1);
});

test("review: the server's list less the settled files; busy rows; unavailable said only after edits", () => {
  const m = new ChangesModel();
  m.taskState(state("running"));
  m.unavailable("no checkpoints");
  assert.equal(m.view().message, undefined, "nothing to review: nothing said");
  m.updates([p(1, edit("k1", "a.txt", "a\n", "b\n")), p(2, done("k1"))], undefined);
  m.taskState(state("finished"));
  m.unavailable("the remote runtime has no checkpoints");
  assert.deepEqual(m.view().message, { text: "the remote runtime has no checkpoints", error: true });
  m.setRun(null, {
    conversationId: "c1",
    firstEvent: 1,
    lastEvent: 9,
    files: [
      { path: "a.txt", status: "modified", added: 1, removed: 1, binary: false, settled: null },
      { path: "b.txt", status: "added", added: 2, removed: 0, binary: false, settled: "kept" },
      { path: "c.bin", status: "modified", added: null, removed: null, binary: true, settled: "reverted" },
      { path: "d.txt", status: "deleted", added: 0, removed: 4, binary: false, settled: null },
    ],
  });
  m.busy(null, "a.txt", true);
  const v = m.view();
  assert.deepEqual(v, {
    mode: "review",
    running: false,
    files: [
      { path: "a.txt", status: "modified", added: 1, removed: 1, binary: false, taskId: null, live: false, busy: true },
      { path: "d.txt", status: "deleted", added: 0, removed: 4, binary: false, taskId: null, live: false, busy: false },
      // Fetched by conversation, not by the task that ran: its live edits stay until the task's own list.
      live("a.txt", 1, 1),
    ],
    kept: 1,
    reverted: 1,
    busy: true,
    message: { text: "the remote runtime has no checkpoints", error: true },
  });
  m.busy(null, "a.txt", false);
  m.busy(null, undefined, true);
  assert.deepEqual(m.view().files.map((f) => f.busy), [true, true, false], "all of a run");
  m.message("refused");
  assert.deepEqual(m.view().message, { text: "refused", error: true });
  m.reset();
  assert.deepEqual(m.view(), { mode: "live", running: false, files: [], kept: 0, reverted: 0, busy: false, message: undefined });
});

test("revert outcome: a revert's note, ok or not; a restore's note is not one", () => {
  const note = { action: "revert", conversationId: "c1", ok: true, message: "OpenHands reverted 1 file(s)" } as const;
  assert.deepEqual(revertOutcome(note), { ok: true, text: "OpenHands reverted 1 file(s)" });
  assert.deepEqual(revertOutcome({ ...note, ok: false, message: "NOT reverted: a.txt (why)" }), {
    ok: false,
    text: "NOT reverted: a.txt (why)",
  });
  assert.equal(revertOutcome({ ...note, action: "restore", eventId: 4 }), undefined);
});
