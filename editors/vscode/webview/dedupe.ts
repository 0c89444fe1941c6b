// Why this file exists: the host may hand the panel the same update twice (live, then again in a history replay
// that overlaps it); this decides which updates the panel has already shown.

import type { SessionUpdateParams, Update } from "../src/protocol";

/**
 * The dedupe rule. An update is identified by `(sessionId, _meta.seq, index)`, where `index` is its position among
 * the updates of that seq: the server turns one stored event (one seq) into one or a few updates, always sent
 * consecutively and in the same order, live and in replays. So `index` counts the consecutive arrivals with the
 * same `(sessionId, seq)` (across batches, since live updates may be split between batches), and a run restarts
 * at 0 when the seq changes or when the update equals the run's first one (a replay starting again at the seq the
 * live stream last sent). An update whose identity was seen before is dropped. Updates without a numeric seq
 * cannot be identified and are always shown. `reset` forgets everything (a new conversation view).
 */
export class Dedupe {
  private readonly seen = new Set<string>();
  private runKey = "";
  private runIndex = 0;
  private runFirst: Update | null = null;

  /** Whether `p` is new (and now remembered). */
  accept(p: SessionUpdateParams): boolean {
    const seq = p._meta?.seq;
    if (typeof seq !== "number") {
      this.runKey = "";
      return true;
    }
    const key = `${p.sessionId}\u0000${seq}`;
    if (key === this.runKey && !sameUpdate(p.update, this.runFirst)) this.runIndex++;
    else {
      this.runKey = key;
      this.runIndex = 0;
      this.runFirst = p.update;
    }
    const id = `${key}\u0000${this.runIndex}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }

  reset(): void {
    this.seen.clear();
    this.runKey = "";
    this.runIndex = 0;
    this.runFirst = null;
  }
}

function sameUpdate(a: Update, b: Update | null): boolean {
  return b !== null && a.sessionUpdate === b.sessionUpdate && JSON.stringify(a) === JSON.stringify(b);
}
