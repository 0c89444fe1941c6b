// Why this file exists: the extension host's side of the conversation: it turns the server's rich notifications
// into panel messages (through the store, so they can be replayed), and the panel's and the palette's requests
// into server commands.

import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";

import type { DiffDocuments } from "./diff";
import type { AgentPanel } from "./panel";
import type {
  ApprovalRequest,
  ApprovalResolved,
  ConversationSummary,
  Decision,
  FromPanel,
  ReviewUpdated,
  SessionUpdateParams,
  TaskState,
  ToPanel,
} from "./protocol";
import { Review } from "./review";
import type { Server } from "./server";
import { busy, statusText } from "./status";
import { ConversationStore, type ServerStatus } from "./store";

/** workspaceState key: the conversation the panel showed last, replayed after a window reload. */
const LAST_CONVERSATION = "openhands.lastConversation";

type Started = { taskId: string; conversationId: string };
export type StartArgs = { prompt: string; uri?: string; range?: vscode.Range; conversationId?: string };

export class Agent {
  readonly store = new ConversationStore();
  panel: AgentPanel | undefined;
  /** The panel's "Changes" section. */
  readonly review: Review;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: Server,
    private readonly diffs: DiffDocuments,
    private readonly statusItem: vscode.StatusBarItem,
    private readonly trace: (event: string, data?: unknown) => void,
  ) {
    this.review = new Review({
      command: (c, args) => server.command(c, args),
      post: (m) => this.panel?.post(m),
      conversation: () => this.store.conversationId,
      root: () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
      showDiff: async (file, d) => {
        const root = vscode.workspace.workspaceFolders?.[0]?.uri;
        const rebuilt = root ? await diffs.openTaskChange(root, file, d.diff, d.uri) : false;
        if (!root) await vscode.window.showTextDocument(vscode.Uri.parse(d.uri), { preview: true });
        trace("diff", { file, rebuilt });
      },
      trace,
    });
    const last = context.workspaceState.get<string>(LAST_CONVERSATION);
    if (last) this.store.switchTo(last);
    this.showStatus();
  }

  /** Subscribes to a freshly started client's notifications, then replays the remembered conversation. */
  attach(client: LanguageClient): void {
    client.onNotification("openhands/sessionUpdate", (p: SessionUpdateParams) => this.updates([p], true));
    client.onNotification("openhands/taskState", (s: TaskState) => this.taskState(s));
    client.onNotification("openhands/approvalRequest", (a: ApprovalRequest) => this.approval(a));
    client.onNotification("openhands/approvalResolved", (r: ApprovalResolved) => this.resolved(r));
    client.onNotification("openhands/reviewUpdated", (r: ReviewUpdated) => this.review.reviewed(r));
    const id = this.store.conversationId;
    if (id) void this.history(id);
  }

  serverStatus(s: ServerStatus): void {
    this.store.server = s;
    if (s.status === "starting") this.review.serverRestarted();
    // A task does not outlive its server.
    if (s.status !== "running" && s.status !== "starting" && busy(this.store.taskState)) this.store.forgetTask();
    this.panel?.post(s);
    this.showStatus();
  }

  private remember(): void {
    void this.context.workspaceState.update(LAST_CONVERSATION, this.store.conversationId ?? undefined);
  }

  /** Everything the panel shows, from scratch: the conversation, then its changes. */
  replay(): ToPanel[] {
    return [...this.store.replay(), { type: "changes", changes: this.review.view() }];
  }

  private updates(list: SessionUpdateParams[], live = false): void {
    const r = this.store.add(list);
    if (r.switched) this.remember();
    if (r.switched || !r.appended) this.panel?.replay();
    else if (r.added.length) this.panel?.post({ type: "updates", updates: r.added });
    if (live && r.added.length) this.review.updates(r.added);
  }

  private taskState(s: TaskState): void {
    const r = this.store.setTaskState(s);
    if (r.switched) {
      this.remember();
      this.panel?.replay();
    } else if (r.ok) this.panel?.post({ type: "taskState", state: s });
    if (r.ok) this.review.taskState(s);
    this.showStatus();
  }

  private approval(a: ApprovalRequest): void {
    const r = this.store.addApproval(a);
    if (r.switched) {
      this.remember();
      this.panel?.replay();
    } else if (r.ok) this.panel?.post({ type: "approval", approval: a });
    if (!this.panel?.visible) void this.askOutsidePanel(a);
  }

  /** The panel is hidden: the question must not wait unseen, so it also comes as a notification. */
  private async askOutsidePanel(a: ApprovalRequest): Promise<void> {
    const choices: [string, Decision | "show"][] = [
      ["Allow once", "allow_once"],
      ["Allow for this conversation", "allow_always"],
      ["Reject", "reject"],
      ["Show panel", "show"],
    ];
    const picked = await vscode.window.showWarningMessage(
      `OpenHands wants to ${a.title} (${a.reason})`,
      ...choices.map(([label]) => label),
    );
    const decision = choices.find(([label]) => label === picked)?.[1];
    if (decision === "show") await this.panel?.focus();
    else if (decision && this.store.approvals.some((p) => p.approvalId === a.approvalId)) {
      await this.run(() => this.server.command("openhands.approval.respond", [a.approvalId, decision]));
    }
  }

  private resolved(r: ApprovalResolved): void {
    if (this.store.resolveApproval(r)) this.panel?.post({ type: "approvalResolved", resolved: r });
  }

  private showStatus(): void {
    const t = statusText(this.store.taskState, this.store.server.status);
    this.statusItem.text = t.text;
    this.statusItem.tooltip = t.tooltip;
    this.statusItem.show();
  }

  /** The stored updates of `id`, merged into the store (live ones that came meanwhile are kept). */
  private async history(id: string): Promise<void> {
    try {
      const h = await this.server.request<{ updates: SessionUpdateParams[] }>("openhands/sessionHistory", {
        conversationId: id,
      });
      if (this.store.conversationId !== id) return;
      this.updates(h.updates);
      // The last finished run's changes, unless a task of this window works on the conversation.
      if (!busy(this.store.taskState)) void this.review.refresh();
    } catch (e) {
      this.trace("history.error", String(e));
      // A conversation deleted or never saved: start afresh rather than show an error for old state.
      if (this.store.conversationId === id && this.store.size === 0) this.newConversation();
    }
  }

  /** Runs a server call; its error becomes a notification with the server's sentence. */
  private async run<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (e) {
      void vscode.window.showErrorMessage(`OpenHands: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  handle(m: FromPanel): void {
    switch (m.type) {
      case "prompt":
        void this.prompt(m.text);
        break;
      case "stop":
        void this.stop();
        break;
      case "newConversation":
        this.newConversation();
        break;
      case "listConversations":
        void this.run(async () => {
          const list = await this.server.command<ConversationSummary[]>("openhands.conversation.list");
          this.panel?.post({ type: "conversations", list });
        });
        break;
      case "resume":
        void this.resume(m.conversationId);
        break;
      case "approve":
        void this.run(() => this.server.command("openhands.approval.respond", [m.approvalId, m.decision]));
        break;
      case "openDiff":
        void this.run(() => this.diffs.open(m.path, m.oldText, m.newText, m.title));
        break;
      case "changeDiff":
        void this.review.diff(m.path, m.taskId ?? null);
        break;
      case "changeKeep":
        void this.review.keep(m.path, m.taskId);
        break;
      case "changeRevert":
        void this.review.revert(m.path, m.taskId);
        break;
    }
  }

  /** The panel's prompt box: a reply when the task asked something, else a task in the shown conversation. */
  async prompt(text: string): Promise<void> {
    const state = this.store.taskState;
    if (state?.state === "awaiting_user_input") {
      await this.run(() => this.server.command<Started>("openhands.task.reply", [state.taskId, text]));
      return;
    }
    if (busy(state)) {
      void vscode.window.showWarningMessage("OpenHands is still working on a task: wait for it, or stop it first.");
      return;
    }
    await this.start({ prompt: text, conversationId: this.store.conversationId ?? undefined });
  }

  async start(args: StartArgs): Promise<void> {
    const arg: Record<string, unknown> = { prompt: args.prompt };
    if (args.conversationId) arg.conversationId = args.conversationId;
    if (args.uri) arg.uri = args.uri;
    if (args.range) {
      const { start, end } = args.range;
      arg.range = {
        start: { line: start.line, character: start.character },
        end: { line: end.line, character: end.character },
      };
    }
    const started = await this.run(() => this.server.command<Started>("openhands.task.start", [arg]));
    if (!started) return;
    if (this.store.conversationId !== started.conversationId) {
      this.store.switchTo(started.conversationId);
      this.review.reset();
      this.panel?.replay();
    }
    this.remember();
    this.trace("task.started", started);
  }

  /** A task in a new conversation (the palette's "new task"). */
  async startNew(args: StartArgs): Promise<void> {
    this.newConversation();
    await this.start(args);
  }

  async reply(text: string): Promise<void> {
    const state = this.store.taskState;
    await this.run(() => this.server.command<Started>("openhands.task.reply", state ? [state.taskId, text] : [text]));
  }

  async stop(): Promise<void> {
    const id = this.store.taskState?.taskId;
    await this.run(() => this.server.command("openhands.task.cancel", id && busy(this.store.taskState) ? [id] : []));
  }

  newConversation(): void {
    this.store.switchTo(null);
    this.review.reset();
    this.remember();
    this.panel?.replay();
    this.showStatus();
  }

  /**
   * Shows `id` and continues it with the next prompt. Not `openhands.conversation.resume`: the server would keep
   * that id for the next task started without one, and a "new conversation" after it would continue `id`;
   * every task start names its conversation instead.
   */
  async resume(id: string): Promise<void> {
    this.store.switchTo(id);
    this.review.reset();
    this.remember();
    this.panel?.replay();
    this.showStatus();
    await this.history(id);
  }

  async conversations(): Promise<ConversationSummary[] | undefined> {
    return this.run(() => this.server.command<ConversationSummary[]>("openhands.conversation.list"));
  }

  async openTranscript(): Promise<void> {
    const id = this.store.conversationId;
    await this.run(() => this.server.command("openhands.transcript.open", id ? [id] : []));
  }
}
