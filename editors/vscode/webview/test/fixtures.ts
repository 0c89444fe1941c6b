// Why this file exists: a realistic stored conversation of any length (messages in Markdown, thoughts, commands
// with coloured output, reads, edits with diffs, plans, usage), made the way the server's rich channel makes it,
// for the benchmark and the tests that need volume.

import type { SessionUpdateParams, Update } from "../../src/protocol";

/** A small deterministic PRNG (mulberry32), so every run renders the same conversation. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  "the agent reads file test output change function module error value build check cargo run step plan fix line".split(
    " ",
  );

export function conversation(count: number, sessionId = "conv-bench", seed = 7): SessionUpdateParams[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const out: SessionUpdateParams[] = [];
  let seq = 0;
  let call = 0;
  const push = (update: Update, sameSeq = false) => {
    if (!sameSeq) seq++;
    out.push({ sessionId, _meta: { seq, taskId: "task-bench" }, update });
  };
  const text = (t: string) => ({ type: "text" as const, text: t });
  const file = (n: number) =>
    Array.from({ length: n }, (_, i) => `    let v${i} = ${words(3).replace(/ /g, "_")}(${i});`).join("\n") + "\n";
  let plan = 0;
  while (out.length < count) {
    push({
      sessionUpdate: "user_message_chunk",
      content: text(`Please ${words(8)}.\n\nIt fails with \`${words(2)}\`.`),
    });
    const steps = 3 + Math.floor(r() * 8);
    for (let s = 0; s < steps && out.length < count; s++) {
      const kind = r();
      const id = `call_${++call}`;
      if (r() < 0.3)
        push({ sessionUpdate: "agent_thought_chunk", content: text(`${words(20)}.\n\n- ${words(5)}\n- ${words(6)}`) });
      // As the server does: an action's thought is a message chunk sharing the tool call's seq.
      const said = r() < 0.5;
      if (said)
        push({
          sessionUpdate: "agent_message_chunk",
          content: text(`I will **${words(3)}** and then *${words(2)}*:\n\n1. ${words(6)}\n2. \`${words(2)}\``),
        });
      if (kind < 0.5) {
        const command = `cargo test -p ${pick(WORDS)} -- ${pick(WORDS)}`;
        push(
          {
            sessionUpdate: "tool_call",
            toolCallId: id,
            title: `$ ${command}`,
            kind: "execute",
            status: "in_progress",
            rawInput: { command },
          },
          said,
        );
        const lines = 5 + Math.floor(r() * (r() < 0.1 ? 400 : 60));
        const output = Array.from({ length: lines }, (_, i) =>
          i % 7 === 0
            ? `\x1b[32mtest ${words(2)} ... \x1b[1mok\x1b[0m`
            : i % 13 === 0
              ? `\x1b[31merror\x1b[0m: ${words(6)}`
              : `   ${words(9)}`,
        ).join("\n");
        push({
          sessionUpdate: "tool_call_update",
          toolCallId: id,
          status: r() < 0.85 ? "completed" : "failed",
          content: [{ type: "content", content: text(output) }],
          rawOutput: { exitCode: r() < 0.8 ? 0 : 101 },
        });
      } else if (kind < 0.75) {
        const path = `/workspace/src/${pick(WORDS)}.rs`;
        const old = file(30 + Math.floor(r() * 200));
        const lines = old.split("\n");
        for (let k = 0; k < 4; k++) lines[Math.floor(r() * (lines.length - 1))] = `    // ${words(6)}`;
        const next = lines.join("\n");
        push(
          {
            sessionUpdate: "tool_call",
            toolCallId: id,
            title: `edit ${path}`,
            kind: "edit",
            status: "in_progress",
            content: [{ type: "diff", path, oldText: lines[3], newText: `    // ${words(4)}` }],
          },
          said,
        );
        push({
          sessionUpdate: "tool_call_update",
          toolCallId: id,
          status: "completed",
          content: [{ type: "diff", path, oldText: old, newText: next }],
        });
      } else {
        const path = `/workspace/src/${pick(WORDS)}.rs`;
        push(
          {
            sessionUpdate: "tool_call",
            toolCallId: id,
            title: `read ${path}`,
            kind: "read",
            status: "in_progress",
            rawInput: { path },
          },
          said,
        );
        push({
          sessionUpdate: "tool_call_update",
          toolCallId: id,
          status: "completed",
          content: [{ type: "content", content: text(file(20 + Math.floor(r() * 100))) }],
        });
      }
      if (++plan % 12 === 0) {
        const n = 3 + Math.floor(r() * 5);
        push({
          sessionUpdate: "plan",
          entries: Array.from({ length: n }, (_, i) => ({
            content: words(5),
            priority: "medium" as const,
            status: i < n / 3 ? ("completed" as const) : i < n / 2 ? ("in_progress" as const) : ("pending" as const),
          })),
        });
      }
    }
    push({
      sessionUpdate: "agent_message_chunk",
      content: text(`Done: ${words(12)}.\n\n\`\`\`rust\n${file(6)}\`\`\``),
    });
    push({
      sessionUpdate: "usage_update",
      promptTokens: 1000 * seq,
      completionTokens: 40 * seq,
      cachedTokens: 500 * seq,
      cost: { amount: seq / 1000, currency: "USD" },
    });
  }
  return out.slice(0, count);
}
