//! One agent task inside the language server: runs the controller in a spawned task and turns its events
//! into `$/progress`, `window/logMessage`, milestone `window/showMessage`s and a Markdown transcript.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::{
    MessageType, NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress,
    WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use super::bridge::{EditorRuntime, Link};
use super::rich::SessionUpdate;
use crate::agent::{ControlHandle, Outcome};
use crate::config::{Overrides, Settings};
use crate::events::Event;
use crate::events::mask_secrets_in;
use crate::session::{Open, Session, one_line};

/// Every request to the client waits at most this long.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// `$/progress` reports are coalesced to at most this rate.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// What the server keeps about a task.
#[derive(Clone)]
pub struct TaskInfo {
    pub task_id: String,
    pub conversation_id: String,
    pub prompt: String,
    pub state: Arc<std::sync::Mutex<String>>,
    pub control: Arc<std::sync::Mutex<Option<ControlHandle>>>,
}

impl TaskInfo {
    pub fn state(&self) -> String {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
    pub(crate) fn set_state(&self, s: &str) {
        if let Ok(mut st) = self.state.lock() {
            *st = s.to_owned();
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
    /// Send `openhands/sessionUpdate`s (the client opted in).
    pub rich: bool,
}

/// The Markdown transcript of a conversation, under `.openhands/` in the workspace.
pub fn transcript_path(workspace: &Path, conversation_id: &str) -> PathBuf {
    workspace
        .join(".openhands")
        .join("transcripts")
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
                percentage: Some(0),
            }),
        )
        .await;
    }
    client
        .show_message(
            MessageType::INFO,
            format!(
                "OpenHands started {}: {}",
                info.task_id,
                one_line(&shown_prompt, 80)
            ),
        )
        .await;
    let outcome = match settings {
        Ok(settings) => drive(&client, &req, &settings, &token, progress_ok).await,
        Err(e) => Err(e),
    };
    let (kind, text) = match &outcome {
        Ok(Outcome::Finished(m)) => (
            MessageType::INFO,
            format!("OpenHands finished: {}", one_line(m, 200)),
        ),
        Ok(Outcome::AwaitingInput(m)) => (
            MessageType::INFO,
            format!(
                "OpenHands asks: {} (answer with openhands.task.reply)",
                one_line(m, 200)
            ),
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
    info.set_state(match &outcome {
        Ok(Outcome::Finished(_)) => "finished",
        Ok(Outcome::AwaitingInput(_)) => "awaiting_user_input",
        Ok(Outcome::Stopped) | Ok(Outcome::Paused) => "stopped",
        _ => "error",
    });
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
    client.show_message(kind, text).await;
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
        .start(settings, &req.workspace, |inner| {
            Arc::new(EditorRuntime::new(inner, link, sandboxed)) as Arc<dyn crate::runtime::Runtime>
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut events = session.stream().subscribe();
    if let Ok(mut c) = info.control.lock() {
        *c = Some(session.handle());
    }
    info.set_state("running");
    let meta = session.meta().clone();
    let forward_client = client.clone();
    let transcript = transcript_path(&req.workspace, &meta.id);
    let task_id = info.task_id.clone();
    let token = token.clone();
    let max = settings.agent.max_iterations;
    let rich = req.rich.then(|| meta.id.clone());
    let forwarder = tokio::spawn(async move {
        let mut writer = TranscriptWriter::open(&transcript);
        let mut step = 0u32;
        let mut last_report = Instant::now() - REPORT_EVERY;
        while let Some(event) = events.recv().await {
            writer.append(&event);
            if let Some(conversation) = &rich {
                for update in super::rich::updates(&event) {
                    forward_client
                        .send_notification::<SessionUpdate>(super::rich::params(
                            conversation,
                            &task_id,
                            event.id(),
                            update,
                        ))
                        .await;
                }
            }
            let Some(text) = crate::transcript::render(&event) else {
                continue;
            };
            forward_client
                .log_message(MessageType::INFO, format!("[{task_id}] {text}"))
                .await;
            if event.as_action().is_some()
                && event.source() == Some(crate::events::EventSource::Agent)
            {
                step += 1;
                if progress_ok && last_report.elapsed() >= REPORT_EVERY {
                    last_report = Instant::now();
                    let pct = (step * 100 / max.max(1)).min(99);
                    progress(
                        &forward_client,
                        &token,
                        WorkDoneProgress::Report(WorkDoneProgressReport {
                            cancellable: Some(true),
                            message: Some(format!("[{step}/{max}] {}", one_line(&text, 70))),
                            percentage: Some(pct),
                        }),
                    )
                    .await;
                }
            }
        }
    });
    let outcome = session.run(&info.prompt).await;
    let events_seen = session.stream().len() as i64;
    let closed = session.close().await;
    let m = &closed.metrics;
    if req.rich {
        let update = json!({"sessionUpdate": "usage_update", "promptTokens": m.prompt_tokens,
            "completionTokens": m.completion_tokens, "cost": {"amount": m.cost, "currency": "USD"}});
        client
            .send_notification::<SessionUpdate>(super::rich::params(
                &meta.id,
                &info.task_id,
                events_seen,
                update,
            ))
            .await;
    }
    if let Some(e) = &closed.save_error {
        client
            .log_message(
                MessageType::WARNING,
                format!("cannot save the conversation's metadata: {e}"),
            )
            .await;
    }
    let _ = forwarder.await;
    Ok(outcome)
}

/// Appends readable Markdown for each event; a transcript that cannot be written only costs a warning.
struct TranscriptWriter {
    file: Option<std::fs::File>,
}

impl TranscriptWriter {
    fn open(path: &Path) -> Self {
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
    json!({"taskId": t.task_id, "conversationId": t.conversation_id, "state": t.state(), "prompt": t.prompt})
}
