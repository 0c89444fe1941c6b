//! The LSP front end, the only module that knows LSP: editors start, steer and cancel tasks with
//! `workspace/executeCommand` and watch them through progress, log messages and a transcript.

mod approvals;
mod bridge;
mod code_actions;
mod commands;
mod diagnostics;
pub mod documents;
pub mod edits;
pub mod framing;
mod options;
mod review;
mod rich;
mod saved;
mod tasks;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::Notify;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::config::Overrides;
use approvals::ApprovalSettings;
use documents::{Change, Documents, Encoding};
use options::{Options, read_options};
use tasks::TaskInfo;

/// How long a `didChange` that arrived ahead of its predecessor waits for it.
/// 300 ms: long enough that a busy machine does not drop a keystroke that was only overtaken (100 ms lost
/// one under load), short enough that a client skipping a version is not noticed.
const HOLD_CHANGES: std::time::Duration = std::time::Duration::from_millis(300);

/// Waits until `hold` has passed in time this process could use: a tick that overslept badly (a machine
/// so loaded that the server did not run, and so could not have read the change it waits for either) does
/// not count. Ten times `hold` at most in all.
async fn wait_while_running(hold: std::time::Duration) {
    const TICK: std::time::Duration = std::time::Duration::from_millis(25);
    let start = std::time::Instant::now();
    let mut counted = std::time::Duration::ZERO;
    while counted < hold && start.elapsed() < hold * 10 {
        let tick = std::time::Instant::now();
        tokio::time::sleep(TICK).await;
        let took = tick.elapsed();
        if took < TICK * 3 {
            counted += took;
        }
    }
}

/// The commands this server answers.
pub const COMMANDS: &[&str] = &[
    "openhands.task.start",
    "openhands.task.reply",
    "openhands.task.cancel",
    "openhands.task.status",
    "openhands.approval.respond",
    "openhands.conversation.list",
    "openhands.conversation.resume",
    "openhands.transcript.open",
    "openhands.checkpoint.list",
    "openhands.checkpoint.restore",
    "openhands.task.changes",
    "openhands.task.diff",
    "openhands.task.keep",
    "openhands.task.revert",
    "openhands.task.act",
];

/// What the client can do, detected at `initialize`.
#[derive(Debug, Clone, Default)]
pub struct ClientProfile {
    pub name: String,
    pub work_done_progress: bool,
    pub show_document: bool,
    pub apply_edit: bool,
    /// Versioned `documentChanges` in `applyEdit` (Neovim handles them without saying so).
    pub document_changes: bool,
    /// Opted in to `openhands/sessionUpdate` (`{"openhands": {"ui": "rich"}}`).
    pub rich: bool,
}

pub(crate) struct State {
    pub docs: Documents,
    pub workspace: Option<PathBuf>,
    pub client: ClientProfile,
    pub overrides: Overrides,
    pub tasks: Vec<TaskInfo>,
    /// The conversation `task.start` continues when it names none (set by `conversation.resume`).
    pub current_conversation: Option<String>,
    pub next_task: u64,
    pub handles: HashMap<String, tokio::task::JoinHandle<()>>,
    pub approval: ApprovalSettings,
    pub approvals: Vec<approvals::Pending>,
    pub next_approval: u64,
    /// `conversation \0 reason` pairs the user allowed for the rest of the conversation.
    pub allowed: HashSet<String>,
    /// The rich channel (empty unless the client opted in).
    pub outbox: rich::Outbox,
    /// How long the editor has to apply an agent edit.
    pub edit_timeout: std::time::Duration,
    /// The diagnostics the editor sends (`openhands/diagnostics`), for agent edits.
    pub diagnostics: Arc<diagnostics::DiagStore>,
}

pub struct Backend {
    client: Client,
    state: Arc<Mutex<State>>,
    /// `shutdown` was received (the exit status after `exit` says whether it came first).
    shut_down: Arc<std::sync::atomic::AtomicBool>,
    /// Woken on every `didChange`, for edits waiting for their confirmation.
    changed: Arc<Notify>,
}

impl Backend {
    fn new(
        client: Client,
        shut_down: Arc<std::sync::atomic::AtomicBool>,
        state: Arc<Mutex<State>>,
    ) -> Self {
        Self {
            client,
            shut_down,
            state,
            changed: Arc::new(Notify::new()),
        }
    }
}

