// Why this file exists: the Changes section's host side against a fake server: which run each command names, the
// list after a keep, a revert refused at once or failing later (the server's words in the panel), a revert whose
// outcome never comes, keep all over two runs, a diff refused, and answers about a conversation no longer shown.

import { strict as assert } from "node:assert";
import { test } from "node:test";

import type { ChangesView, FileChange, ReviewUpdated, TaskChanges, TaskState, ToPanel } from "../../src/protocol";
import { Review, type TaskDiff } from "../../src/review";

type Call = { command: string; args: Record<string, string> };

/** A fake `openhands-lsp`: `tasks.json` in memory, per run (keyed by task id; the conversation's is the last). */
function fake(runs: Record<string, { firstEvent: number; files: FileChange[] }>) {
  const calls: Call[] = [];
  const posted: ChangesView[] = [];
  const shown: { path: string; d: TaskDiff }[] = [];
  let conversation: string | null = "c1";
  const run = (a: Record<string, string>) => {
    const id = a.taskId ?? Object.keys(runs).at(-1)!;
    const r = runs[id];
    if (!r) throw new Error(`no task ${id}`);
    return r;
  };
  const behaviour: Record<string, (a: Record<string, string>) => unknown> = {
    "openhands.task.changes": (a): TaskChanges => ({ conversationId: "c1", firstEvent: run(a).firstEvent, lastEvent: 0, files: structuredClone(run(a).files) }),
    "openhands.task.keep": (a) => {
      const kept = run(a).files.filter((f) => (a.file ? f.path === a.file : !f.settled));
      kept.forEach((f) => (f.settled = "kept"));
      return { kept: kept.map((f) => f.path) };
    },
  };
  const review = new Review({
    command: async <T>(command: string, args: unknown[]) => {
      const a = args[0] as Record<string, string>;
      calls.push({ command, args: a });
      const f = behaviour[command];
      if (!f) throw new Error(`unexpected ${command}`);
      return f(a) as T;
    },
    post: (m: ToPanel) => {
      if (m.type === "changes") posted.push(m.changes);
    },
    conversation: () => conversation,
    root: () => "/ws",
    showDiff: async (path, d) => void shown.push({ path, d }),
    trace: () => undefined,
    revertTimeoutMs: 100,
  });
  return {
    review,
    calls,
    posted,
    shown,
    behaviour,
    last: () => posted.at(-1)!,
    paths: () => posted.at(-1)!.files.map((f) => f.path),
    switchTo: (id: string | null) => (conversation = id),
  };
}
const file = (path: string): FileChange => ({ path, status: "modified", added: 1, removed: 1, binary: false, settled: null });
const ended = (taskId: string, state: TaskState["state"] = "finished"): TaskState => ({ taskId, conversationId: "c1", state, step: 2, maxIterations: 9 });
const reverted = (path: string): ReviewUpdated => ({
  action: "revert",
  conversationId: "c1",
  ok: true,
  message: `OpenHands reverted 1 file(s) of the task in conversation c1: ${path}`,
  reverted: [path],
  failed: [],
});
const notReverted = (path: string): ReviewUpdated => ({
  action: "revert",
  conversationId: "c1",
  ok: false,
  message: `NOT reverted: ${path} (the editor refused it (no reason given))`,
  reverted: [],
  failed: [`${path} (the editor refused it (no reason given))`],
});
const settle = () => new Promise((r) => setTimeout(r, 0));

test("a run that ends is asked for by its task id; keep names the run and the file, then the list is asked again", async () => {
  const f = fake({ t1: { firstEvent: 1, files: [file("a.txt"), file("b.txt")] } });
  f.review.taskState(ended("t1"));
  await settle();
  assert.deepEqual(f.calls, [{ command: "openhands.task.changes", args: { taskId: "t1" } }]);
  assert.deepEqual(f.paths(), ["a.txt", "b.txt"]);
  await f.review.keep("b.txt", "t1");
  assert.deepEqual(f.calls.slice(1), [
    { command: "openhands.task.keep", args: { taskId: "t1", file: "b.txt" } },
    { command: "openhands.task.changes", args: { taskId: "t1" } },
  ]);
  assert.deepEqual([f.paths(), f.last().kept, f.last().busy], [["a.txt"], 1, false]);
  // While it ran, its row waited.
  assert.ok(f.posted.some((v) => v.files.some((r) => r.path === "b.txt" && r.busy)));
});

test("a revert the server refuses at once: its sentence in the panel, the file still listed", async () => {
  const f = fake({ t1: { firstEvent: 1, files: [file("c.txt")] } });
  const refusal = "c.txt was edited since the task on the lines the task changed; nothing was reverted (undo it by hand or keep it)";
  f.behaviour["openhands.task.revert"] = () => {
    throw new Error(refusal);
  };
  f.review.taskState(ended("t1"));
  await settle();
  await f.review.revert("c.txt", "t1");
  assert.deepEqual(f.last().message, { text: refusal, error: true });
  assert.deepEqual([f.paths(), f.last().busy], [["c.txt"], false]);
  // The next action clears it.
  await f.review.keep("c.txt", "t1");
  assert.equal(f.last().message, undefined);
});

