// Why this file exists: the panel driven as the extension host drives it: every update kind and host message,
// what each control posts back, dedupe of replayed updates, approvals, and long replays shown in steps.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import type { SessionUpdateParams, Update } from "../../src/protocol";
import { EARLIER_STEP, RECENT_ITEMS } from "../transcript";
import { agent, html, mount, params, thought, updates, user } from "./harness";

const execCall = (id: string, command: string): Update => ({
  sessionUpdate: "tool_call",
  toolCallId: id,
  title: `$ ${command}`,
  kind: "execute",
  status: "in_progress",
  rawInput: { command },
});
const output = (id: string, text: string, exitCode = 0, status: "completed" | "failed" = "completed"): Update => ({
  sessionUpdate: "tool_call_update",
  toolCallId: id,
  status,
  content: [{ type: "content", content: { type: "text", text } }],
  rawOutput: { exitCode },
});

test("messages: user and agent chunks render as Markdown; consecutive chunks of one kind make one message", () => {
  const p = mount();
  p.send(updates(params(1, user("Fix **the** test")), params(2, agent("Looking")), params(2, agent(" at `it`"))));
  assert.equal(html(p.q("message-user").querySelector(".message-body")!), "<p>Fix <strong>the</strong> test</p>");
  assert.equal(
    html(p.q("message-agent").querySelector(".message-body")!),
    '<p>Looking at <code class="md-code-span">it</code></p>',
  );
  // A later chunk in another batch still appends; one from another seq starts a new paragraph of the same message.
  p.send(updates(params(3, agent("Done."))));
  assert.equal(p.qa("message-agent").length, 1);
  assert.equal(
    html(p.q("message-agent").querySelector(".message-body")!),
    '<p>Looking at <code class="md-code-span">it</code></p><p>Done.</p>',
  );
  // Another kind in between closes the message.
  p.send(updates(params(4, user("thanks")), params(5, agent("welcome"))));
  assert.deepEqual(
    p.qa("message-agent").map((m) => m.querySelector(".message-body")!.textContent),
    ["Looking at itDone.", "welcome"],
  );
  assert.equal(p.qa("message-user").length, 2);
});

test("messages: HTML from the model is shown as text", () => {
  const p = mount();
  p.send(updates(params(1, agent('<script>alert(1)</script><img src=x onerror="alert(2)">'))));
  const body = p.q("message-agent").querySelector(".message-body")!;
  assert.equal(body.querySelector("script"), null);
  assert.equal(body.querySelector("img"), null);
  assert.equal(body.textContent, '<script>alert(1)</script><img src=x onerror="alert(2)">');
});

test("thoughts: collapsed in a <details> with a one-line preview; empty chunks show nothing", () => {
  const p = mount();
  p.send(updates(params(1, thought("I should\nread the file")), params(2, agent("   ")), params(3, thought(""))));
  const t = p.q("thought");
  assert.equal(t.tagName, "DETAILS");
  assert.equal((t as HTMLDetailsElement).open, false);
  assert.equal(t.querySelector(".thought-preview")!.textContent, "I should read the file");
  assert.equal(t.querySelector(".message-body")!.textContent, "I should read the file");
  assert.equal(p.qa("message-agent").length, 0);
});

