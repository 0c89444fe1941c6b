// Why this file exists: the panel's "Changes" section on the extension host's side: it follows the running task's
// edits, asks the server for the finished run's list (`openhands.task.changes`), and carries the panel's keep,
// revert and diff clicks to `openhands.task.keep`/`revert`/`diff`, showing what the server says back. What it needs
// of VS Code comes through `ReviewHost`, so it is unit-tested against a fake server.

import { ChangesModel, type Outcome, revertOutcome } from "./changes";
import type { ChangesView, ReviewUpdated, SessionUpdateParams, TaskChanges, TaskState, ToPanel } from "./protocol";

/** How long a revert may take to report (the server waits for the editor to show each restored buffer). */
const REVERT_TIMEOUT_MS = 20_000;

/** `openhands.task.diff`'s answer. */
export type TaskDiff = { uri: string; diff: string };

export type ReviewHost = {
  /** `workspace/executeCommand`; rejects with the server's sentence. */
  command<T>(command: string, args: unknown[]): Promise<T>;
  post(m: ToPanel): void;
  /** The conversation the panel shows. */
  conversation(): string | null;
  /** The workspace folder's path. */
  root(): string | undefined;
  /** Shows a file's change, given what `openhands.task.diff` answered. */
  showDiff(path: string, d: TaskDiff): Promise<void>;
  trace(event: string, data?: unknown): void;
  revertTimeoutMs?: number;
};

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Review {
  readonly model = new ChangesModel();
  /** Bumped by every reset: an answer about an earlier conversation is dropped. */
  private generation = 0;
  private waiting: ((o: Outcome) => void) | undefined;
  /** The keep or revert under way; the next waits for it. */
  private queue: Promise<void> = Promise.resolve();

  /** Until when the server's diff document (`window/showDocument` of a `.diff` under `reviews/`) is ours to show. */
  private diffWanted = 0;

  constructor(private readonly host: ReviewHost) {}

  view(): ChangesView {
    return this.model.view();
  }

  private publish(): void {
    this.host.post({ type: "changes", changes: this.model.view() });
  }

  /** Another conversation is shown: its list, if it has one, comes from the server. */
  reset(): void {
    this.generation++;
    this.model.reset();
    this.publish();
  }

  /** Updates as they arrive (not replayed history): the running task's edits. */
  updates(list: SessionUpdateParams[]): void {
    if (this.model.updates(list, this.host.root())) this.publish();
  }

  taskState(s: TaskState): void {
    const r = this.model.taskState(s);
    if (r.changed) this.publish();
    if (r.ended) void this.refresh(s.taskId);
  }

  /** The server restarted: the runs it knew are now known by conversation. */
  serverRestarted(): void {
    this.model.serverRestarted();
  }

  /** Which run a command is about: this server's task, or the conversation's last run. */
  private target(taskId: string | null): Record<string, string> | undefined {
    if (taskId) return { taskId };
    const id = this.host.conversation();
    return id ? { conversationId: id } : undefined;
  }

  /** The server's list of run `taskId` (null: the conversation's last run). */
  async refresh(taskId: string | null = null): Promise<void> {
    const target = this.target(taskId);
    if (!target) return;
    const generation = this.generation;
    try {
      const c = await this.host.command<TaskChanges>("openhands.task.changes", [target]);
      if (generation !== this.generation) return;
      this.model.setRun(taskId, c);
      this.host.trace("changes", { taskId, files: c.files.length });
    } catch (e) {
      if (generation !== this.generation) return;
      this.model.unavailable(errorText(e));
      this.host.trace("changes.error", errorText(e));
    }
    this.publish();
  }

  /** `openhands/reviewUpdated`: the outcome of the revert that waits for one. */
  reviewed(note: ReviewUpdated): void {
    const o = revertOutcome(note);
    if (o && this.waiting) {
      this.waiting(o);
      this.waiting = undefined;
    }
  }

  /**
   * Keeps or reverts `path` of run `taskId`, or (no `path`) every file left of every run, newest run first; the
   * buttons wait meanwhile; then the lists as the server has them.
   */
  private act(
    path: string | undefined,
    taskId: string | null | undefined,
    f: (args: Record<string, string>) => Promise<void>,
  ): Promise<void> {
    const runs = path === undefined ? this.model.reviewable : [taskId ?? null];
    const generation = this.generation;
    for (const run of runs) this.model.busy(run, path, true);
    this.publish();
    // One at a time: a revert's outcome is told by a log line that names no request.
    const done = this.queue.then(async () => {
      this.model.message(undefined);
      try {
        for (const run of runs) {
          const target = this.target(run);
          if (!target || generation !== this.generation) break;
          if (path !== undefined) target.file = path;
          await f(target);
        }
      } catch (e) {
        this.model.message(errorText(e));
      } finally {
        for (const run of runs) this.model.busy(run, path, false);
      }
      for (const run of this.model.known) await this.refresh(run);
      this.publish();
    });
    this.queue = done;
    return done;
  }

  keep(path: string | undefined, taskId: string | null | undefined): Promise<void> {
    return this.act(path, taskId, async (args) => {
      await this.host.command("openhands.task.keep", [args]);
    });
  }

  revert(path: string | undefined, taskId: string | null | undefined): Promise<void> {
    return this.act(path, taskId, async (args) => {
      // The outcome may arrive before the command's answer: listen first.
      const outcome = new Promise<Outcome | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), this.host.revertTimeoutMs ?? REVERT_TIMEOUT_MS);
        this.waiting = (o) => {
          clearTimeout(timer);
          resolve(o);
        };
      });
      let r: { reverting?: string[] };
      try {
        r = await this.host.command<{ reverting?: string[] }>("openhands.task.revert", [args]);
      } catch (e) {
        this.waiting = undefined;
        throw e;
      }
      if (!r.reverting?.length) {
        this.waiting = undefined;
        return;
      }
      const o = await outcome;
      this.host.trace("revert", o ?? "no outcome");
      if (!o) throw new Error("the server did not say how the revert went; see OpenHands: Show server log");
      if (!o.ok) throw new Error(o.text);
    });
  }

  /** The server's diff document that `diff` asked for: shown by `diff` itself, in VS Code's diff editor. */
  tookDocument(uri: string): boolean {
    if (Date.now() > this.diffWanted || !/\/reviews\/[^/]+\.diff$/.test(uri)) return false;
    this.diffWanted = 0;
    return true;
  }

  /** The file's change, as `ReviewHost.showDiff` shows it; a refusal goes to the panel. */
  async diff(path: string, taskId: string | null): Promise<void> {
    const target = this.target(taskId);
    if (!target) return;
    this.diffWanted = Date.now() + 10_000;
    let d: TaskDiff;
    try {
      d = await this.host.command<TaskDiff>("openhands.task.diff", [{ ...target, file: path }]);
    } catch (e) {
      this.diffWanted = 0;
      this.model.message(errorText(e));
      this.publish();
      return;
    }
    await this.host.showDiff(path, d);
  }
}