test("a revert's outcome is the server's openhands/reviewUpdated, even when it comes before the command's answer", async () => {
  const runs = { t1: { firstEvent: 1, files: [file("a.txt"), file("b.txt")] } };
  const f = fake(runs);
  f.behaviour["openhands.task.revert"] = (a) => {
    runs.t1.files.find((x) => x.path === a.file)!.settled = "reverted";
    // The server spawns the work: its note may beat the answer.
    f.review.reviewed(reverted(a.file));
    return { reverting: [a.file], started: true };
  };
  f.review.taskState(ended("t1", "awaiting_user_input"));
  await settle();
  await f.review.revert("a.txt", "t1");
  assert.deepEqual([f.paths(), f.last().reverted, f.last().message], [["b.txt"], 1, undefined]);
  // A failure told after the answer.
  f.behaviour["openhands.task.revert"] = (a) => {
    setTimeout(() => f.review.reviewed(notReverted(a.file)), 10);
    return { reverting: [a.file], started: true };
  };
  await f.review.revert("b.txt", "t1");
  assert.deepEqual(f.last().message, { text: "NOT reverted: b.txt (the editor refused it (no reason given))", error: true });
  assert.deepEqual(f.paths(), ["b.txt"]);
});

test("a revert whose outcome never comes says so instead of waiting for ever", async () => {
  const f = fake({ t1: { firstEvent: 1, files: [file("a.txt")] } });
  f.behaviour["openhands.task.revert"] = (a) => ({ reverting: [a.file], started: true });
  f.review.taskState(ended("t1"));
  await settle();
  const t0 = Date.now();
  await f.review.revert("a.txt", "t1");
  assert.ok(Date.now() - t0 < 2000);
  assert.match(f.last().message!.text, /did not say how the revert went/);
  assert.equal(f.last().busy, false);
  // A late note belongs to no revert and changes nothing.
  f.review.reviewed(reverted("a.txt"));
});

test("keep all settles every run, newest first; a reply's run keeps the earlier run's files listed", async () => {
  const f = fake({ t1: { firstEvent: 1, files: [file("notes.txt")] }, t2: { firstEvent: 7, files: [file("more.txt")] } });
  f.review.taskState(ended("t1", "awaiting_user_input"));
  await settle();
  f.review.taskState({ ...ended("t2"), state: "running" });
  assert.deepEqual(f.last().running, true);
  f.review.taskState(ended("t2"));
  await settle();
  assert.deepEqual(f.paths(), ["notes.txt", "more.txt"]);
  f.calls.length = 0;
  await f.review.keep(undefined, undefined);
  assert.deepEqual(
    f.calls.filter((c) => c.command === "openhands.task.keep").map((c) => c.args),
    [{ taskId: "t2" }, { taskId: "t1" }],
  );
  assert.deepEqual([f.paths(), f.last().kept], [[], 2]);
});

test("after a reload the last run is asked for by conversation; an answer about another conversation is dropped", async () => {
  const f = fake({ t1: { firstEvent: 1, files: [file("a.txt")] } });
  const pending = f.review.refresh(null);
  f.switchTo("c2");
  f.review.reset();
  await pending;
  assert.deepEqual(f.calls, [{ command: "openhands.task.changes", args: { conversationId: "c1" } }]);
  assert.deepEqual(f.paths(), [], "c1's list is not shown for c2");
  // No conversation: nothing asked.
  f.switchTo(null);
  await f.review.refresh(null);
  assert.equal(f.calls.length, 1);
});

test("a conversation without checkpoints or finished runs shows nothing; a diff refused says why; one given is shown", async () => {
  const f = fake({});
  f.review.taskState(ended("t9", "error"));
  await settle();
  assert.deepEqual([f.paths(), f.last().message], [[], undefined]);
  f.behaviour["openhands.task.diff"] = (a) => {
    if (a.file === "gone.txt") throw new Error("the task did not change gone.txt");
    return { uri: "file:///data/reviews/c1-1-a.txt.diff", diff: "@@ -1 +1 @@\n-a\n+b\n" };
  };
  await f.review.diff("gone.txt", "t1");
  assert.deepEqual(f.last().message, { text: "the task did not change gone.txt", error: true });
  await f.review.diff("a.txt", null);
  assert.deepEqual(f.shown, [{ path: "a.txt", d: { uri: "file:///data/reviews/c1-1-a.txt.diff", diff: "@@ -1 +1 @@\n-a\n+b\n" } }]);
  assert.deepEqual(f.calls.at(-1), { command: "openhands.task.diff", args: { conversationId: "c1", file: "a.txt" } });
  // The server's showDocument of that diff is taken (the diff editor shows it), once; others pass.
  assert.equal(f.review.tookDocument("file:///data/reviews/c1-1-a.txt.diff"), true);
  assert.equal(f.review.tookDocument("file:///data/reviews/c1-1-a.txt.diff"), false);
  assert.equal(f.review.tookDocument("file:///ws/.openhands/transcripts/c1.md"), false);
});

test("two reverts clicked at once run one after the other, each with its own outcome", async () => {
  const runs = { t1: { firstEvent: 1, files: [file("a.txt"), file("b.txt")] } };
  const f = fake(runs);
  let running = 0;
  f.behaviour["openhands.task.revert"] = (a) => {
    running++;
    assert.equal(running, 1, "one revert at a time");
    setTimeout(() => {
      runs.t1.files.find((x) => x.path === a.file)!.settled = "reverted";
      running--;
      f.review.reviewed(reverted(a.file));
    }, 20);
    return { reverting: [a.file], started: true };
  };
  f.review.taskState(ended("t1"));
  await settle();
  const both = Promise.all([f.review.revert("a.txt", "t1"), f.review.revert("b.txt", "t1")]);
  // Both rows wait at once.
  assert.deepEqual(f.last().files.map((r) => r.busy), [true, true]);
  await both;
  assert.deepEqual([f.paths(), f.last().reverted, f.last().message], [[], 2, undefined]);
});
