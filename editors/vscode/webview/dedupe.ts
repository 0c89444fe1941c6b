// Why this file exists: the host may hand the panel the same update twice (live, then again in a history replay
// that overlaps it); this decides which updates the panel has already shown.

import type { SessionUpdateParams, Update } from "../src/protocol";

/**
 * The dedupe rule. An update is identified by `(sessionId, _meta.seq, index)`, where `index` is its position among
 * the updates of that seq: the server turns one stored event (one seq) into one or a few updates, always sent
 * consecutively and in the same order, live and in replays. So `index` counts the consecutive arrivals with the
 * same `(sessionId, seq)` (across batches, since live updates may be split between batches), except that an
 * arrival equal to one already in the current run is that one again (a replay that starts at the seq the live
 * stream was sending, or interleaves with it). An update whose identity was seen before is dropped. Updates
 * without a numeric seq cannot be identified and are always shown. `reset` forgets everything.
 */
export class Dedupe {
  private readonly seen = new Set<string>();
  private runKey = "";
  /** The distinct updates of the current run, by index. */
  private run: Update[] = [];

  /** Whether `p` is new (and now remembered). */
  accept(p: SessionUpdateParams): boolean {
    const seq = p._meta?.seq;
    if (typeof seq !== "number") {
      this.runKey = "";
      this.run = [];
      return true;
    }
    const key = `${p.sessionId}\u0000${seq}`;
    let index: number;
    if (key !== this.runKey) {
      this.runKey = key;
      this.run = [p.update];
      index = 0;
    } else {
      index = this.run.findIndex((u) => sameUpdate(u, p.update));
      if (index < 0) index = this.run.push(p.update) - 1;
    }
    const id = `${key}\u0000${index}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    return true;
  }

  reset(): void {
    this.seen.clear();
    this.runKey = "";
    this.run = [];
  }
}

function sameUpdate(a: Update, b: Update): boolean {
  return a === b || (a.sessionUpdate === b.sessionUpdate && JSON.stringify(a) === JSON.stringify(b));
}
