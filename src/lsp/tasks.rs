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
use crate::agent::{ControlHandle, Controller, Metrics, Outcome};
use crate::config::{Overrides, Settings};
use crate::events::{Event, EventStream};
use crate::storage::{ConversationMeta, Storage};

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

fn one_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut s: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        s.push('…');
    }
    s
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
                message: Some(one_line(&info.prompt, 60)),
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
                one_line(&info.prompt, 80)
            ),
        )
        .await;
    let outcome = drive(&client, &req, &token, progress_ok).await;
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
    token: &NumberOrString,
    progress_ok: bool,
) -> Result<Outcome, String> {
    let info = &req.info;
    let settings: Settings =
        crate::config::resolve(&req.workspace, &req.overrides, &|k| std::env::var(k).ok())
            .map_err(|e| e.to_string())?;
    let llm = crate::llm::Llm::new(settings.llm.clone()).map_err(|e| e.to_string())?;
    let storage = Storage::open(settings.data_dir.clone()).map_err(|e| e.to_string())?;
    let (mut meta, history, log, metrics) = if req.resume {
        let loaded = storage
            .load(&info.conversation_id)
            .map_err(|e| e.to_string())?;
        for w in &loaded.warnings {
            client.log_message(MessageType::WARNING, w).await;
        }
        let log = storage
            .open_log(&info.conversation_id)
            .map_err(|e| e.to_string())?;
        let metrics = Metrics::resumed(&loaded.meta);
        (loaded.meta, loaded.events, log, metrics)
    } else {
        let id = crate::storage::ConversationId::parse(&info.conversation_id)
            .map_err(|e| e.to_string())?;
        let meta = ConversationMeta {
            title: one_line(&info.prompt, 80),
            model: settings.llm.model.clone(),
            runtime: format!("{:?}", settings.runtime.kind).to_lowercase(),
            ..ConversationMeta::new(&id, req.workspace.clone())
        };
        let log = storage.create(meta.clone()).map_err(|e| e.to_string())?;
        (meta, Vec::new(), log, Metrics::default())
    };
    client
        .log_message(
            MessageType::INFO,
            format!(
                "[{}] starting: {}",
                info.task_id,
                one_line(&info.prompt, 120)
            ),
        )
        .await;
    let inner = crate::runtime::start_runtime(&settings, &req.workspace, &meta.id).await?;
    let link = Link {
        client: client.clone(),
        state: req.state.clone(),
        changed: req.changed.clone(),
        workspace: req.workspace.clone(),
        task: info.clone(),
    };
    let sandboxed = settings.runtime.kind != crate::config::RuntimeKind::Local;
    let runtime: Arc<dyn crate::runtime::Runtime> =
        Arc::new(EditorRuntime::new(inner, link, sandboxed));
    let stream = Arc::new(EventStream::new(history, Some(Box::new(log))));
    let mut events = stream.subscribe();
    let mut controller =
        Controller::new(stream.clone(), llm, runtime.clone(), settings.agent.clone())
            .with_metrics(metrics);
    if let Ok(mut c) = info.control.lock() {
        *c = Some(controller.handle());
    }
    info.set_state("running");
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
    let outcome = controller.send_user_message(&info.prompt).await;
    runtime.close().await;
    let m = controller.metrics().clone();
    if req.rich {
        let update = json!({"sessionUpdate": "usage_update", "promptTokens": m.prompt_tokens,
            "completionTokens": m.completion_tokens, "cost": {"amount": m.cost, "currency": "USD"}});
        client
            .send_notification::<SessionUpdate>(super::rich::params(
                &meta.id,
                &info.task_id,
                stream.len() as i64,
                update,
            ))
            .await;
    }
    m.record(&mut meta, controller.state());
    if let Err(e) = storage.save_meta(&meta) {
        client
            .log_message(
                MessageType::WARNING,
                format!("cannot save the conversation's metadata: {e}"),
            )
            .await;
    }
    drop(controller);
    drop(stream);
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
