// Why this file exists: the extension host's conversation memory: order, duplicates (live vs replayed, several
// updates of one event), conversation adoption and switching, approvals, and the panel's replay.

import { strict as assert } from "node:assert";
import { test } from "node:test";

import type { SessionUpdateParams, TaskState } from "../../src/protocol";
import { ConversationStore } from "../../src/store";

function msg(seq: number, text: string, conv = "c1", taskId = "t1"): SessionUpdateParams {
  return { sessionId: conv, _meta: { seq, taskId }, update: { sessionUpdate: "agent_message_chunk", content: { type: "text", text } } };
}
const texts = (s: ConversationStore) =>
  s.replay().flatMap((m) => (m.type === "updates" ? m.updates.map((u) => (u.update as { content: { text: string } }).content.text) : []));
const state = (s: TaskState["state"], conv = "c1"): TaskState => ({ taskId: "t1", conversationId: conv, state: s, step: 3, maxIterations: 100 });

test("adopts the first conversation, keeps seq order and drops repeats", () => {
  const s = new ConversationStore();
  const r = s.add([msg(1, "a"), msg(2, "b")]);
  assert.equal(s.conversationId, "c1");
  assert.deepEqual([r.switched, r.appended, r.added.length], [true, true, 2]);
  // The same updates replayed by openhands/sessionHistory (no taskId there) add nothing.
  const again = s.add([msg(1, "a", "c1", ""), msg(2, "b", "c1", "")]);
  assert.deepEqual([again.added.length, again.appended], [0, true]);
  assert.deepEqual(texts(s), ["a", "b"]);
});

test("several updates of one event share a seq and are all kept, in arrival order", () => {
  const s = new ConversationStore();
  s.add([msg(4, "thought"), msg(4, "call")]);
  assert.deepEqual(texts(s), ["thought", "call"]);
});

test("an older update arriving late is inserted in order and asks for a full replay", () => {
  const s = new ConversationStore();
  s.add([msg(5, "live")]);
  const r = s.add([msg(1, "history 1"), msg(5, "live", "c1", ""), msg(2, "history 2")]);
  assert.equal(r.appended, false);
  assert.deepEqual(texts(s), ["history 1", "history 2", "live"]);
});

test("updates of another conversation are ignored; switching forgets the old one", () => {
  const s = new ConversationStore();
  s.add([msg(1, "mine")]);
  assert.equal(s.add([msg(2, "theirs", "c2")]).added.length, 0);
  assert.equal(s.switchTo("c2"), true);
  assert.equal(s.switchTo("c2"), false);
  assert.deepEqual(texts(s), []);
  s.add([msg(2, "theirs", "c2")]);
  assert.deepEqual(texts(s), ["theirs"]);
  s.switchTo(null);
  assert.equal(s.add([msg(1, "next", "c3")]).switched, true);
  assert.equal(s.conversationId, "c3");
});

test("replay: reset, updates, task state, pending approvals, server status", () => {
  const s = new ConversationStore();
  s.add([msg(1, "a")]);
  s.setTaskState(state("awaiting_approval"));
  s.addApproval({ approvalId: "a1", taskId: "t1", conversationId: "c1", toolCallId: "call_3", title: "$ rm x", reason: "it deletes files", kind: "execute" });
  s.addApproval({ approvalId: "a2", taskId: "t9", conversationId: "other", toolCallId: "call_1", title: "$ rm y", reason: "it deletes files", kind: "execute" });
  s.server = { type: "server", status: "running" };
  assert.deepEqual(s.replay().map((m) => m.type), ["reset", "updates", "taskState", "approval", "server"]);
  assert.equal(s.resolveApproval({ approvalId: "a1", taskId: "t1", decision: "allow_once" }), true);
  assert.equal(s.resolveApproval({ approvalId: "a1", taskId: "t1", decision: "allow_once" }), false);
  assert.deepEqual(s.replay().map((m) => m.type), ["reset", "updates", "taskState", "server"]);
});

test("a task that ends drops its pending approvals; forgetTask clears the state", () => {
  const s = new ConversationStore();
  s.setTaskState(state("awaiting_approval"));
  s.addApproval({ approvalId: "a1", taskId: "t1", conversationId: "c1", toolCallId: "x", title: "t", reason: "r", kind: "edit" });
  s.setTaskState(state("finished"));
  assert.equal(s.approvals.length, 0);
  s.forgetTask();
  assert.equal(s.taskState, null);
  assert.deepEqual(s.replay()[0], { type: "reset", conversationId: "c1" });
});
