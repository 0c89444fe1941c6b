//! The one way to open, drive and close a conversation, shared by every front end (the CLI, the LSP server,
//! ACP next), so that titles, secret masking, stored state and the runtime's life are the same in all of them.
//!
//! A front end resolves its [`Settings`], calls [`Session::prepare`] (storage: a new conversation or a resumed
//! one), then [`Prepared::start`] (the LLM and the runtime), subscribes to [`Session::stream`], runs messages
//! with [`Session::run`] and ends with [`Session::close`]. Everything it shows the user comes from events
//! (masked) or is masked with `events::mask_secrets_in`.

use std::path::Path;
use std::sync::Arc;

use crate::agent::{AgentState, ControlHandle, Controller, Metrics, Outcome};
use crate::config::Settings;
use crate::events::{Event, EventStream, mask_secrets_in};
use crate::llm::Llm;
use crate::runtime::Runtime;
use crate::storage::{
    ConversationId, ConversationLog, ConversationMeta, INTERRUPTED, ProcessOwner, Storage,
};

mod runtime;
pub use runtime::{docker_options, start_runtime};

/// Longest title, in characters.
const TITLE_CHARS: usize = 80;

/// Why a conversation could not be opened; the text is a sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The user's input or configuration is at fault (bad id, no such conversation, bad settings).
    #[error("{0}")]
    Usage(String),
    /// Something on this machine failed (storage, the runtime).
    #[error("{0}")]
    Failed(String),
}

/// Which conversation to open.
pub enum Open<'a> {
    /// A new conversation, titled after its first message.
    New {
        id: ConversationId,
        first_message: &'a str,
    },
    /// A stored conversation, continued.
    Resume(&'a str),
}

