// Why this file exists: what the panel's "Changes" section shows, kept by the extension host so a reloaded panel
// gets it back: the running task's edits so far (from its edit tool calls), then the server's list for the run
// that ended, less the files the user kept or reverted. No `vscode` import, so it is unit-tested.

import { diffLines, textLines } from "../webview/diff";
import type { ChangesView, FileChange, SessionUpdateParams, TaskChanges, TaskState } from "./protocol";

/** States in which a task works (its changes are not final; keep and revert wait). */
const RUNNING = new Set<TaskState["state"]>(["starting", "running", "awaiting_approval", "retrying"]);

/** One edit tool call of the running task. */
type LiveEdit = { path: string; created: boolean; added: number; removed: number; done: boolean };

/** Added and removed lines between two texts. */
export function lineCounts(oldText: string | null, newText: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of diffLines(textLines(oldText), textLines(newText))) {
    if (l.kind === "add") added++;
    else if (l.kind === "del") removed++;
  }
  return { added, removed };
}

/** `path` relative to the workspace `root` when it is inside it, `/`-separated. */
export function relativePath(path: string, root: string | undefined): string {
  const p = path.replace(/\\/g, "/");
  if (!root) return p;
  const r = root.replace(/\\/g, "/").replace(/\/+$/, "");
  return p.startsWith(`${r}/`) ? p.slice(r.length + 1) : p;
}

/** A revert's outcome, as the server logs it once the files are in place (or not). */
export type Outcome = { ok: boolean; text: string };

/** The server's log line closing a revert: `OpenHands reverted ...` or `OpenHands: NOT reverted: ...`. */
export function revertOutcome(line: string): Outcome | undefined {
  if (line.startsWith("OpenHands reverted ")) return { ok: true, text: line };
  const failed = /^OpenHands: ((NOT reverted|the revert could not be recorded)\b.*)$/s.exec(line);
  return failed ? { ok: false, text: failed[1] } : undefined;
}

export class ChangesModel {
  private mode: ChangesView["mode"] = "live";
  /** The task whose edits `live` counts. */
  private liveTask: string | null = null;
  private live = new Map<string, LiveEdit>();
  private review: FileChange[] = [];
  private busySet = new Set<string>();
  private note: ChangesView["message"];

  /** Another conversation (or none): nothing to show. */
  reset(): void {
    this.mode = "live";
    this.liveTask = null;
    this.live.clear();
    this.review = [];
    this.busySet.clear();
    this.note = undefined;
  }

  /** A task's state: a new running task starts a new live list; `ended` says the server's list is due. */
  taskState(s: TaskState): { changed: boolean; ended: boolean } {
    if (RUNNING.has(s.state)) {
      if (s.taskId === this.liveTask && this.mode === "live") return { changed: false, ended: false };
      this.startLive(s.taskId);
      return { changed: true, ended: false };
    }
    return { changed: false, ended: true };
  }

  private startLive(taskId: string): void {
    this.reset();
    this.liveTask = taskId;
  }

  /** Live updates of the current conversation; whether the view changed. */
  updates(list: SessionUpdateParams[], root: string | undefined): boolean {
    let changed = false;
    for (const p of list) {
      const u = p.update;
      if (u.sessionUpdate !== "tool_call" && u.sessionUpdate !== "tool_call_update") continue;
      // An update of a task not seen running yet: its taskState may come after its first updates.
      if (p._meta.taskId !== this.liveTask) {
        if (u.sessionUpdate !== "tool_call" || this.mode !== "live") continue;
        this.startLive(p._meta.taskId);
        changed = true;
      }
      if (u.sessionUpdate === "tool_call") {
        const diff = u.kind === "edit" ? u.content?.find((c) => c.type === "diff") : undefined;
        if (!diff || diff.type !== "diff") continue;
        const { added, removed } = lineCounts(diff.oldText, diff.newText);
        const done = u.status === "completed";
        this.live.set(u.toolCallId, {
          path: relativePath(diff.path, root),
          created: diff.oldText === null,
          added,
          removed,
          done,
        });
        changed ||= done;
      } else {
        const e = this.live.get(u.toolCallId);
        if (!e || e.done) continue;
        if (u.status === "failed") this.live.delete(u.toolCallId);
        else if (u.status === "completed") {
          e.done = true;
          changed = true;
        }
      }
    }
    return changed && this.mode === "live";
  }

  /** The server's list for the run that ended. */
  setReview(c: TaskChanges): void {
    // What the live list said (no checkpoints...) is past; a refusal said about this list stays.
    if (this.mode === "live") this.note = undefined;
    this.mode = "review";
    this.review = c.files ?? [];
  }

  /** The server has no list (no checkpoints, a remote runtime...): said only where there were edits to review. */
  unavailable(why: string): void {
    if (this.mode === "live" && this.liveFiles().length) this.note = { text: why, error: true };
  }

  message(text: string | undefined, error = true): void {
    this.note = text === undefined ? undefined : { text, error };
  }

  busy(path: string, on: boolean): void {
    if (on) this.busySet.add(path);
    else this.busySet.delete(path);
  }

  /** Whether keep and revert make sense now (a finished run's list). */
  get reviewing(): boolean {
    return this.mode === "review";
  }

  private liveFiles(): ChangesView["files"] {
    const byPath = new Map<string, ChangesView["files"][number]>();
    for (const e of this.live.values()) {
      if (!e.done) continue;
      const f = byPath.get(e.path);
      if (f) {
        f.added = (f.added ?? 0) + e.added;
        f.removed = (f.removed ?? 0) + e.removed;
      } else {
        byPath.set(e.path, {
          path: e.path,
          status: e.created ? "added" : "modified",
          added: e.added,
          removed: e.removed,
          binary: false,
        });
      }
    }
    return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  view(): ChangesView {
    const busy = [...this.busySet];
    if (this.mode === "live") return { mode: "live", files: this.liveFiles(), kept: 0, reverted: 0, busy, message: this.note };
    const files = this.review
      .filter((f) => !f.settled)
      .map(({ path, status, added, removed, binary }) => ({ path, status, added, removed, binary }));
    const count = (s: FileChange["settled"]) => this.review.filter((f) => f.settled === s).length;
    return { mode: "review", files, kept: count("kept"), reverted: count("reverted"), busy, message: this.note };
  }
}
