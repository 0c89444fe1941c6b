// Why this file exists: the extension host's memory of the current conversation (its updates in seq order
// without duplicates, the task's state, the approvals that wait), so the panel can be closed, reopened or
// reloaded and be replayed everything; no `vscode` import, so it is unit-tested.

import type {
  ApprovalRequest,
  ApprovalResolved,
  SessionUpdateParams,
  TaskState,
  ToPanel,
} from "./protocol";

export type ServerStatus = Extract<ToPanel, { type: "server" }>;

/** What adding updates did: the new ones, and whether they all came after those the panel already has. */
export type Added = { added: SessionUpdateParams[]; appended: boolean; switched: boolean };

/**
 * One event may make several updates with the same seq (a thought and its tool call), and a live update and
 * its replay from `openhands/sessionHistory` differ in `_meta.taskId`; so an update is known by its seq and
 * its content.
 */
function key(p: SessionUpdateParams): string {
  return `${p._meta.seq}\u0000${JSON.stringify(p.update)}`;
}

export class ConversationStore {
  private current: string | null = null;
  private updates: SessionUpdateParams[] = [];
  private keys = new Set<string>();
  private state: TaskState | null = null;
  private pending = new Map<string, ApprovalRequest>();
  server: ServerStatus = { type: "server", status: "starting" };

  get conversationId(): string | null {
    return this.current;
  }

  get taskState(): TaskState | null {
    return this.state;
  }

  get approvals(): ApprovalRequest[] {
    return [...this.pending.values()];
  }

  get size(): number {
    return this.updates.length;
  }

  /** Forgets everything and follows `id` (null: the next task's conversation). Returns whether it changed. */
  switchTo(id: string | null): boolean {
    if (id === this.current && id !== null) return false;
    this.current = id;
    this.updates = [];
    this.keys.clear();
    this.state = null;
    this.pending.clear();
    return true;
  }

  /** Adopts `id` when no conversation is followed yet; whether `id` is (now) the current one. */
  private follows(id: string): { ok: boolean; switched: boolean } {
    if (this.current === null) {
      this.current = id;
      return { ok: true, switched: true };
    }
    return { ok: this.current === id, switched: false };
  }

  /** Adds the current conversation's updates (others are ignored), keeping seq order and dropping repeats. */
  add(updates: SessionUpdateParams[]): Added {
    const added: SessionUpdateParams[] = [];
    let appended = true;
    let switched = false;
    for (const u of updates) {
      const f = this.follows(u.sessionId);
      switched ||= f.switched;
      if (!f.ok) continue;
      const k = key(u);
      if (this.keys.has(k)) continue;
      this.keys.add(k);
      added.push(u);
      // Insert after the last update with a seq not greater than this one's (stable for equal seqs).
      let i = this.updates.length;
      while (i > 0 && this.updates[i - 1]._meta.seq > u._meta.seq) i--;
      if (i < this.updates.length) appended = false;
      this.updates.splice(i, 0, u);
    }
    return { added, appended, switched };
  }

  /** Records a task's state when it belongs to the current conversation; whether it did. */
  setTaskState(s: TaskState): { ok: boolean; switched: boolean } {
    const f = this.follows(s.conversationId);
    if (!f.ok) return f;
    this.state = s;
    if (!["running", "starting", "awaiting_approval", "retrying"].includes(s.state)) this.pending.clear();
    return f;
  }

  addApproval(a: ApprovalRequest): { ok: boolean; switched: boolean } {
    const f = this.follows(a.conversationId);
    if (f.ok) this.pending.set(a.approvalId, a);
    return f;
  }

  /** The server went away: its task and the approvals it waited for are gone. */
  forgetTask(): void {
    this.state = null;
    this.pending.clear();
  }

  /** Forgets a pending approval; whether it was one of ours. */
  resolveApproval(r: ApprovalResolved): boolean {
    return this.pending.delete(r.approvalId);
  }

  /** Everything the panel needs to show the current conversation from scratch, in order. */
  replay(): ToPanel[] {
    const out: ToPanel[] = [{ type: "reset", conversationId: this.current }];
    if (this.updates.length) out.push({ type: "updates", updates: [...this.updates] });
    if (this.state) out.push({ type: "taskState", state: this.state });
    for (const approval of this.pending.values()) out.push({ type: "approval", approval });
    out.push(this.server);
    return out;
  }
}