test("tool calls: a card per call, patched in place by its updates (status, output, exit code)", () => {
  const p = mount();
  p.send(updates(params(1, agent("Running the tests")), params(1, execCall("call_1", "cargo test"))));
  const card = p.q("tool-call");
  assert.equal(card.getAttribute("data-status"), "in_progress");
  assert.equal(card.getAttribute("data-kind"), "execute");
  assert.equal(card.getAttribute("data-tool-call-id"), "call_1");
  assert.equal(card.querySelector(".tool-title")!.textContent, "$ cargo test");
  assert.equal(card.querySelector(".tool-kind")!.textContent, "Run");
  assert.equal(p.q("tool-status", card).textContent, "in progress");
  assert.equal(card.querySelector<HTMLElement>(".tool-exit")!.hidden, true);

  p.send(updates(params(2, output("call_1", "\x1b[32mok\x1b[0m 3 passed\n", 0))));
  assert.equal(p.qa("tool-call").length, 1);
  assert.equal(p.q("tool-call"), card);
  assert.equal(card.getAttribute("data-status"), "completed");
  assert.equal(p.q("tool-status", card).textContent, "completed");
  assert.equal(html(p.q("command-output", card).querySelector("pre")!), '<span class="ansi-fg-2">ok</span> 3 passed\n');
  assert.equal(card.querySelector(".tool-exit")!.textContent, "exit 0");
  assert.equal(card.querySelector(".tool-exit")!.classList.contains("tool-exit-failed"), false);

  p.send(updates(params(3, execCall("call_2", "false")), params(4, output("call_2", "boom", 1, "failed"))));
  const failed = p.qa("tool-call")[1];
  assert.equal(failed.getAttribute("data-status"), "failed");
  assert.equal(failed.querySelector(".tool-exit")!.textContent, "exit 1");
  assert.equal(failed.querySelector(".tool-exit")!.classList.contains("tool-exit-failed"), true);
});

test("tool calls: a long command is shown whole under its title; other kinds' output is tool-output", () => {
  const p = mount();
  const long = `bash -c '${"x".repeat(200)}'`;
  p.send(
    updates(
      params(1, { ...execCall("c1", long), title: "$ bash -c 'xxx…" } as Update),
      params(2, {
        sessionUpdate: "tool_call",
        toolCallId: "c2",
        title: "read /w/a.rs",
        kind: "read",
        status: "in_progress",
      }),
      params(3, output("c2", "fn main() {}")),
      params(4, { sessionUpdate: "tool_call", toolCallId: "c3", title: "browse", kind: "fetch", status: "pending" }),
      params(5, { sessionUpdate: "tool_call", toolCallId: "c4", title: "think", kind: "other", status: "completed" }),
    ),
  );
  const [exec, read, fetch, other] = p.qa("tool-call");
  assert.equal(exec.querySelector(".tool-command")!.textContent, long);
  assert.equal(exec.querySelector<HTMLElement>(".tool-command")!.hidden, false);
  assert.equal(p.q("tool-output", read).textContent, "fn main() {}\n");
  assert.equal(p.qa("command-output", read).length, 0);
  assert.deepEqual(
    [read, fetch, other].map((c) => [c.querySelector(".tool-kind")!.textContent, c.getAttribute("data-status")]),
    [
      ["Read", "completed"],
      ["Fetch", "pending"],
      ["Tool", "completed"],
    ],
  );
});

test("tool calls: an update for a call this view never saw still gets a card", () => {
  const p = mount();
  p.send(updates(params(9, output("call_7", "late output"))));
  const card = p.q("tool-call");
  assert.equal(card.getAttribute("data-tool-call-id"), "call_7");
  assert.equal(card.getAttribute("data-status"), "completed");
  assert.equal(p.qa("command-output", card).length, 0, "kind unknown: shown as tool output");
  assert.equal(p.q("tool-output", card).textContent, "late output\n");
});

test("edits: the requested diff, replaced by the applied one; Open diff posts the texts", () => {
  const p = mount();
  const edit: Update = {
    sessionUpdate: "tool_call",
    toolCallId: "call_3",
    title: "edit /w/src/lib.rs",
    kind: "edit",
    status: "in_progress",
    content: [{ type: "diff", path: "/w/src/lib.rs", oldText: "a", newText: "b" }],
  };
  p.send(updates(params(1, edit)));
  assert.equal(p.q("diff").getAttribute("data-added"), "1");
  const done: Update = {
    sessionUpdate: "tool_call_update",
    toolCallId: "call_3",
    status: "completed",
    content: [{ type: "diff", path: "/w/src/lib.rs", oldText: "x\na\ny\n", newText: "x\nb\nc\ny\n" }],
  };
  p.send(updates(params(2, done)));
  const diff = p.q("diff");
  assert.deepEqual(
    [diff.getAttribute("data-path"), diff.getAttribute("data-added"), diff.getAttribute("data-deleted")],
    ["/w/src/lib.rs", "2", "1"],
  );
  assert.deepEqual(
    Array.from(diff.querySelectorAll(".diff-line")).map(
      (l) => `${l.className.replace("diff-line diff-", "")}:${l.textContent}`,
    ),
    ["ctx:1  x", "del:2- a", "add:2+ b", "add:3+ c", "ctx:4  y"],
  );
  p.q("open-diff").click();
  assert.deepEqual(p.posted, [
    {
      type: "openDiff",
      path: "/w/src/lib.rs",
      oldText: "x\na\ny\n",
      newText: "x\nb\nc\ny\n",
      title: "edit /w/src/lib.rs",
    },
  ]);
});