impl State {
    fn new() -> Self {
        State {
            docs: Documents::new(Encoding::Utf16),
            workspace: None,
            client: ClientProfile::default(),
            overrides: Overrides::default(),
            tasks: Vec::new(),
            current_conversation: None,
            next_task: 1,
            handles: HashMap::new(),
            approval: ApprovalSettings::default(),
            approvals: Vec::new(),
            next_approval: 1,
            allowed: HashSet::new(),
            outbox: rich::Outbox::default(),
            edit_timeout: options::EDIT_TIMEOUT,
            diagnostics: Arc::default(),
        }
    }
}

impl Backend {
    /// `window/workDoneProgress/cancel` (tower-lsp-server has no handler for it yet).
    async fn progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        // Our tokens are `openhands/task/<taskId>`; the user pressed cancel on that progress.
        let NumberOrString::String(token) = params.token else {
            return;
        };
        let Some(task_id) = token.strip_prefix("openhands/task/") else {
            return;
        };
        if let Some(task) = self.lock().tasks.iter().find(|t| t.task_id == task_id) {
            task.stop();
        }
    }

    /// `openhands/diagnostics {uri, diagnostics}`: the editor's problems of a file, for agent edits.
    async fn diagnostics(&self, params: Value) {
        let store = self.lock().diagnostics.clone();
        if let Err(e) = store.take(&params) {
            self.client.log_message(MessageType::WARNING, e).await;
        }
    }

    /// `openhands/sessionHistory {conversationId, afterSeq?}`: replays a conversation's rich updates.
    async fn session_history(&self, params: Value) -> Result<Value> {
        let root = self
            .lock()
            .overrides
            .data_dir
            .clone()
            .unwrap_or_else(crate::storage::Storage::default_root);
        rich::history(root, &params)
    }

    /// A `$/` request this server does not know (renamed by `framing`): the spec asks for `MethodNotFound`,
    /// which tower-lsp-server leaves unanswered.
    async fn unknown_dollar_request(&self, params: Value) -> Result<Value> {
        let method = params["method"].as_str().unwrap_or("$/?");
        Err(Error {
            code: tower_lsp_server::jsonrpc::ErrorCode::MethodNotFound,
            message: format!("Unhandled method {method}").into(),
            data: None,
        })
    }

    /// A frame from the editor that was not JSON (see `framing`): tell the user, keep serving.
    async fn malformed(&self, params: Value) {
        let why = params["error"].as_str().unwrap_or("unreadable").to_owned();
        self.client
            .log_message(
                MessageType::WARNING,
                format!("OpenHands ignored a malformed message from the editor: {why}"),
            )
            .await;
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serves LSP on stdin/stdout until the client exits. Logs go to stderr: stdout is the protocol. Returns
/// whether `shutdown` came before the end: the process then exits with 0, else with 1, as the spec says.
pub async fn serve_stdio() -> bool {
    let shut_down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let state = Arc::new(Mutex::new(State::new()));
    let (flag, shared) = (shut_down.clone(), state.clone());
    let (service, socket) =
        LspService::build(move |client| Backend::new(client, flag.clone(), shared.clone()))
            .custom_method(framing::MALFORMED, Backend::malformed)
            .custom_method(
                framing::UNKNOWN_DOLLAR_REQUEST,
                Backend::unknown_dollar_request,
            )
            .custom_method("window/workDoneProgress/cancel", Backend::progress_cancel)
            .custom_method("openhands/sessionHistory", Backend::session_history)
            .custom_method("openhands/diagnostics", Backend::diagnostics)
            .finish();
    Server::new(
        framing::guard(tokio::io::stdin()),
        tokio::io::stdout(),
        socket,
    )
    .serve(service)
    .await;
    // The editor went away without `shutdown` (or did not wait for it): stop what still runs, so each task
    // records how it ended and its runtime kills what the agent started.
    stop_tasks(&state, std::time::Duration::from_secs(3)).await;
    shut_down.load(std::sync::atomic::Ordering::SeqCst)
}

/// Stops every task and waits up to `wait` for each to record how it ended and close its runtime.
async fn stop_tasks(state: &Arc<Mutex<State>>, wait: std::time::Duration) {
    let handles: Vec<_> = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.tasks.iter().for_each(TaskInfo::stop);
        st.handles.drain().map(|(_, h)| h).collect()
    };
    for h in handles {
        let _ = tokio::time::timeout(wait, h).await;
    }
}

fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    let decoded = percent_decode(rest);
    Some(PathBuf::from(decoded))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if bytes[i] == b'%'
            && let Some(b) = hex
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Backend {
    fn current_options(&self) -> Options {
        let st = self.lock();
        Options {
            overrides: st.overrides.clone(),
            approval: st.approval.clone(),
            rich: st.client.rich,
            edit_timeout: st.edit_timeout,
        }
    }

    fn set_options(&self, o: Options) {
        let mut st = self.lock();
        st.overrides = o.overrides;
        st.approval = o.approval;
        st.edit_timeout = o.edit_timeout;
        if o.rich != st.outbox.is_on() {
            st.outbox = if o.rich {
                rich::Outbox::new(self.client.clone())
            } else {
                rich::Outbox::default()
            };
        }
        st.client.rich = o.rich;
    }

    /// Shows settings problems without blocking the handler.
    fn report_problems(&self, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        let client = self.client.clone();
        tokio::spawn(async move {
            client
                .show_message(
                    MessageType::ERROR,
                    format!("OpenHands settings: {}", problems.join("; ")),
                )
                .await;
        });
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        let encoding = if offered.contains(&PositionEncodingKind::UTF8) {
            (Encoding::Utf8, PositionEncodingKind::UTF8)
        } else {
            (Encoding::Utf16, PositionEncodingKind::UTF16)
        };
        #[allow(deprecated)]
        let workspace = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .and_then(|f| uri_path(&f.uri))
            .or_else(|| params.root_uri.as_ref().and_then(uri_path))
            .or_else(|| std::env::current_dir().ok());
        let window = params.capabilities.window.as_ref();
        let ws = params.capabilities.workspace.as_ref();
        let is_neovim = params
            .client_info
            .as_ref()
            .is_some_and(|c| c.name.eq_ignore_ascii_case("neovim") || c.name == "nvim");
        let profile = ClientProfile {
            name: params
                .client_info
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
            show_document: window
                .and_then(|w| w.show_document.as_ref())
                .is_some_and(|s| s.support),
            apply_edit: ws.and_then(|w| w.apply_edit).unwrap_or(false),
            document_changes: ws
                .and_then(|w| w.workspace_edit.as_ref())
                .and_then(|e| e.document_changes)
                .unwrap_or(false)
                || is_neovim,
            rich: false,
        };
        let mut options = Options::default();
        let problems = read_options(params.initialization_options.as_ref(), &mut options);
        {
            let mut st = self.lock();
            st.docs = Documents::new(encoding.0);
            st.workspace = workspace;
            st.client = profile;
        }
        self.set_options(options);
        self.report_problems(problems);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(encoding.1),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..Default::default()
                    },
                )),
                code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: COMMANDS.iter().map(|c| (*c).to_owned()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "openhands-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            offset_encoding: None,
        })
    }

    async fn shutdown(&self) -> Result<()> {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        stop_tasks(&self.state, std::time::Duration::from_secs(10)).await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let d = params.text_document;
        self.lock()
            .docs
            .open(d.uri.as_str(), d.version, &d.language_id, &d.text);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri.as_str().to_owned();
        let version = params.text_document.version;
        let result = self
            .lock()
            .docs
            .change(&uri, version, &params.content_changes);
        self.changed.notify_waiters();
        match result {
            Ok(Change::Applied) => {}
            Ok(Change::Held) => {
                // The missing version may never come (a client that skips versions): apply what is
                // held, in order, after a moment.
                let (state, changed, client) = (
                    self.state.clone(),
                    self.changed.clone(),
                    self.client.clone(),
                );
                tokio::spawn(async move {
                    wait_while_running(HOLD_CHANGES).await;
                    let flushed = state
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .docs
                        .flush_through(&uri, version);
                    changed.notify_waiters();
                    if let Err(e) = flushed {
                        client
                            .log_message(
                                MessageType::WARNING,
                                format!("OpenHands ignored a change: {e}"),
                            )
                            .await;
                    }
                });
            }
            Err(e) => {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("OpenHands ignored a change: {e}"),
                    )
                    .await;
            }
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let mut options = self.current_options();
        let problems = read_options(Some(&params.settings), &mut options);
        self.set_options(options);
        self.report_problems(problems);
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(Some(code_actions::actions(self, &params)))
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.lock().docs.close(params.text_document.uri.as_str());
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        let result = commands::execute(self, &self.client, &params.command, &params.arguments);
        if let Err(why) = &result {
            // Helix (and editors we do not know) put a command's error only in their log: say it where
            // the user looks. Editors known to show it get it once, as the answer.
            let name = self.lock().client.name.to_lowercase();
            let shows_errors = [
                "neovim",
                "nvim",
                "visual studio code",
                "code-server",
                "vscodium",
                "eglot",
            ]
            .iter()
            .any(|n| name == *n);
            if !shows_errors {
                let client = self.client.clone();
                let line = tasks::short(&format!("OpenHands: {why}"));
                tokio::spawn(async move { client.show_message(MessageType::ERROR, line).await });
            }
        }
        result.map(Some).map_err(Error::invalid_params)
    }
}
