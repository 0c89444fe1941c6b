// Why this file exists: the one contract between the server's rich channel, the extension host and the agent
// panel's webview; both sides import these types, so a change to a message breaks the build, not the panel.

/** A content block inside an update (ACP's ContentBlock subset the server sends). */
export type TextBlock = { type: "text"; text: string };
/** Tool call content: wrapped text (output), or a diff of one file. */
export type ToolContent =
  | { type: "content"; content: TextBlock }
  | { type: "diff"; path: string; oldText: string | null; newText: string };

export type PlanEntry = {
  content: string;
  priority: "high" | "medium" | "low";
  status: "pending" | "in_progress" | "completed";
};

/** `params.update` of `openhands/sessionUpdate` (the shape of ACP's `session/update`). */
export type Update =
  | { sessionUpdate: "user_message_chunk"; content: TextBlock }
  | { sessionUpdate: "agent_message_chunk"; content: TextBlock }
  | { sessionUpdate: "agent_thought_chunk"; content: TextBlock }
  | {
      sessionUpdate: "tool_call";
      toolCallId: string;
      title: string;
      kind: "execute" | "read" | "edit" | "fetch" | "other";
      status: "pending" | "in_progress" | "completed" | "failed";
      rawInput?: unknown;
      content?: ToolContent[];
    }
  | {
      sessionUpdate: "tool_call_update";
      toolCallId: string;
      status?: "pending" | "in_progress" | "completed" | "failed";
      content?: ToolContent[];
      rawOutput?: { exitCode?: number | null };
    }
  | { sessionUpdate: "plan"; entries: PlanEntry[] }
  | {
      sessionUpdate: "usage_update";
      promptTokens: number;
      completionTokens: number;
      cachedTokens?: number;
      cacheWriteTokens?: number;
      cost: { amount: number; currency: string };
    };

/** `params` of `openhands/sessionUpdate`; also each item of `openhands/sessionHistory`'s `updates`. */
export type SessionUpdateParams = {
  sessionId: string;
  _meta: { seq: number; taskId: string };
  update: Update;
};

/** `openhands/taskState` (rich clients): sent when a task starts, at each step, while it waits or retries, and at its end. */
export type TaskStateName =
  | "starting"
  | "running"
  | "awaiting_approval"
  | "retrying"
  | "finished"
  | "awaiting_user_input"
  | "stopped"
  | "error";
export type TaskState = {
  taskId: string;
  conversationId: string;
  state: TaskStateName;
  step: number;
  maxIterations: number;
  /** One line: what the agent does, the retry ("the model's server answered 503; retry 2 of 4 in 8 s"), or the outcome. */
  message?: string;
};

/** `openhands/approvalRequest` (sent instead of `window/showMessageRequest` when `approvalUi` is `"client"`). */
export type ApprovalRequest = {
  approvalId: string;
  taskId: string;
  conversationId: string;
  toolCallId: string;
  /** e.g. "$ rm a.txt" or "edit src/lib.rs". */
  title: string;
  /** Why it is asked, e.g. "it deletes files". */
  reason: string;
  kind: "execute" | "read" | "edit" | "fetch" | "other";
  command?: string;
  diff?: { path: string; oldText: string | null; newText: string };
};
export type Decision = "allow_once" | "allow_always" | "reject";
/** `openhands/approvalResolved`: answered (by anyone), timed out, or the task ended. */
export type ApprovalResolved = {
  approvalId: string;
  taskId: string;
  decision: Decision | "timeout" | "cancelled";
};

/** `openhands/reviewUpdated`: a background revert or restore ended (`message` is the line the log gets). */
export type ReviewUpdated = {
  action: "revert" | "restore";
  conversationId: string;
  ok: boolean;
  message: string;
  taskId?: string | null;
  firstEvent?: number;
  reverted?: string[];
  /** `path (why)` for each file not put back. */
  failed?: string[];
  eventId?: number;
};

/** An item of `openhands.conversation.list`. */
export type ConversationSummary = {
  conversationId: string;
  title: string;
  state: string;
  workspace: string;
  updatedAt: string;
  cost: number;
};

/** A file of `openhands.task.changes`'s answer. */
export type FileChange = {
  /** Relative to the workspace, `/`-separated. */
  path: string;
  status: "added" | "modified" | "deleted";
  /** Lines added and removed; null for a binary file. */
  added: number | null;
  removed: number | null;
  binary: boolean;
  /** What the user decided; null while it waits for a review. */
  settled: "kept" | "reverted" | null;
};

/** `openhands.task.changes`'s answer: the last run of a conversation and the files it changed. */
export type TaskChanges = { conversationId: string; firstEvent: number; lastEvent: number; files: FileChange[] };

/** A row of the panel's "Changes" section. */
export type ChangeRow = Pick<FileChange, "path" | "status" | "added" | "removed" | "binary"> & {
  /** The run it belongs to (`openhands.task.*`'s `taskId`); null: the conversation's last run. */
  taskId: string | null;
  /** The running task's edit so far, counted from its tool calls: keep and revert wait for its end. */
  live: boolean;
  /** A keep or revert of it is under way. */
  busy: boolean;
};

/** The panel's "Changes" section, whole: the files of the conversation's runs that wait for a review. */
export type ChangesView = {
  /** `review` when a row can be kept or reverted; `live` while only the running task's edits are known. */
  mode: "live" | "review";
  /** A task works on the conversation: the server refuses reverts meanwhile. */
  running: boolean;
  files: ChangeRow[];
  /** Files settled in the runs shown. */
  kept: number;
  reverted: number;
  /** A keep or revert is under way. */
  busy: boolean;
  /** The server's last word on a refused or failed keep, revert or diff (or why there is no list). */
  message?: { text: string; error: boolean };
};

/** Extension host → webview. */
export type ToPanel =
  | { type: "reset"; conversationId: string | null }
  | { type: "updates"; updates: SessionUpdateParams[] }
  | { type: "taskState"; state: TaskState }
  | { type: "approval"; approval: ApprovalRequest }
  | { type: "approvalResolved"; resolved: ApprovalResolved }
  | { type: "conversations"; list: ConversationSummary[] }
  | { type: "changes"; changes: ChangesView }
  | {
      type: "server";
      status: "starting" | "running" | "stopped" | "crashed" | "missing";
      message?: string;
    };

/** Webview → extension host. */
export type FromPanel =
  | { type: "ready" }
  | { type: "prompt"; text: string }
  | { type: "stop" }
  | { type: "newConversation" }
  | { type: "listConversations" }
  | { type: "resume"; conversationId: string }
  | { type: "approve"; approvalId: string; decision: Decision }
  | { type: "openDiff"; path: string; oldText: string | null; newText: string; title: string }
  /** The Changes section: a file's diff, or keep / revert one file of a run, or every file left (no `path`). */
  | { type: "changeDiff"; path: string; taskId: string | null }
  | { type: "changeKeep"; path?: string; taskId?: string | null }
  | { type: "changeRevert"; path?: string; taskId?: string | null };