test("plan: a checklist, replaced whole by each plan update, hidden when empty", () => {
  const p = mount();
  const plan = p.q("plan");
  assert.equal(plan.hidden, true);
  p.send(
    updates(
      params(1, {
        sessionUpdate: "plan",
        entries: [
          { content: "read", priority: "high", status: "completed" },
          { content: "fix", priority: "medium", status: "in_progress" },
          { content: "<b>test</b>", priority: "low", status: "pending" },
        ],
      }),
    ),
  );
  assert.equal(plan.hidden, false);
  assert.equal(plan.querySelector(".plan-title")!.textContent, "Plan · 1/3 done");
  assert.deepEqual(
    Array.from(plan.querySelectorAll("li")).map((li) => `${li.getAttribute("data-status")} ${li.textContent}`),
    ["completed ☑read", "in_progress ◐fix", "pending ☐<b>test</b>"],
  );
  p.send(
    updates(
      params(2, { sessionUpdate: "plan", entries: [{ content: "only", priority: "medium", status: "completed" }] }),
    ),
  );
  assert.equal(plan.querySelectorAll("li").length, 1);
  p.send(updates(params(3, { sessionUpdate: "plan", entries: [] })));
  assert.equal(plan.hidden, true);
});

test("usage: tokens and cost", () => {
  const p = mount();
  assert.equal(p.q("usage").hidden, true);
  p.send(
    updates(
      params(1, {
        sessionUpdate: "usage_update",
        promptTokens: 12345,
        completionTokens: 678,
        cachedTokens: 1000,
        cost: { amount: 0.01234, currency: "USD" },
      }),
    ),
  );
  assert.equal(p.q("usage").hidden, false);
  assert.equal(p.q("usage").textContent, "12,345 in (1,000 cached) · 678 out · $0.0123");
  p.send(
    updates(
      params(2, {
        sessionUpdate: "usage_update",
        promptTokens: 5,
        completionTokens: 1,
        cost: { amount: 2.5, currency: "EUR" },
      }),
    ),
  );
  assert.equal(p.q("usage").textContent, "5 in · 1 out · 2.50 EUR");
});

test("task state: text, Stop enabled while it runs, the prompt's placeholder", () => {
  const p = mount();
  const base = { taskId: "t", conversationId: "c", step: 3, maxIterations: 100 };
  const seen = (state: string, message?: string) => {
    p.send({ type: "taskState", state: { ...base, state: state as never, message } });
    return [
      p.q("task-state").textContent,
      p.q("task-state").getAttribute("data-state"),
      (p.q("stop") as HTMLButtonElement).disabled,
      (p.q("prompt") as HTMLTextAreaElement).placeholder,
    ];
  };
  assert.deepEqual(p.q("task-state").textContent, "ready");
  assert.equal((p.q("stop") as HTMLButtonElement).disabled, true);
  assert.deepEqual(seen("starting"), ["starting…", "starting", false, "Ask OpenHands…"]);
  assert.deepEqual(seen("running", "runs the tests"), ["running · step 3/100", "running", false, "Ask OpenHands…"]);
  assert.equal(p.q("task-state").title, "runs the tests");
  assert.deepEqual(seen("awaiting_approval"), [
    "waiting for your approval · step 3/100",
    "awaiting_approval",
    false,
    "Ask OpenHands…",
  ]);
  assert.deepEqual(seen("retrying", "the model's server answered 503; retry 2 of 4 in 8 s"), [
    "retrying: the model's server answered 503; retry 2 of 4 in 8 s",
    "retrying",
    false,
    "Ask OpenHands…",
  ]);
  assert.deepEqual(seen("awaiting_user_input"), ["waiting for your answer", "awaiting_user_input", true, "Reply…"]);
  assert.deepEqual(seen("finished"), ["finished", "finished", true, "Ask OpenHands…"]);
  assert.deepEqual(seen("stopped"), ["stopped", "stopped", true, "Ask OpenHands…"]);
  assert.deepEqual(seen("error", "the model's key was refused"), [
    "failed: the model's key was refused",
    "error",
    true,
    "Ask OpenHands…",
  ]);
});

