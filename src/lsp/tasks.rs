//! One agent task inside the language server: runs the controller in a spawned task and turns its events
//! into `$/progress`, `window/logMessage`, milestone `window/showMessage`s and a Markdown transcript.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::{
    MessageType, NumberOrString, ProgressParams, ProgressParamsValue, ShowDocumentParams, Uri,
    WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use super::bridge::{EditorRuntime, Link};
use super::rich::{Outbox, Rich};
use crate::agent::{ControlHandle, Outcome};
use crate::config::{Overrides, Settings};
use crate::events::Event;
use crate::events::mask_secrets_in;
use crate::session::{Open, Session, one_line};

/// Every request to the client waits at most this long.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the editor to show `uri` (the editor must support `window/showDocument`), without waiting for it.
pub fn show_document(client: &Client, uri: Uri) {
    let c = client.clone();
    tokio::spawn(async move {
        let params = ShowDocumentParams {
            uri,
            external: None,
            take_focus: Some(true),
            selection: None,
        };
        let _ = tokio::time::timeout(CLIENT_TIMEOUT, c.show_document(params)).await;
    });
}
/// `$/progress` reports are coalesced to at most this rate.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Where a task is, as `openhands.task.status` and `openhands/taskState` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Starting,
    Running,
    /// The model's server failed and the request is retried.
    Retrying,
    AwaitingApproval,
    /// The agent asked the user; `openhands.task.reply` continues.
    AwaitingUserInput,
    Finished,
    Stopped,
    Error,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::AwaitingApproval => "awaiting_approval",
            Self::AwaitingUserInput => "awaiting_user_input",
            Self::Finished => "finished",
            Self::Stopped => "stopped",
            Self::Error => "error",
        }
    }

    /// The task's run has ended (it may be continued by a reply or a new task).
    pub fn is_over(self) -> bool {
        matches!(
            self,
            Self::AwaitingUserInput | Self::Finished | Self::Stopped | Self::Error
        )
    }
}

/// What the server keeps about a task.
#[derive(Clone)]
pub struct TaskInfo {
    pub task_id: String,
    pub conversation_id: String,
    pub prompt: String,
    pub state: Arc<std::sync::Mutex<TaskState>>,
    pub control: Arc<std::sync::Mutex<Option<ControlHandle>>>,
    /// The agent's steps so far, and the limit (known once the settings are resolved).
    pub step: Arc<AtomicU32>,
    pub max_iterations: Arc<AtomicU32>,
    /// The rich channel, when the client opted in: every state change is sent as `openhands/taskState`.
    pub outbox: Outbox,
    /// The id of the last event whose rich updates are in the outbox (an approval waits for its action's
    /// `tool_call` to be there first, so a panel never sees an approval for a call it does not know).
    pub forwarded: Arc<tokio::sync::watch::Sender<i64>>,
    /// The id of the task's first event (`-1` until its conversation is open): its checkpoint record.
    pub first_event: Arc<std::sync::atomic::AtomicI64>,
}

impl TaskInfo {
    pub fn new(task_id: String, conversation_id: String, prompt: String, outbox: Outbox) -> Self {
        Self {
            task_id,
            conversation_id,
            prompt,
            state: Arc::new(std::sync::Mutex::new(TaskState::Starting)),
            control: Arc::new(std::sync::Mutex::new(None)),
            step: Arc::new(AtomicU32::new(0)),
            max_iterations: Arc::new(AtomicU32::new(0)),
            outbox,
            forwarded: Arc::new(tokio::sync::watch::Sender::new(-1)),
            first_event: Arc::new(std::sync::atomic::AtomicI64::new(-1)),
        }
    }
    pub fn state(&self) -> TaskState {
        *self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(crate) fn set_state(&self, s: TaskState) {
        self.set_state_saying(s, None);
    }
    /// Sets the state and tells a rich client, with one line about it (what the agent does, a retry, the
    /// outcome).
    pub(crate) fn set_state_saying(&self, s: TaskState, message: Option<String>) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = s;
        if self.outbox.is_on() {
            let mut note = json!({
                "taskId": self.task_id,
                "conversationId": self.conversation_id,
                "state": s.as_str(),
                "step": self.step.load(Ordering::Relaxed),
                "maxIterations": self.max_iterations.load(Ordering::Relaxed),
            });
            if let Some(m) = message {
                note["message"] = Value::String(m);
            }
            self.outbox.send(Rich::State(note));
        }
    }
    pub fn stop(&self) {
        if let Ok(c) = self.control.lock()
            && let Some(c) = c.as_ref()
        {
            c.stop();
        }
    }
}