/// The first non-empty line of `text`, trimmed, at most `max` characters (an ellipsis marks a cut).
pub fn one_line(text: &str, max: usize) -> String {
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

/// What the agent reads for a tool call whose process ended before it reported.
pub const INTERRUPTED_CALL: &str = "The action did not report a result: the process running the agent ended \
(it was killed or crashed) while the action ran. Its effects, if any, are unknown; check before repeating it.";

fn tool_call_id(event: &Event) -> Option<String> {
    crate::agent::messages::tool_call_meta(event).map(|m| m.tool_call_id)
}

/// Gives every tool call of a resumed conversation that has no observation (its process died mid-action) an
/// error observation, so the model learns what happened and every call keeps exactly one result.
fn answer_dangling_calls(stream: &EventStream) -> Result<(), crate::events::StreamError> {
    let events = stream.events();
    let answered: std::collections::HashSet<String> = events
        .iter()
        .filter(|e| e.as_observation().is_some())
        .filter_map(|e| tool_call_id(e))
        .collect();
    for event in &events {
        if event.as_action().is_none() {
            continue;
        }
        let (Some(id), Some(meta)) = (tool_call_id(event), event.meta().tool_call_metadata.clone())
        else {
            continue;
        };
        if id.is_empty() || answered.contains(&id) || meta["function_name"] == "finish" {
            continue;
        }
        let mut obs =
            Event::Observation(openhands_runtime_api::Observation::error(INTERRUPTED_CALL));
        obs.meta_mut().cause = Some(event.id());
        obs.meta_mut().tool_call_metadata = Some(meta);
        stream.add(obs, crate::events::EventSource::Environment)?;
    }
    Ok(())
}

/// A conversation opened in storage, before its LLM and runtime exist.
pub struct Prepared {
    pub meta: ConversationMeta,
    llm: Llm,
    storage: Storage,
    history: Vec<Event>,
    log: ConversationLog,
    metrics: Metrics,
    /// Lines of the stored log that were skipped, one message each.
    pub warnings: Vec<String>,
    /// The resumed conversation had been interrupted: its process ended while a task ran.
    pub was_interrupted: bool,
    secrets: Vec<String>,
    /// The front end's unsaved buffers, recorded in checkpoints instead of the disk's bytes.
    buffers: Option<Arc<dyn crate::checkpoint::BufferSource>>,
    context: crate::agent::context::Context,
}

impl Prepared {
    /// Checkpoints record these texts (an editor's unsaved buffers) instead of what the disk holds.
    pub fn with_buffers(mut self, buffers: Arc<dyn crate::checkpoint::BufferSource>) -> Self {
        self.buffers = Some(buffers);
        self
    }

    /// The data directory the conversation lives in.
    pub fn storage_root(&self) -> &Path {
        self.storage.root()
    }

    /// Builds the LLM client and starts the configured runtime; `wrap` lets a front end put its own layer
    /// around the runtime (the LSP's editor bridge).
    pub async fn start(
        self,
        settings: &Settings,
        workspace: &Path,
        wrap: impl FnOnce(Arc<dyn Runtime>) -> Arc<dyn Runtime>,
    ) -> Result<Session, SessionError> {
        let llm = self.llm;
        let inner = match start_runtime(settings, workspace, &self.meta.id).await {
            Ok(r) => r,
            Err(e) => {
                // Not left `loading`: the conversation did not start, and says so.
                let mut meta = self.meta;
                meta.state = AgentState::Error.as_str().to_owned();
                meta.owner = None;
                meta.updated_at = crate::events::now_iso();
                if let Err(save) = self.storage.save_meta(&meta) {
                    tracing::warn!("cannot save the conversation's metadata: {save}");
                }
                return Err(SessionError::Usage(e));
            }
        };
        let mut mcp = None;
        if !settings.mcp.servers.is_empty() {
            mcp = Some(
                crate::mcp::McpTools::connect(
                    &settings.mcp.servers,
                    inner.clone(),
                    settings.mcp.timeout,
                )
                .await,
            );
        }
        let runtime = wrap(inner);
        let (runtime, checkpoints) =
            crate::checkpoint::attach(settings, workspace, self.buffers, runtime);
        let gate = crate::run_gate::Gate::default();
        let runtime = gate.wrap(runtime);
        let stream = Arc::new(EventStream::new(self.history, Some(Box::new(self.log))));
        let secrets: Vec<String> = self.secrets.into_iter().chain(runtime.secrets()).collect();
        for s in &secrets {
            stream.add_secret(s.clone());
        }
        answer_dangling_calls(&stream).map_err(|e| SessionError::Failed(e.to_string()))?;
        let mut controller =
            Controller::new(stream.clone(), llm, runtime.clone(), settings.agent.clone())
                .with_metrics(self.metrics)
                .with_context(self.context)
                .with_cache_key(self.meta.id.to_string());
        let mut warnings = Vec::new();
        if let Some((tools, failed)) = mcp {
            warnings = failed;
            warnings.extend(controller.with_mcp(tools));
            warnings = warnings
                .iter()
                .map(|w| mask_secrets_in(w, &secrets))
                .collect();
        }
        Ok(Session {
            warnings,
            meta: self.meta,
            storage: self.storage,
            stream,
            controller,
            runtime,
            checkpoints,
            gate,
        })
    }
}

/// A conversation with its LLM and runtime, ready to run messages.
pub struct Session {
    meta: ConversationMeta,
    storage: Storage,
    stream: Arc<EventStream>,
    controller: Controller,
    runtime: Arc<dyn Runtime>,
    /// What went wrong while starting that did not stop the session (MCP servers skipped), one sentence
    /// each, for the front end to show.
    pub warnings: Vec<String>,
    checkpoints: Option<Arc<crate::checkpoint::Checkpoints>>,
    /// Closed while a run's starting checkpoint is taken (beside its first LLM call).
    gate: crate::run_gate::Gate,
}

/// How a session ended: its stored metadata and totals.
pub struct Closed {
    pub meta: ConversationMeta,
    pub metrics: Metrics,
    /// The metadata could not be saved: why.
    pub save_error: Option<String>,
}

impl Session {
    /// Opens the conversation in storage: creates a new one (state `loading`, owned by this process) or
    /// loads a stored one. A conversation a live process is running is refused.
    pub fn prepare(
        settings: &Settings,
        workspace: &Path,
        open: Open<'_>,
    ) -> Result<Prepared, SessionError> {
        // A bad LLM configuration is found before a conversation is created for nothing.
        let llm = Llm::new(settings.llm.clone()).map_err(|e| SessionError::Usage(e.to_string()))?;
        let storage = Storage::open(settings.data_dir.clone())
            .map_err(|e| SessionError::Usage(e.to_string()))?;
        crate::llm::remember_refusals_in(storage.root().join("tools-refused.txt"));
        let secrets = settings.secrets();
        // Skills are loaded once; what cannot be used is said with the conversation's other warnings.
        let user_skills =
            crate::config::user_config_path().and_then(|p| Some(p.parent()?.join("skills")));
        let names = settings
            .named_secrets
            .names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let (context, mut context_warnings) =
            crate::agent::context::Context::load(workspace, user_skills.as_deref(), names);
        match open {
            Open::New { id, first_message } => {
                let meta = ConversationMeta {
                    title: mask_secrets_in(&one_line(first_message, TITLE_CHARS), &secrets),
                    model: settings.llm.model.clone(),
                    runtime: format!("{:?}", settings.runtime.kind).to_lowercase(),
                    ..ConversationMeta::new(&id, workspace.to_path_buf())
                };
                let log = storage
                    .create(meta.clone())
                    .map_err(|e| SessionError::Usage(e.to_string()))?;
                Ok(Prepared {
                    meta,
                    llm,
                    storage,
                    history: Vec::new(),
                    log,
                    metrics: Metrics::default(),
                    warnings: context_warnings,
                    was_interrupted: false,
                    secrets,
                    buffers: None,
                    context,
                })
            }
            Open::Resume(id) => {
                let loaded = storage
                    .load(id)
                    .map_err(|e| SessionError::Usage(e.to_string()))?;
                if loaded.meta.is_running_elsewhere() {
                    let pid = loaded.meta.owner.map(|o| o.pid).unwrap_or_default();
                    return Err(SessionError::Usage(format!(
                        "conversation {id} is running in process {pid}; wait for it to end or stop it first"
                    )));
                }
                let log = storage
                    .open_log(id)
                    .map_err(|e| SessionError::Failed(e.to_string()))?;
                let mut meta = loaded.meta;
                let was_interrupted = meta.state == INTERRUPTED;
                meta.owner = Some(ProcessOwner::current());
                meta.state = AgentState::Loading.as_str().to_owned();
                if let Err(e) = storage.save_meta(&meta) {
                    return Err(SessionError::Failed(e.to_string()));
                }
                Ok(Prepared {
                    llm,
                    metrics: Metrics::resumed(&meta),
                    meta,
                    storage,
                    history: loaded.events,
                    log,
                    warnings: {
                        let mut w = loaded.warnings;
                        w.append(&mut context_warnings);
                        w
                    },
                    was_interrupted,
                    secrets,
                    buffers: None,
                    context,
                })
            }
        }
    }

    pub fn meta(&self) -> &ConversationMeta {
        &self.meta
    }

    pub fn stream(&self) -> &Arc<EventStream> {
        &self.stream
    }

    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.runtime
    }

    /// The conversation's token and cost totals so far.
    pub fn metrics(&self) -> &Metrics {
        self.controller.metrics()
    }

    pub fn controller_mut(&mut self) -> &mut Controller {
        &mut self.controller
    }

    /// Stops or pauses the running task from elsewhere.
    pub fn handle(&self) -> ControlHandle {
        self.controller.handle()
    }

    /// Runs one user message until the agent finishes, asks, stops or fails. The stored state says
    /// `running` meanwhile, owned by this process, so a crash reads as interrupted later.
    pub async fn run(&mut self, message: &str) -> Outcome {
        self.meta.state = AgentState::Running.as_str().to_owned();
        self.meta.owner = Some(ProcessOwner::current());
        self.meta.updated_at = crate::events::now_iso();
        if let Err(e) = self.storage.save_meta(&self.meta) {
            tracing::warn!("cannot save the conversation's metadata: {e}");
        }
        // The starting checkpoint is taken while the model thinks; the first action waits for it.
        let (checkpoints, stream, gate) = (&self.checkpoints, &self.stream, &self.gate);
        gate.close();
        let begin = async {
            let run = crate::checkpoint::TaskRun::begin(checkpoints, stream).await;
            gate.open();
            run
        };
        let (run, outcome) = tokio::join!(begin, self.controller.send_user_message(message));
        run.end(&self.storage, &self.meta.id).await;
        self.save();
        outcome
    }

    fn save(&mut self) -> Option<String> {
        self.controller
            .metrics()
            .record(&mut self.meta, self.controller.state());
        self.meta.owner = None;
        self.storage
            .save_meta(&self.meta)
            .err()
            .map(|e| e.to_string())
    }

    /// Closes the runtime and records the conversation's totals and state.
    pub async fn close(mut self) -> Closed {
        self.runtime.close().await;
        let save_error = self.save();
        Closed {
            metrics: self.controller.metrics().clone(),
            meta: self.meta,
            save_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::SECRET_MASK;

    #[test]
    fn titles_are_one_masked_line() {
        assert_eq!(
            one_line("\n  fix the tests  \nthen more", 80),
            "fix the tests"
        );
        assert_eq!(
            one_line(&"é".repeat(81), 80),
            format!("{}…", "é".repeat(80))
        );
        let secrets = vec!["sk-live-123456".to_owned()];
        assert_eq!(
            mask_secrets_in("use key sk-live-123456 now", &secrets),
            format!("use key {SECRET_MASK} now")
        );
    }
}