test("prompt: Enter sends and clears, Shift+Enter does not, blank is not sent; Send, Stop, New conversation", () => {
  const p = mount();
  const prompt = p.q("prompt") as HTMLTextAreaElement;
  prompt.value = "line one";
  p.key(prompt, "Enter", { shiftKey: true });
  assert.deepEqual(p.posted, []);
  prompt.value = "line one\nline two\n";
  p.key(prompt, "Enter");
  assert.deepEqual(p.posted, [{ type: "prompt", text: "line one\nline two" }]);
  assert.equal(prompt.value, "");
  prompt.value = "   ";
  p.key(prompt, "Enter");
  p.q("send").click();
  assert.equal(p.posted.length, 1);
  prompt.value = "by button";
  p.q("send").click();
  p.send({
    type: "taskState",
    state: { taskId: "t", conversationId: "c", state: "running", step: 1, maxIterations: 10 },
  });
  p.q("stop").click();
  p.q("new-conversation").click();
  assert.deepEqual(p.posted.slice(1), [
    { type: "prompt", text: "by button" },
    { type: "stop" },
    { type: "newConversation" },
  ]);
});

test("conversations: the list asks the host, shows title, state, date and cost, and resumes one", () => {
  const p = mount();
  const list = p.q("conversation-list");
  assert.equal(list.hidden, true);
  p.q("conversations-toggle").click();
  assert.equal(list.hidden, false);
  assert.deepEqual(p.posted, [{ type: "listConversations" }]);
  assert.equal(list.textContent, "Loading…");
  p.send({ type: "reset", conversationId: "c2" });
  p.send({
    type: "conversations",
    list: [
      {
        conversationId: "c1",
        title: "Fix <the> build",
        state: "finished",
        workspace: "/w",
        updatedAt: "2026-12-06T15:40:00Z",
        cost: 0.0123,
      },
      { conversationId: "c2", title: "", state: "stopped", workspace: "/w", updatedAt: "not a date", cost: 1.5 },
    ],
  });
  const items = p.qa("conversation-item");
  assert.equal(items.length, 2);
  assert.equal(items[0].querySelector(".conversation-title")!.textContent, "Fix <the> build");
  assert.match(
    items[0].querySelector(".conversation-meta")!.textContent!,
    /^finished · 2026-12-0[67] \d\d:\d0 · \$0\.0123$/,
  );
  assert.equal(items[1].querySelector(".conversation-title")!.textContent, "(untitled)");
  assert.equal(items[1].querySelector(".conversation-meta")!.textContent, "stopped · not a date · $1.50");
  assert.equal(items[1].getAttribute("data-current"), "true");
  items[0].click();
  assert.deepEqual(p.posted[1], { type: "resume", conversationId: "c1" });
  assert.equal(list.hidden, true);
  p.send({ type: "conversations", list: [] });
  assert.equal(list.textContent, "ConversationsNo conversations yet.");
});

