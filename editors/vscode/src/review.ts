// Why this file exists: the panel's "Changes" section on the extension host's side: it follows the running task's
// edits, asks the server for the finished run's list (`openhands.task.changes`), and carries the panel's keep,
// revert and diff clicks to `openhands.task.keep`/`revert`/`diff`, showing what the server says back.

import * as vscode from "vscode";

import { ChangesModel, type Outcome, revertOutcome } from "./changes";
import type { DiffDocuments } from "./diff";
import type { ChangesView, SessionUpdateParams, TaskChanges, TaskState, ToPanel } from "./protocol";
import type { Server } from "./server";
import { reverseApply } from "./unidiff";

/** How long a revert may take to report (the server waits for the editor to show each restored buffer). */
const REVERT_TIMEOUT_MS = 20_000;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class Review {
  readonly model = new ChangesModel();
  /** Bumped by every reset: an answer about an earlier conversation is dropped. */
  private generation = 0;
  private waiting: ((o: Outcome) => void) | undefined;

  /** Until when the server's diff document (`window/showDocument` of a `.diff` under `reviews/`) is ours to show. */
  private diffWanted = 0;

  constructor(
    private readonly server: Server,
    private readonly diffs: DiffDocuments,
    private readonly post: (m: ToPanel) => void,
    private readonly conversation: () => string | null,
    private readonly trace: (event: string, data?: unknown) => void,
  ) {}

  view(): ChangesView {
    return this.model.view();
  }

  private publish(): void {
    this.post({ type: "changes", changes: this.model.view() });
  }

  /** Another conversation is shown: its list, if it has one, comes from the server. */
  reset(): void {
    this.generation++;
    this.model.reset();
    this.publish();
  }

  /** Updates as they arrive (not replayed history): the running task's edits. */
  updates(list: SessionUpdateParams[]): void {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (this.model.updates(list, root)) this.publish();
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
    const id = this.conversation();
    return id ? { conversationId: id } : undefined;
  }

  /** The server's list of run `taskId` (null: the conversation's last run). */
  async refresh(taskId: string | null = null): Promise<void> {
    const target = this.target(taskId);
    if (!target) return;
    const generation = this.generation;
    try {
      const c = await this.server.command<TaskChanges>("openhands.task.changes", [target]);
      if (generation !== this.generation) return;
      this.model.setRun(taskId, c);
      this.trace("changes", { taskId, files: c.files.length });
    } catch (e) {
      if (generation !== this.generation) return;
      this.model.unavailable(errorText(e));
      this.trace("changes.error", errorText(e));
    }
    this.publish();
  }

  /** A line the server logged: the outcome of the revert that waits for one. */
  logged(line: string): void {
    const o = revertOutcome(line);
    if (o && this.waiting) {
      this.waiting(o);
      this.waiting = undefined;
    }
  }

  /**
   * Keeps or reverts `path` of run `taskId`, or (no `path`) every file left of every run, newest run first; the
   * buttons wait meanwhile; then the lists as the server has them.
   */
  private async act(
    path: string | undefined,
    taskId: string | null | undefined,
    f: (args: Record<string, string>) => Promise<void>,
  ): Promise<void> {
    const runs = path === undefined ? this.model.reviewable : [taskId ?? null];
    const generation = this.generation;
    this.model.message(undefined);
    for (const run of runs) this.model.busy(run, path, true);
    this.publish();
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
  }

  keep(path: string | undefined, taskId: string | null | undefined): Promise<void> {
    return this.act(path, taskId, async (args) => {
      await this.server.command("openhands.task.keep", [args]);
    });
  }

  revert(path: string | undefined, taskId: string | null | undefined): Promise<void> {
    return this.act(path, taskId, async (args) => {
      // The outcome may be logged before the command's answer arrives: listen first.
      const outcome = new Promise<Outcome | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), REVERT_TIMEOUT_MS);
        this.waiting = (o) => {
          clearTimeout(timer);
          resolve(o);
        };
      });
      let r: { reverting?: string[] };
      try {
        r = await this.server.command<{ reverting?: string[] }>("openhands.task.revert", [args]);
      } catch (e) {
        this.waiting = undefined;
        throw e;
      }
      if (!r.reverting?.length) {
        this.waiting = undefined;
        return;
      }
      const o = await outcome;
      this.trace("revert", o ?? "no outcome");
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

  /**
   * The file's change in VS Code's diff editor: the text before the task (the server's diff undone on the file
   * as it is now) beside the file itself. Where that cannot be rebuilt (the file changed since, a binary file),
   * the server's read-only diff document.
   */
  async diff(path: string, taskId: string | null): Promise<void> {
    const target = this.target(taskId);
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!target || !root) return;
    this.diffWanted = Date.now() + 10_000;
    let r: { uri: string; diff: string };
    try {
      r = await this.server.command<{ uri: string; diff: string }>("openhands.task.diff", [{ ...target, file: path }]);
    } catch (e) {
      this.diffWanted = 0;
      this.model.message(errorText(e));
      this.publish();
      return;
    }
    const file = vscode.Uri.joinPath(root, path);
    let now: string | null = null;
    try {
      now = (await vscode.workspace.openTextDocument(file)).getText();
    } catch {
      // Deleted: the diff editor shows it against an empty side.
    }
    const before = reverseApply(r.diff, now ?? "");
    this.trace("diff", { path, rebuilt: before !== undefined });
    if (before === undefined) {
      await vscode.window.showTextDocument(vscode.Uri.parse(r.uri), { preview: true });
      return;
    }
    await this.diffs.openAgainst(path, before, now === null ? null : file, `${path} (task's change)`);
  }
}