/// Everything a task needs from the server.
pub struct TaskRequest {
    pub info: TaskInfo,
    pub state: Arc<std::sync::Mutex<super::State>>,
    pub changed: Arc<tokio::sync::Notify>,
    pub workspace: PathBuf,
    pub overrides: Overrides,
    pub resume: bool,
    pub progress: bool,
    /// Plan mode: read-only tools, a plan at the end.
    pub plan: bool,
}

/// The Markdown transcript of a conversation, under `.openhands/` in the workspace.
pub fn transcript_path(workspace: &Path, conversation_id: &str) -> PathBuf {
    workspace
        .join(crate::checkpoint::TRANSCRIPTS_DIR)
        .join(format!("{conversation_id}.md"))
}

async fn progress(client: &Client, token: &NumberOrString, value: WorkDoneProgress) {
    client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

/// The longest `window/showMessage` we send: Neovim raises its hit-enter prompt for a message wider than the
/// command line, and Helix cuts it at the screen's width. The whole text goes to the log and the transcript.
pub const SHOWN_CHARS: usize = 70;

/// `text` cut to one line of at most [`SHOWN_CHARS`].
pub fn short(text: &str) -> String {
    one_line(text, SHOWN_CHARS)
}

/// Runs the task to its end; every failure is shown to the user, never raised.
pub async fn run(client: Client, req: TaskRequest) {
    let info = req.info.clone();
    let settings =
        crate::config::resolve(&req.workspace, &req.overrides, &|k| std::env::var(k).ok())
            .map_err(|e| e.to_string());
    // What the user typed may hold a secret: shown masked, as the events store it.
    let shown_prompt = match &settings {
        Ok(s) => mask_secrets_in(&info.prompt, &s.secrets()),
        Err(_) => info.prompt.clone(),
    };
    if let Ok(s) = &settings {
        info.max_iterations
            .store(s.agent.max_iterations, Ordering::Relaxed);
    }
    info.set_state_saying(TaskState::Starting, Some(one_line(&shown_prompt, 120)));
    let token = NumberOrString::String(format!("openhands/task/{}", info.task_id));
    let progress_ok = req.progress
        && matches!(
            tokio::time::timeout(
                CLIENT_TIMEOUT,
                client.create_work_done_progress(token.clone())
            )
            .await,
            Ok(Ok(()))
        );
    if progress_ok {
        progress(
            &client,
            &token,
            WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: "OpenHands".into(),
                cancellable: Some(true),
                message: Some(one_line(&shown_prompt, 60)),
                percentage: None,
            }),
        )
        .await;
    }
    // A log line, not a `showMessage`: a message at the start raised Neovim's hit-enter prompt, which held
    // the task's first edit until the user pressed Enter.
    client
        .log_message(
            MessageType::INFO,
            format!(
                "OpenHands started {}: {}",
                info.task_id,
                one_line(&shown_prompt, 200)
            ),
        )
        .await;
    let outcome = match settings {
        Ok(settings) => drive(&client, &req, &settings, &token, progress_ok).await,
        Err(e) => Err(e),
    };
    let (kind, text) = match &outcome {
        Ok(Outcome::Finished(m)) => (MessageType::INFO, format!("OpenHands finished: {m}")),
        Ok(Outcome::AwaitingInput(m)) => (
            MessageType::INFO,
            format!("OpenHands asks (answer with openhands.task.reply): {m}"),
        ),
        Ok(Outcome::Stopped) | Ok(Outcome::Paused) => {
            (MessageType::INFO, "OpenHands: task cancelled".to_owned())
        }
        Ok(Outcome::Error(r)) | Ok(Outcome::LimitReached(r)) | Ok(Outcome::Stuck(r)) => {
            (MessageType::ERROR, format!("OpenHands failed: {r}"))
        }
        Err(e) => (
            MessageType::ERROR,
            format!("OpenHands could not run the task: {e}"),
        ),
    };
    let state = match &outcome {
        Ok(Outcome::Finished(_)) => TaskState::Finished,
        Ok(Outcome::AwaitingInput(_)) => TaskState::AwaitingUserInput,
        Ok(Outcome::Stopped) | Ok(Outcome::Paused) => TaskState::Stopped,
        _ => TaskState::Error,
    };
    info.set_state_saying(state, Some(one_line(&text, 300)));
    if progress_ok {
        progress(
            &client,
            &token,
            WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(one_line(&text, 100)),
            }),
        )
        .await;
    }
    client
        .log_message(kind, format!("[{}] {}", info.task_id, text))
        .await;
    // A panel shows the outcome itself; other editors get one short line that blocks nothing. Failures
    // always show.
    if kind == MessageType::ERROR {
        client.show_message(kind, one_line(&text, 400)).await;
    } else if !info.outbox.is_on() {
        client.show_message(kind, short(&text)).await;
    }
}