test("approvals: a command to allow; the decision is posted, the card disabled and then marked with the outcome", () => {
  const p = mount();
  p.send({
    type: "approval",
    approval: {
      approvalId: "a1",
      taskId: "t",
      conversationId: "c",
      toolCallId: "call_1",
      title: "$ rm a.txt",
      reason: "it deletes files",
      kind: "execute",
      command: "rm a.txt",
    },
  });
  const card = p.q("approval");
  let shown = 0;
  card.scrollIntoView = () => void shown++;
  p.drain();
  assert.equal(shown, 1, "the question is scrolled into view");
  assert.equal(card.getAttribute("data-approval-id"), "a1");
  assert.equal(card.querySelector(".approval-title")!.textContent, "Approve? $ rm a.txt");
  assert.equal(card.querySelector(".approval-reason")!.textContent, "it deletes files");
  assert.equal(p.q("approval-command", card).textContent, "rm a.txt");
  const buttons = ["approve-allow_once", "approve-allow_always", "approve-reject"].map(
    (id) => p.q(id, card) as HTMLButtonElement,
  );
  assert.deepEqual(
    buttons.map((b) => b.textContent),
    ["Allow once", "Allow for this conversation", "Reject"],
  );
  buttons[1].click();
  buttons[0].click(); // disabled now: nothing more is posted
  assert.deepEqual(p.posted, [{ type: "approve", approvalId: "a1", decision: "allow_always" }]);
  assert.ok(buttons.every((b) => b.disabled));
  assert.equal(card.getAttribute("data-outcome"), "sent");
  p.send({ type: "approvalResolved", resolved: { approvalId: "a1", taskId: "t", decision: "allow_always" } });
  assert.equal(card.getAttribute("data-outcome"), "allow_always");
  assert.equal(p.q("approval-outcome", card).textContent, "Allowed for this conversation");
  // The same request again (a replay) is not shown twice; an unknown resolution is ignored.
  p.send({
    type: "approval",
    approval: {
      approvalId: "a1",
      taskId: "t",
      conversationId: "c",
      toolCallId: "x",
      title: "t",
      reason: "r",
      kind: "execute",
    },
  });
  p.send({ type: "approvalResolved", resolved: { approvalId: "zz", taskId: "t", decision: "reject" } });
  assert.equal(p.qa("approval").length, 1);
});

test("approvals: an edit shows its diff with Open diff; one that times out is disabled unanswered", () => {
  const p = mount();
  p.send({
    type: "approval",
    approval: {
      approvalId: "a2",
      taskId: "t",
      conversationId: "c",
      toolCallId: "call_2",
      title: "edit src/lib.rs",
      reason: "it edits outside the workspace",
      kind: "edit",
      diff: { path: "src/lib.rs", oldText: "old\n", newText: "new\n" },
    },
  });
  const card = p.q("approval");
  assert.equal(p.qa("approval-command", card).length, 0);
  assert.equal(p.q("diff", card).getAttribute("data-added"), "1");
  p.q("open-diff", card).click();
  assert.deepEqual(p.posted, [
    { type: "openDiff", path: "src/lib.rs", oldText: "old\n", newText: "new\n", title: "edit src/lib.rs" },
  ]);
  p.send({ type: "approvalResolved", resolved: { approvalId: "a2", taskId: "t", decision: "timeout" } });
  assert.equal(card.getAttribute("data-outcome"), "timeout");
  assert.equal(p.q("approval-outcome", card).textContent, "Timed out: not run");
  assert.ok(
    ["approve-allow_once", "approve-allow_always", "approve-reject"].every(
      (id) => (p.q(id, card) as HTMLButtonElement).disabled,
    ),
  );
  (p.q("approve-reject", card) as HTMLButtonElement).click();
  assert.equal(p.posted.length, 1);
  // Rejected and cancelled outcomes.
  for (const [id, decision, text] of [
    ["a3", "reject", "Rejected"],
    ["a4", "cancelled", "Cancelled: the task ended"],
    ["a5", "allow_once", "Allowed once"],
  ] as const) {
    p.send({
      type: "approval",
      approval: {
        approvalId: id,
        taskId: "t",
        conversationId: "c",
        toolCallId: id,
        title: id,
        reason: "",
        kind: "other",
      },
    });
    p.send({ type: "approvalResolved", resolved: { approvalId: id, taskId: "t", decision } });
    const c = p.qa("approval").find((a) => a.getAttribute("data-approval-id") === id)!;
    assert.equal(p.q("approval-outcome", c).textContent, text);
  }
});

