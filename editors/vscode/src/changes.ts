// Why this file exists: what the panel's "Changes" section shows, kept by the extension host so a reloaded panel
// gets it back: the server's list of each run of the conversation (a task, a reply) that ended in this window,
// less the files the user kept or reverted, and the running task's edits so far (from its edit tool calls).
// No `vscode` import, so it is unit-tested.

import { diffLines, textLines } from "../webview/diff";
import type {
  ChangeRow,
  ChangesView,
  FileChange,
  ReviewUpdated,
  SessionUpdateParams,
  TaskChanges,
  TaskState,
} from "./protocol";

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

/** The outcome a revert's `openhands/reviewUpdated` tells; other notes (a restore's) are not. */
export function revertOutcome(note: ReviewUpdated): Outcome | undefined {
  return note.action === "revert" ? { ok: note.ok, text: note.message } : undefined;
}

/** A run that ended, with the server's list. */
type Run = { taskId: string | null; firstEvent: number; files: FileChange[] };

const runKey = (taskId: string | null, path: string | undefined) => `${taskId ?? ""}\u0000${path ?? "*"}`;

export class ChangesModel {
  /** The conversation's runs of this window with files to review, oldest first (a reload keeps the last one). */
  private runs: Run[] = [];
  /** The task whose edits `live` counts, and whether it still works. */
  private liveTask: string | null = null;
  private running = false;
  private live = new Map<string, LiveEdit>();
  private busySet = new Set<string>();
  private note: ChangesView["message"];

  /** Another conversation (or none): nothing to show. */
  reset(): void {
    this.runs = [];
    this.liveTask = null;
    this.running = false;
    this.live.clear();
    this.busySet.clear();
    this.note = undefined;
  }

  /** The server restarted: its task ids are new, so the runs it knew are known by conversation (the last). */
  serverRestarted(): void {
    const last = this.runs[this.runs.length - 1];
    this.runs = last ? [{ ...last, taskId: null }] : [];
    this.running = false;
  }

  /** A task's state: a new running task starts a new live list; `ended` says the server's list is due. */
  taskState(s: TaskState): { changed: boolean; ended: boolean } {
    if (RUNNING.has(s.state)) {
      if (s.taskId === this.liveTask && this.running) return { changed: false, ended: false };
      if (s.taskId !== this.liveTask) this.startLive(s.taskId);
      this.running = true;
      return { changed: true, ended: false };
    }
    const changed = this.running;
    if (s.taskId === this.liveTask) this.running = false;
    return { changed, ended: true };
  }

  private startLive(taskId: string): void {
    this.liveTask = taskId;
    this.live.clear();
    this.note = undefined;
    // Runs reviewed to the end have nothing more to show.
    this.runs = this.runs.filter((r) => r.files.some((f) => !f.settled));
  }

  /** Live updates of the current conversation; whether the view changed. */
  updates(list: SessionUpdateParams[], root: string | undefined): boolean {
    let changed = false;
    for (const p of list) {
      const u = p.update;
      if (u.sessionUpdate !== "tool_call" && u.sessionUpdate !== "tool_call_update") continue;
      // An update of a task not seen running yet: its taskState may come after its first updates.
      if (p._meta.taskId !== this.liveTask) {
        if (u.sessionUpdate !== "tool_call") continue;
        this.startLive(p._meta.taskId);
        this.running = true;
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
    return changed;
  }

  /** The server's list of a run (`taskId`, or null: the conversation's last run); it replaces that run's edits. */
  setRun(taskId: string | null, c: TaskChanges): void {
    const run: Run = { taskId, firstEvent: c.firstEvent, files: c.files ?? [] };
    const i = this.runs.findIndex((r) => r.firstEvent === c.firstEvent);
    if (i >= 0) this.runs[i] = { ...run, taskId: taskId ?? this.runs[i].taskId };
    else {
      this.runs.push(run);
      this.runs.sort((a, b) => a.firstEvent - b.firstEvent);
    }
    if (taskId !== null && taskId === this.liveTask && !this.running) {
      // What the live list said (no checkpoints...) is past; a refusal said about a list stays.
      if (this.live.size) this.note = undefined;
      this.live.clear();
    }
  }

  /** The runs to ask the server about again after a keep or revert. */
  get known(): (string | null)[] {
    return this.runs.map((r) => r.taskId);
  }

  /** The server has no list (no checkpoints, a remote runtime...): said only where there were edits to review. */
  unavailable(why: string): void {
    if (this.liveFiles().length) this.note = { text: why, error: true };
  }

  message(text: string | undefined, error = true): void {
    this.note = text === undefined ? undefined : { text, error };
  }

  /** A keep or revert of `path` (undefined: every file) of run `taskId` starts or ends. */
  busy(taskId: string | null, path: string | undefined, on: boolean): void {
    if (on) this.busySet.add(runKey(taskId, path));
    else this.busySet.delete(runKey(taskId, path));
  }

  /** The runs with files to review, newest first (the order to revert them in). */
  get reviewable(): (string | null)[] {
    return this.runs
      .filter((r) => r.files.some((f) => !f.settled))
      .map((r) => r.taskId)
      .reverse();
  }

  private liveFiles(): ChangeRow[] {
    const byPath = new Map<string, ChangeRow>();
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
          taskId: this.liveTask,
          live: true,
          busy: false,
        });
      }
    }
    return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  view(): ChangesView {
    const rows: ChangeRow[] = [];
    let kept = 0;
    let reverted = 0;
    for (const r of this.runs) {
      for (const f of r.files) {
        if (f.settled === "kept") kept++;
        else if (f.settled === "reverted") reverted++;
        else {
          const busy = this.busySet.has(runKey(r.taskId, f.path)) || this.busySet.has(runKey(r.taskId, undefined));
          const { path, status, added, removed, binary } = f;
          rows.push({ path, status, added, removed, binary, taskId: r.taskId, live: false, busy });
        }
      }
    }
    const reviewing = rows.length > 0;
    rows.push(...this.liveFiles());
    return {
      mode: reviewing ? "review" : "live",
      running: this.running,
      files: rows,
      kept,
      reverted,
      busy: this.busySet.size > 0,
      message: this.note,
    };
  }
}
