//! What the controller is configured with and reports: its limits, its states, how a task ended, the
//! conversation's token and cost totals, and the handle that stops or pauses it from elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::super::condenser::CondenserConfig;
use super::super::tools;
use crate::storage::ConversationMeta;

/// Limits and switches of the agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Steps (actions) per task before it stops.
    pub max_iterations: u32,
    /// USD per task; `None`: unlimited.
    pub max_budget_per_task: Option<f64>,
    /// Observations longer than this are cut in the middle before the model reads them.
    pub max_message_chars: usize,
    pub stuck_detection: bool,
    /// How many times per task a reply without a tool call that asks nothing gets an automatic
    /// "continue or finish" instead of ending the turn. 0 (the default): every such reply waits for the
    /// user, as an editor wants; a front end that nobody answers live sets it.
    pub auto_continue: u32,
    pub tool_support: tools::ToolSupport,
    /// How long an interrupted action may take to report how it ended.
    pub interrupt_grace: Duration,
    /// `[condenser]`: when and how a long history is condensed.
    pub condenser: CondenserConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            max_iterations: 100,
            max_budget_per_task: None,
            max_message_chars: 30_000,
            stuck_detection: true,
            auto_continue: 0,
            tool_support: tools::ToolSupport::default(),
            interrupt_grace: Duration::from_secs(5),
            condenser: CondenserConfig::default(),
        }
    }
}

/// OpenHands' agent states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    Loading,
    Running,
    AwaitingUserInput,
    Paused,
    Stopped,
    Finished,
    Rejected,
    Error,
    AwaitingUserConfirmation,
    UserConfirmed,
    UserRejected,
    RateLimited,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Loading => "loading",
            AgentState::Running => "running",
            AgentState::AwaitingUserInput => "awaiting_user_input",
            AgentState::Paused => "paused",
            AgentState::Stopped => "stopped",
            AgentState::Finished => "finished",
            AgentState::Rejected => "rejected",
            AgentState::Error => "error",
            AgentState::AwaitingUserConfirmation => "awaiting_user_confirmation",
            AgentState::UserConfirmed => "user_confirmed",
            AgentState::UserRejected => "user_rejected",
            AgentState::RateLimited => "rate_limited",
        }
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `finish` was called; its message.
    Finished(String),
    /// The model answered in text and waits for the user.
    AwaitingInput(String),
    /// The LLM, the runtime or storage failed.
    Error(String),
    /// `max_iterations` or the budget was reached.
    LimitReached(String),
    Stuck(String),
    Stopped,
    Paused,
}

/// Token and cost totals of a conversation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub cost: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub llm_calls: u64,
    /// Tokens in the model's context after its last call (that call's prompt plus its answer): what the
    /// next request starts from. Not a total; 0 until the first call of this process.
    pub context_tokens: u64,
    /// Time spent waiting for the LLM and the runtime, to tell the agent's own overhead apart.
    pub llm_time: Duration,
    pub runtime_time: Duration,
}

impl Metrics {
    /// The totals a stored conversation had, to continue counting from.
    pub fn resumed(meta: &ConversationMeta) -> Self {
        Self {
            cost: meta.accumulated_cost,
            prompt_tokens: meta.prompt_tokens,
            completion_tokens: meta.completion_tokens,
            ..Self::default()
        }
    }

    /// Writes the totals and the agent's state into `meta`, stamped now.
    pub fn record(&self, meta: &mut ConversationMeta, state: AgentState) {
        meta.state = state.as_str().to_owned();
        meta.updated_at = crate::events::now_iso();
        meta.accumulated_cost = self.cost;
        meta.prompt_tokens = self.prompt_tokens;
        meta.completion_tokens = self.completion_tokens;
        meta.total_tokens = self.prompt_tokens + self.completion_tokens;
    }
}

/// Stops or pauses a running task from another task (the LSP's cancel command, the CLI's Ctrl-C).
#[derive(Clone, Default)]
pub struct ControlHandle {
    token: Arc<Mutex<CancellationToken>>,
    pause: Arc<AtomicBool>,
}

impl ControlHandle {
    pub(super) fn current(&self) -> CancellationToken {
        self.token.lock().map(|t| t.clone()).unwrap_or_default()
    }
    pub(super) fn rearm(&self) {
        let fresh = CancellationToken::new();
        if let Ok(mut t) = self.token.lock() {
            *t = fresh;
        }
        self.pause.store(false, Ordering::SeqCst);
    }
    /// Whether the stop under way is a pause.
    pub(super) fn is_pausing(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }
    /// Stops the task: the LLM request is dropped, the running command gets `C-c`.
    pub fn stop(&self) {
        self.current().cancel();
    }
    /// Like `stop`, but the conversation is left paused and continues with the next message.
    pub fn pause(&self) {
        self.pause.store(true, Ordering::SeqCst);
        self.current().cancel();
    }
}