test("reset: clears the conversation view, plan, usage, task state and what dedupe remembers", () => {
  const p = mount();
  const first = [
    params(1, user("hi")),
    params(2, execCall("call_1", "ls")),
    params(3, { sessionUpdate: "plan", entries: [{ content: "x", priority: "low", status: "pending" }] }),
  ];
  p.send(updates(...first));
  p.send(
    updates(
      params(4, {
        sessionUpdate: "usage_update",
        promptTokens: 1,
        completionTokens: 1,
        cost: { amount: 0, currency: "USD" },
      }),
    ),
  );
  p.send({
    type: "taskState",
    state: { taskId: "t", conversationId: "c", state: "running", step: 1, maxIterations: 5 },
  });
  p.send({ type: "reset", conversationId: "conv-2" });
  assert.equal(p.q("transcript").childNodes.length, 0);
  assert.equal(p.q("plan").hidden, true);
  assert.equal(p.q("usage").hidden, true);
  assert.equal(p.q("task-state").textContent, "ready");
  assert.equal((p.q("stop") as HTMLButtonElement).disabled, true);
  assert.equal(p.doc.body.getAttribute("data-conversation-id"), "conv-2");
  p.send(updates(...first));
  assert.equal(p.qa("message-user").length, 1, "after a reset the same updates show again");
  assert.equal(p.qa("tool-call").length, 1);
  p.send({ type: "reset", conversationId: null });
  assert.equal(p.doc.body.hasAttribute("data-conversation-id"), false);
});

test("server: a banner when the server is missing, crashed or stopped; none while it runs", () => {
  const p = mount();
  const banner = p.q("server-status");
  assert.equal(banner.hidden, true);
  p.send({ type: "server", status: "missing", message: "Set openhands.serverPath." });
  assert.deepEqual(
    [banner.hidden, banner.textContent, banner.getAttribute("data-status")],
    [false, "The OpenHands server was not found. Set openhands.serverPath.", "missing"],
  );
  p.send({ type: "server", status: "crashed" });
  assert.equal(banner.textContent, "The OpenHands server crashed.");
  p.send({ type: "server", status: "stopped" });
  assert.equal(banner.textContent, "The OpenHands server stopped.");
  p.send({ type: "server", status: "starting" });
  assert.equal(banner.textContent, "Starting the OpenHands server…");
  p.send({ type: "server", status: "running" });
  assert.equal(banner.hidden, true);
});

/** A short conversation as the server sends it: message + tool call share a seq (an action with a thought). */
function sample(sessionId = "conv-1"): SessionUpdateParams[] {
  return [
    params(1, user("run it"), sessionId),
    params(2, agent("I'll run it"), sessionId),
    params(2, execCall("call_2", "make"), sessionId),
    params(3, output("call_2", "built"), sessionId),
    params(4, agent("Done"), sessionId),
  ];
}

function snapshot(p: ReturnType<typeof mount>): string {
  return html(p.q("transcript"));
}

test("dedupe: live updates (one per batch) then a history replay of all of them show each once", () => {
  const live = mount();
  for (const u of sample()) live.send(updates(u));
  const once = snapshot(live);
  assert.equal(live.qa("tool-call").length, 1);
  live.send(updates(...sample()));
  assert.equal(snapshot(live), once);
  const batch = mount();
  batch.send(updates(...sample()));
  assert.equal(snapshot(batch), once, "live and one-batch renders agree");
});

test("dedupe: a replay that starts again at the seq the live stream last sent", () => {
  const p = mount();
  const s = sample();
  p.send(updates(s[0]), updates(s[1]), updates(s[2])); // live up to seq 2 (both of its updates)
  p.send(updates(...s.slice(1))); // replay from seq 2 on
  const full = mount();
  full.send(updates(...s));
  assert.equal(snapshot(p), snapshot(full));
  // A live event split across batches, then its replay in one batch.
  const q = mount();
  q.send(updates(s[0], s[1]), updates(s[2], s[3]), updates(...s));
  assert.equal(snapshot(q), snapshot(full));
  // A replay (stored up to seq 2) landing between the two live updates of seq 2.
  const r = mount();
  r.send(updates(s[0], s[1]), updates(s[0], s[1], s[2]), updates(s[2], s[3], s[4]));
  assert.equal(snapshot(r), snapshot(full));
  // The same with two chunks of one message in a seq, where showing one twice would be visible.
  const a = params(7, agent("a"));
  const b = params(7, agent("b"));
  const m = mount();
  m.send(updates(a), updates(a, b), updates(b));
  assert.equal(m.q("message-agent").querySelector(".message-body")!.textContent, "ab");
});