async fn drive(
    client: &Client,
    req: &TaskRequest,
    settings: &Settings,
    token: &NumberOrString,
    progress_ok: bool,
) -> Result<Outcome, String> {
    let info = &req.info;
    let open = if req.resume {
        Open::Resume(&info.conversation_id)
    } else {
        let id = crate::storage::ConversationId::parse(&info.conversation_id)
            .map_err(|e| e.to_string())?;
        Open::New {
            id,
            first_message: &info.prompt,
        }
    };
    let prepared = Session::prepare(settings, &req.workspace, open).map_err(|e| e.to_string())?;
    for w in &prepared.warnings {
        client.log_message(MessageType::WARNING, w).await;
    }
    if prepared.was_interrupted {
        client
            .log_message(
                MessageType::WARNING,
                format!(
                    "[{}] conversation {} was interrupted (its process ended while the agent was working); continuing from its last event",
                    info.task_id, prepared.meta.id
                ),
            )
            .await;
    }
    client
        .log_message(
            MessageType::INFO,
            format!(
                "[{}] starting: {}",
                info.task_id,
                one_line(&prepared.meta.title, 120)
            ),
        )
        .await;
    let link = Link {
        client: client.clone(),
        state: req.state.clone(),
        changed: req.changed.clone(),
        workspace: req.workspace.clone(),
        task: info.clone(),
    };
    let sandboxed = settings.runtime.kind != crate::config::RuntimeKind::Local;
    let mut session = prepared
        .with_buffers(Arc::new(super::review::Buffers::new(req.state.clone())))
        .start(settings, &req.workspace, |inner| {
            let r = Arc::new(EditorRuntime::new(inner, link, sandboxed))
                as Arc<dyn crate::runtime::Runtime>;
            let r = super::diagnostics::wrap(r, &req.state, &req.workspace, &settings.files);
            match req.plan {
                true => Arc::new(crate::plan_mode::PlanRuntime::new(r)),
                false => r,
            }
        })
        .await
        .map_err(|e| e.to_string())?;
    for w in &session.warnings {
        client
            .log_message(MessageType::WARNING, format!("[{}] {w}", info.task_id))
            .await;
    }
    let mut events = session.stream().subscribe();
    let first = session.stream().events().last().map_or(0, |e| e.id() + 1);
    info.first_event.store(first, Ordering::Relaxed);
    if let Ok(mut c) = info.control.lock() {
        *c = Some(session.handle());
    }
    info.set_state(TaskState::Running);
    let meta = session.meta().clone();
    // LLM retries: shown in the log, the progress and the panel, since the user otherwise waits in silence.
    let (retry_tx, mut retry_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let retry_info = info.clone();
    session.controller_mut().on_llm_event(move |e| {
        if let crate::llm::StreamEvent::Retrying {
            attempt,
            max_attempts,
            wait,
            reason,
        } = e
        {
            let line = format!(
                "the model's server failed ({}); retry {attempt} of {max_attempts} in {} s",
                one_line(&reason, 120),
                wait.as_secs()
            );
            retry_info.set_state_saying(TaskState::Retrying, Some(line.clone()));
            let _ = retry_tx.send(line);
        }
    });
    let retry_client = client.clone();
    let retry_token = token.clone();
    let retry_task = info.task_id.clone();
    let retries = tokio::spawn(async move {
        while let Some(line) = retry_rx.recv().await {
            retry_client
                .log_message(MessageType::WARNING, format!("[{retry_task}] {line}"))
                .await;
            if progress_ok {
                progress(
                    &retry_client,
                    &retry_token,
                    WorkDoneProgress::Report(WorkDoneProgressReport {
                        cancellable: Some(true),
                        message: Some(one_line(&line, 90)),
                        percentage: None,
                    }),
                )
                .await;
            }
        }
    });
    let forward_client = client.clone();
    let transcript = transcript_path(&req.workspace, &meta.id);
    let task = info.clone();
    let token = token.clone();
    let max = settings.agent.max_iterations;
    let forwarder = tokio::spawn(async move {
        let mut writer = TranscriptWriter::open(&transcript);
        let mut last_report = Instant::now() - REPORT_EVERY;
        while let Some(event) = events.recv().await {
            writer.append(&event);
            for update in super::rich::updates(&event) {
                task.outbox.send(Rich::Update(super::rich::params(
                    &task.conversation_id,
                    &task.task_id,
                    event.id(),
                    update,
                )));
            }
            task.forwarded.send_replace(event.id());
            let Some(text) = crate::transcript::render(&event) else {
                continue;
            };
            forward_client
                .log_message(MessageType::INFO, format!("[{}] {text}", task.task_id))
                .await;
            if event.as_action().is_some()
                && event.source() == Some(crate::events::EventSource::Agent)
            {
                let step = task.step.fetch_add(1, Ordering::Relaxed) + 1;
                if task.state() != TaskState::AwaitingApproval {
                    task.set_state_saying(TaskState::Running, Some(one_line(&text, 120)));
                }
                // No percentage: step/limit is not progress (a finished task read 6 % in Helix).
                if progress_ok && last_report.elapsed() >= REPORT_EVERY {
                    last_report = Instant::now();
                    progress(
                        &forward_client,
                        &token,
                        WorkDoneProgress::Report(WorkDoneProgressReport {
                            cancellable: Some(true),
                            message: Some(format!("[{step}/{max}] {}", one_line(&text, 70))),
                            percentage: None,
                        }),
                    )
                    .await;
                }
            }
        }
    });
    let prompt = match req.plan {
        true => crate::plan_mode::plan_prompt(&info.prompt),
        false => info.prompt.clone(),
    };
    let outcome = session.run(&prompt).await;
    if req.plan {
        super::review::report_plan(client, info, &session.stream().events()).await;
    }
    let events_seen = session.stream().len() as i64;
    let closed = session.close().await;
    let m = &closed.metrics;
    let update = json!({"sessionUpdate": "usage_update", "promptTokens": m.prompt_tokens,
        "completionTokens": m.completion_tokens, "cachedTokens": m.cache_read_tokens,
        "cacheWriteTokens": m.cache_write_tokens, "cost": {"amount": m.cost, "currency": "USD"}});
    // Numbered with the task's last event (the next task's first event gets the next number).
    info.outbox.send(Rich::Update(super::rich::params(
        &meta.id,
        &info.task_id,
        events_seen - 1,
        update,
    )));
    if let Some(e) = &closed.save_error {
        client
            .log_message(
                MessageType::WARNING,
                format!("cannot save the conversation's metadata: {e}"),
            )
            .await;
    }
    let _ = forwarder.await;
    retries.abort();
    Ok(outcome)
}

/// `.openhands/transcripts/` is ours, not the user's project: a `.gitignore` inside it keeps it out of
/// `git status` (written once; a user's own file there is left alone). The rest of `.openhands/` (the
/// workspace's `config.toml`) is the user's to commit.
fn ignore_state_dir(transcript: &Path) {
    let Some(dir) = transcript.parent() else {
        return;
    };
    let ignore = dir.join(".gitignore");
    if std::fs::create_dir_all(dir).is_ok() && !ignore.exists() {
        let _ = std::fs::write(
            &ignore,
            "# Written by openhands-lsp: the agent's transcripts, not part of the project.\n*\n",
        );
    }
}

/// Appends readable Markdown for each event; a transcript that cannot be written only costs a warning.
struct TranscriptWriter {
    file: Option<std::fs::File>,
}

impl TranscriptWriter {
    fn open(path: &Path) -> Self {
        ignore_state_dir(path);
        let file = path
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(|r| r.ok())
            .and_then(|_| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()
            });
        Self { file }
    }

    fn append(&mut self, event: &Event) {
        let Some(text) = crate::transcript::render(event) else {
            return;
        };
        let block = match event {
            Event::Observation(_) => format!("```\n{text}\n```\n\n"),
            Event::Action(_) => format!("{text}\n\n"),
        };
        if let Some(f) = self.file.as_mut()
            && f.write_all(block.as_bytes()).is_err()
        {
            self.file = None;
        }
    }
}

/// The `openhands.task.status` entry of a task.
pub fn status_json(t: &TaskInfo) -> Value {
    json!({"taskId": t.task_id, "conversationId": t.conversation_id, "state": t.state().as_str(), "prompt": t.prompt,
           "step": t.step.load(Ordering::Relaxed), "maxIterations": t.max_iterations.load(Ordering::Relaxed)})
}