test("dedupe: same seq in another conversation is not a duplicate; updates without a seq always show", () => {
  const p = mount();
  p.send(updates(params(1, user("a"), "conv-A"), params(1, user("b"), "conv-B")));
  // Both shown (as two paragraphs of one user message: consecutive chunks of one kind).
  assert.equal(html(p.q("message-user").querySelector(".message-body")!), "<p>a</p><p>b</p>");
  const noSeq = { sessionId: "c", update: agent("x") } as unknown as SessionUpdateParams;
  p.send(updates(noSeq, { ...noSeq, update: execCall("k", "ls") }, noSeq));
  assert.equal(p.qa("message-agent").length, 2);
});

test("long replay: the last items show at once, earlier ones in steps on request, in the right order", () => {
  const many: SessionUpdateParams[] = [];
  for (let i = 0; i < 130; i++) {
    many.push(params(2 * i + 1, execCall(`call_${i}`, `echo ${i}`)));
    many.push(params(2 * i + 2, output(`call_${i}`, `${i}`)));
  }
  const p = mount();
  p.send(updates(...many));
  assert.equal(p.qa("tool-call").length, RECENT_ITEMS);
  const more = p.q("show-earlier");
  assert.equal(more.textContent, `Show ${130 - RECENT_ITEMS} earlier items`);
  // An update to a call not built yet changes its state, shown when it is built.
  p.send(updates(params(1000, { sessionUpdate: "tool_call_update", toolCallId: "call_0", status: "failed" })));
  more.click();
  assert.equal(p.qa("tool-call").length, RECENT_ITEMS + EARLIER_STEP);
  while (p.qa("show-earlier").length) p.q("show-earlier").click();
  const ids = p.qa("tool-call").map((c) => c.getAttribute("data-tool-call-id"));
  assert.deepEqual(
    ids,
    Array.from({ length: 130 }, (_, i) => `call_${i}`),
  );
  assert.equal(p.qa("tool-call")[0].getAttribute("data-status"), "failed");
  assert.equal(p.q("transcript").firstElementChild, p.qa("tool-call")[0]);
});

test("scrolling: the view follows new content once per frame, and stops following when the reader scrolls up", () => {
  const p = mount();
  const t = p.q("transcript");
  // happy-dom has no layout: give the transcript one (1000 px of content in a 100 px view).
  Object.defineProperty(t, "scrollHeight", { configurable: true, get: () => 1000 });
  Object.defineProperty(t, "clientHeight", { configurable: true, get: () => 100 });
  p.send(updates(params(1, user("a"))), updates(params(2, agent("b"))));
  assert.equal(p.queued.length, 1, "one scroll for the frame");
  p.drain();
  assert.equal(t.scrollTop, 1000);
  const Event = p.window.Event as unknown as typeof globalThis.Event;
  t.dispatchEvent(new Event("wheel"));
  t.scrollTop = 200;
  t.dispatchEvent(new Event("scroll"));
  p.send(updates(params(3, user("c"))));
  p.drain();
  assert.equal(t.scrollTop, 200, "the reader's place is kept");
  t.dispatchEvent(new Event("wheel"));
  t.scrollTop = 900;
  t.dispatchEvent(new Event("scroll"));
  p.send(updates(params(4, agent("d"))));
  p.drain();
  assert.equal(t.scrollTop, 1000, "back at the bottom: following again");
});

test("plan and usage: in one batch only the last of each is shown", () => {
  const p = mount();
  const plan = (content: string): Update => ({
    sessionUpdate: "plan",
    entries: [{ content, priority: "low", status: "pending" }],
  });
  const usage = (n: number): Update => ({
    sessionUpdate: "usage_update",
    promptTokens: n,
    completionTokens: 0,
    cost: { amount: 0, currency: "USD" },
  });
  p.send(updates(params(1, plan("first")), params(2, usage(1)), params(3, plan("second")), params(4, usage(2))));
  assert.equal(p.q("plan").querySelector(".plan-content")!.textContent, "second");
  assert.equal(p.q("usage").textContent, "2 in · 0 out · $0.00");
});
