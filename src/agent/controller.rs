//! The agent controller: runs the CodeAct loop (ask the model, run its tool calls, record everything)
//! until the task finishes, needs the user, fails, hits a limit, gets stuck, or is stopped or paused.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openhands_runtime_api::{Observation, ObservationKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::condenser::{self, Condenser, CondenserConfig, View};
use super::messages::{ToolCallMeta, build_messages};
use super::parse::{Parsed, response_to_events_with};
use super::{prompt, stuck, tools};
use crate::events::{AgentAction, Event, EventSource, EventStream, StreamError, kinds};
use crate::llm::{Llm, LlmError, Request, StreamEvent, ToolSpec};
use crate::runtime::Runtime;
use crate::storage::ConversationMeta;

/// The user message that answers a reply which asked nothing, when the front end allows it
/// (`AgentConfig::auto_continue`); it says it is automatic, so the transcript shows it too.
pub const AUTO_CONTINUE: &str = "[Automatic reply: no one is following this run live, so nobody will answer \
here.] Carry on with the task using whatever approach you judge best. Once it is done, call `finish` with a \
short account of what you did. If you really cannot go further without the user, ask them a clear question.";

/// What the model reads the first time it is found looping in a task (`{}`: what it repeated).
const LOOP_WARNING: &str = "You are going round in a loop: {}. Repeating it will not change the \
outcome. Step back, reread the latest results, work out why they are not moving the task forward, and take \
a different approach. If the loop goes on, the task will be stopped as stuck.";

/// How often a stop repeats `C-c` while the interrupted action has not reported.
const INTERRUPT_REPEAT: Duration = Duration::from_millis(300);

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
    fn current(&self) -> CancellationToken {
        self.token.lock().map(|t| t.clone()).unwrap_or_default()
    }
    fn rearm(&self) {
        let fresh = CancellationToken::new();
        if let Ok(mut t) = self.token.lock() {
            *t = fresh;
        }
        self.pause.store(false, Ordering::SeqCst);
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

type LlmListener = Arc<dyn Fn(StreamEvent) + Send + Sync>;
/// What an interrupted action reported within the grace period.
type LateResult = Result<Observation, crate::runtime::RuntimeError>;

pub struct Controller {
    stream: Arc<EventStream>,
    llm: Llm,
    runtime: Arc<dyn Runtime>,
    config: AgentConfig,
    tools: Vec<ToolSpec>,
    workspace: PathBuf,
    state: AgentState,
    metrics: Metrics,
    pending: VecDeque<Parsed>,
    control: ControlHandle,
    on_llm_event: LlmListener,
    tasks: Value,
    /// Automatic continuations left in the running task.
    auto_continues_left: u32,
    /// The loop warning given in the running task, if any: a second loop stops the task.
    loop_warning: Option<i64>,
    /// The MCP servers' tools (`call_tool_mcp`).
    mcp: Option<Arc<crate::mcp::McpTools>>,
    /// Workspace context, repository instructions and skills, recalled with user messages.
    context: Option<super::context::Context>,
    condenser: Condenser,
    /// Context-window errors since the last answer: each asks for a condensation, a few in a row end
    /// the task.
    context_errors: u32,
    /// The provider's prompt-cache key (`prompt_cache_key`): one per conversation.
    cache_key: Option<String>,
}

/// Context-window errors in a row that condensation could not cure before the task fails.
const MAX_CONTEXT_ERRORS: u32 = 3;

impl Controller {
    pub fn new(
        stream: Arc<EventStream>,
        llm: Llm,
        runtime: Arc<dyn Runtime>,
        config: AgentConfig,
    ) -> Self {
        if let Some(key) = &llm.config().api_key {
            stream.add_secret(key.clone());
        }
        let workspace = runtime.workspace_dir().to_path_buf();
        let mut tools = tools::tools_for(config.tool_support, &workspace);
        let condenser = Condenser::new(config.condenser.clone(), llm.context_window());
        if condenser.enabled() {
            tools.push(Condenser::tool());
        }
        Self {
            stream,
            llm,
            runtime,
            config,
            tools,
            workspace,
            state: AgentState::Loading,
            metrics: Metrics::default(),
            pending: VecDeque::new(),
            control: ControlHandle::default(),
            on_llm_event: Arc::new(|_| {}),
            tasks: json!([]),
            auto_continues_left: 0,
            loop_warning: None,
            mcp: None,
            context: None,
            condenser,
            context_errors: 0,
            cache_key: None,
        }
    }

    /// Offers the MCP servers' tools after the agent's own; a tool named like one of those is refused (one
    /// warning each, returned).
    pub fn with_mcp(&mut self, mut mcp: crate::mcp::McpTools) -> Vec<String> {
        let own: Vec<String> = self.tools.iter().map(|t| t.name.clone()).collect();
        let refused = mcp.refuse(&own);
        self.tools.extend(mcp.specs());
        self.mcp = Some(Arc::new(mcp));
        refused
    }

    /// Names the conversation to the provider's prompt cache (OpenAI's `prompt_cache_key`).
    pub fn with_cache_key(mut self, key: impl Into<String>) -> Self {
        self.cache_key = Some(key.into());
        self
    }

    /// Recalls workspace context, instructions and skills with each user message.
    pub fn with_context(mut self, context: super::context::Context) -> Self {
        self.context = Some(context);
        self
    }

    /// Starts from totals stored with a resumed conversation.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Receives streamed text and retry notices of every LLM call.
    pub fn on_llm_event(&mut self, f: impl Fn(StreamEvent) + Send + Sync + 'static) {
        self.on_llm_event = Arc::new(f);
    }

    pub fn handle(&self) -> ControlHandle {
        self.control.clone()
    }
    pub fn state(&self) -> AgentState {
        self.state
    }
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    pub fn stream(&self) -> &Arc<EventStream> {
        &self.stream
    }

    fn add(&self, event: Event, source: EventSource) -> Result<Arc<Event>, StreamError> {
        self.stream.add(event, source)
    }

    fn set_state(&mut self, state: AgentState, reason: &str) -> Result<(), StreamError> {
        if self.state != state {
            self.state = state;
            self.add(
                kinds::state_changed(state.as_str(), reason),
                EventSource::Environment,
            )?;
        }
        Ok(())
    }

    /// Adds the user's message and runs the task until it ends; see [`Outcome`].
    pub async fn send_user_message(&mut self, text: &str) -> Outcome {
        // The token this run obeys was armed when the previous run ended (or at creation), so a stop that
        // arrives before the run starts is kept, not replaced (it was lost between a front end's "running"
        // and the start of the run).
        let cancel = self.control.current();
        let result = self.run_task(text, cancel).await;
        self.control.rearm();
        match result {
            Ok(outcome) => outcome,
            Err(e) => {
                // Storage failed: nothing more can be recorded reliably.
                self.state = AgentState::Error;
                Outcome::Error(e.to_string())
            }
        }
    }

    async fn run_task(
        &mut self,
        text: &str,
        cancel: CancellationToken,
    ) -> Result<Outcome, StreamError> {
        let has_system = self.stream.events().iter().any(|e| {
            e.as_action()
                .and_then(AgentAction::of)
                .is_some_and(|a| matches!(a, AgentAction::System { .. }))
        });
        if !has_system {
            let today = crate::events::now_iso()[..10].to_owned();
            let prompt = prompt::system_prompt(&self.workspace, &today);
            self.add(
                kinds::system(&prompt, tools::tools_json(&self.tools), "CodeActAgent"),
                EventSource::Agent,
            )?;
        }
        self.add(kinds::message(text, false), EventSource::User)?;
        if let Some(context) = &self.context {
            super::context::recall(context, &self.stream, text, &self.workspace)?;
        }
        self.set_state(AgentState::Running, "")?;
        let task_start_cost = self.metrics.cost;
        self.auto_continues_left = self.config.auto_continue;
        self.loop_warning = None;
        let mut iterations = 0u32;
        loop {
            if cancel.is_cancelled() {
                return self.interrupted(None).await;
            }
            if let Some(found) = self.find_loop() {
                if self.loop_warning.is_none() {
                    // Once per task, the model hears it is looping and gets a chance to change course.
                    self.abandon_pending(
                        "The action has not been executed: you are repeating yourself (see the next message).",
                    )?;
                    let warning =
                        Observation::error(LOOP_WARNING.replace("{}", &found.description));
                    let added = self.add(Event::Observation(warning), EventSource::Environment)?;
                    self.loop_warning = Some(added.id());
                    continue;
                }
                let reason = format!(
                    "AgentStuckInLoopError: Agent got stuck in a loop ({}: {})",
                    found.kind, found.description
                );
                self.abandon_pending("The action has not been executed: the agent was stopped because it was stuck in a loop.")?;
                self.set_state(AgentState::Error, &reason)?;
                return Ok(Outcome::Stuck(reason));
            }
            if iterations >= self.config.max_iterations {
                let reason = format!(
                    "Agent reached maximum iteration limit: {} steps for this task (set max_iterations to allow more)",
                    self.config.max_iterations
                );
                self.abandon_pending(
                    "The action has not been executed: the iteration limit was reached.",
                )?;
                self.set_state(AgentState::Error, &reason)?;
                return Ok(Outcome::LimitReached(reason));
            }
            if let Some(budget) = self.config.max_budget_per_task
                && self.metrics.cost - task_start_cost >= budget
            {
                let reason = format!(
                    "Agent reached maximum budget for this task: ${:.4} spent of ${budget:.4}",
                    self.metrics.cost - task_start_cost
                );
                self.abandon_pending("The action has not been executed: the budget was reached.")?;
                self.set_state(AgentState::Error, &reason)?;
                return Ok(Outcome::LimitReached(reason));
            }
            let parsed = match self.pending.pop_front() {
                Some(p) => p,
                None => match self.condense_then_ask(&cancel).await? {
                    Ok(()) => continue,
                    Err(LlmError::Cancelled) => return self.interrupted(None).await,
                    // Condensed and retried, never a failed task, unless condensing cannot cure it.
                    Err(LlmError::ContextWindowExceeded(_))
                        if self.condenser.enabled() && self.context_errors < MAX_CONTEXT_ERRORS =>
                    {
                        self.context_errors += 1;
                        self.add(condenser::events::request(), EventSource::Environment)?;
                        continue;
                    }
                    Err(e) => {
                        let reason = e.to_string();
                        self.set_state(AgentState::Error, &reason)?;
                        return Ok(Outcome::Error(reason));
                    }
                },
            };
            iterations += 1;
            if let Some(outcome) = self.step(parsed, &cancel).await? {
                return Ok(outcome);
            }
        }
    }

    /// A loop in the running task. After the warning, only once the model has answered it, and without
    /// the warning itself (it would break the very pattern it names).
    fn find_loop(&self) -> Option<stuck::StuckLoop> {
        if !self.config.stuck_detection {
            return None;
        }
        let events = self.stream.events();
        if let Some(warning) = self.loop_warning {
            let at = events.iter().position(|e| e.id() == warning)?;
            if !events[at + 1..]
                .iter()
                .any(|e| e.source() == Some(EventSource::Agent))
            {
                return None;
            }
        }
        stuck::detect(&events, self.loop_warning)
    }

    /// Condenses the history if it is due, then asks the model.
    async fn condense_then_ask(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Result<(), LlmError>, StreamError> {
        let condensed = self
            .condenser
            .condense_if_due(
                &self.stream,
                &self.llm,
                &self.tools,
                self.config.max_message_chars,
                cancel,
            )
            .await?;
        for response in &condensed.calls {
            self.count(response);
        }
        Ok(self.ask_llm(cancel).await)
    }

    fn count(&mut self, response: &crate::llm::Response) {
        self.metrics.llm_calls += 1;
        self.metrics.cost += response.cost;
        self.metrics.prompt_tokens += response.usage.prompt_tokens;
        self.metrics.completion_tokens += response.usage.completion_tokens;
        self.metrics.cache_read_tokens += response.usage.cache_read_tokens;
        self.metrics.cache_write_tokens += response.usage.cache_write_tokens;
    }

    /// One LLM call over the view (the history as condensed); its tool calls are queued.
    async fn ask_llm(&mut self, cancel: &CancellationToken) -> Result<(), LlmError> {
        let view = View::from_events(&self.stream.events());
        let messages = build_messages(&view.events, self.config.max_message_chars);
        let request = Request {
            messages,
            tools: self.tools.clone(),
            cache_key: self.cache_key.clone(),
        };
        let listener = self.on_llm_event.clone();
        let started = Instant::now();
        let result = self
            .llm
            .complete(&request, cancel, &move |e| listener(e))
            .await;
        self.metrics.llm_time += started.elapsed();
        let response = result?;
        self.context_errors = 0;
        self.count(&response);
        self.metrics.context_tokens =
            response.usage.prompt_tokens + response.usage.completion_tokens;
        let mcp = self.mcp.clone();
        let is_mcp = move |name: &str| mcp.as_ref().is_some_and(|m| m.has(name));
        self.pending
            .extend(response_to_events_with(&response, &is_mcp));
        Ok(())
    }

    fn llm_metrics(&self) -> Value {
        json!({
            "accumulated_cost": self.metrics.cost,
            "accumulated_token_usage": {
                "prompt_tokens": self.metrics.prompt_tokens,
                "completion_tokens": self.metrics.completion_tokens,
                "cache_read_tokens": self.metrics.cache_read_tokens,
                "cache_write_tokens": self.metrics.cache_write_tokens,
            },
            "max_budget_per_task": self.config.max_budget_per_task,
        })
    }

    /// Records an observation answering `action` (same cause and tool call).
    fn answer(&self, action: &Event, mut obs: Event) -> Result<Arc<Event>, StreamError> {
        let meta = obs.meta_mut();
        meta.cause = Some(action.id());
        meta.tool_call_metadata = action.meta().tool_call_metadata.clone();
        self.add(obs, EventSource::Agent)
    }

    /// Runs one parsed tool call; `Some` ends the task.
    async fn step(
        &mut self,
        parsed: Parsed,
        cancel: &CancellationToken,
    ) -> Result<Option<Outcome>, StreamError> {
        let mut event = match parsed {
            Parsed::Invalid { meta, error } => {
                let mut obs = Event::Observation(Observation::error(error));
                obs.meta_mut().tool_call_metadata = Some(meta.to_value());
                self.add(obs, EventSource::Agent)?;
                return Ok(None);
            }
            Parsed::Action(event) => *event,
        };
        event.meta_mut().llm_metrics = Some(self.llm_metrics());
        super::risk::rate(&mut event, &self.workspace);
        let action = self.add(event, EventSource::Agent)?;
        let Some(a) = action.as_action() else {
            return Ok(None);
        };
        if let Some(agent_action) = AgentAction::of(a) {
            match agent_action {
                AgentAction::Message { content, .. } => {
                    let text = content.to_owned();
                    if self.auto_continues_left > 0 && !asks_a_question(&text) {
                        self.auto_continues_left -= 1;
                        self.add(kinds::message(AUTO_CONTINUE, false), EventSource::User)?;
                        return Ok(None);
                    }
                    self.set_state(AgentState::AwaitingUserInput, "")?;
                    return Ok(Some(Outcome::AwaitingInput(text)));
                }
                AgentAction::Finish { final_thought, .. } => {
                    let text = final_thought.to_owned();
                    // The runtime may hold the finish back once (new errors in the files the agent touched).
                    if let Some(why) = self.runtime.before_finish().await {
                        self.answer(&action, Event::Observation(Observation::error(why)))?;
                        return Ok(None);
                    }
                    // Calls after `finish` in the same response are never run; say so to keep pairs intact.
                    self.abandon_pending(
                        "The action has not been executed: the agent finished before it.",
                    )?;
                    self.set_state(AgentState::Finished, "")?;
                    return Ok(Some(Outcome::Finished(text)));
                }
                AgentAction::Think { .. } => {
                    self.answer(&action, kinds::think_observation())?;
                }
                // The next step condenses first: the view sees the request.
                AgentAction::CondensationRequest if self.condenser.enabled() => {
                    self.answer(&action, condenser::events::request_observation())?;
                }
                AgentAction::TaskTracking {
                    command, task_list, ..
                } => {
                    if command == "plan" {
                        self.tasks = task_list.cloned().unwrap_or(json!([]));
                    }
                    let text = render_tasks(command, &self.tasks);
                    let obs = kinds::task_tracking_observation(text, command, self.tasks.clone());
                    self.answer(&action, obs)?;
                }
                AgentAction::McpCall { name, arguments } => {
                    let (name, arguments) =
                        (name.to_owned(), arguments.cloned().unwrap_or_default());
                    // Asked like any action (approvals, plan mode), though no runtime runs it.
                    if let Some(refused) = self.runtime.confirm(a).await {
                        self.answer(&action, Event::Observation(refused))?;
                        return Ok(None);
                    }
                    return self.call_mcp(&action, &name, arguments, cancel).await;
                }
                AgentAction::System { .. }
                | AgentAction::Condensation { .. }
                | AgentAction::CondensationRequest
                | AgentAction::Recall { .. }
                | AgentAction::Unknown { .. } => {
                    let other = a.action.kind();
                    let obs = Event::Observation(Observation::error(format!(
                        "Action {other} is not supported by this agent."
                    )));
                    self.answer(&action, obs)?;
                }
            }
            return Ok(None);
        }
        self.execute(&action, cancel).await
    }

    /// Runs a sandbox action; on stop/pause the command gets `C-c` and the log stays consistent.
    async fn execute(
        &mut self,
        action: &Arc<Event>,
        cancel: &CancellationToken,
    ) -> Result<Option<Outcome>, StreamError> {
        let Some(a) = action.as_action() else {
            return Ok(None);
        };
        let started = Instant::now();
        let runtime = self.runtime.clone();
        let exec = runtime.execute(a);
        tokio::pin!(exec);
        let result = tokio::select! {
            r = &mut exec => Some(r),
            _ = cancel.cancelled() => None,
        };
        let result = match result {
            Some(r) => r,
            None => {
                // A `C-c` that reaches the shell before the command has started is lost: repeat it
                // until the action reports how it ended or the grace period runs out.
                let deadline = tokio::time::Instant::now() + self.config.interrupt_grace;
                let late = loop {
                    self.runtime.interrupt().await;
                    let next = (tokio::time::Instant::now() + INTERRUPT_REPEAT).min(deadline);
                    match tokio::time::timeout_at(next, &mut exec).await {
                        Ok(r) => break Some(r),
                        Err(_) if next >= deadline => break None,
                        Err(_) => {}
                    }
                };
                self.metrics.runtime_time += started.elapsed();
                return self.interrupted(Some((action, late))).await.map(Some);
            }
        };
        self.metrics.runtime_time += started.elapsed();
        match result {
            Ok(obs) => {
                self.answer(action, Event::Observation(obs))?;
                Ok(None)
            }
            Err(e) => {
                let obs = Event::Observation(Observation::error(format!(
                    "The runtime could not run this action: {e}"
                )));
                self.answer(action, obs)?;
                if self.runtime.health().await.is_err() {
                    let reason = format!("the runtime is not answering: {e}");
                    self.abandon_pending(
                        "The action has not been executed: the runtime is not answering.",
                    )?;
                    self.set_state(AgentState::Error, &reason)?;
                    return Ok(Some(Outcome::Error(reason)));
                }
                Ok(None)
            }
        }
    }

    /// Runs a `call_tool_mcp` action: its `mcp` observation (an error result when the call failed).
    async fn call_mcp(
        &mut self,
        action: &Arc<Event>,
        name: &str,
        arguments: serde_json::Map<String, Value>,
        cancel: &CancellationToken,
    ) -> Result<Option<Outcome>, StreamError> {
        let Some(mcp) = self.mcp.clone() else {
            let obs = Observation::error("No MCP server is connected in this session.");
            self.answer(action, Event::Observation(obs))?;
            return Ok(None);
        };
        let started = Instant::now();
        let result = tokio::select! {
            obs = mcp.call(name, arguments) => Some(obs),
            _ = cancel.cancelled() => None,
        };
        self.metrics.runtime_time += started.elapsed();
        match result {
            Some(obs) => {
                self.answer(action, Event::Observation(obs))?;
                Ok(None)
            }
            None => self.interrupted(Some((action, None))).await.map(Some),
        }
    }

    /// Ends a stopped or paused task, answering every tool call still open.
    async fn interrupted(
        &mut self,
        in_flight: Option<(&Arc<Event>, Option<LateResult>)>,
    ) -> Result<Outcome, StreamError> {
        let paused = self.control.pause.load(Ordering::SeqCst);
        let why = if paused { "paused" } else { "stopped" };
        if let Some((action, late)) = in_flight {
            let obs = match late {
                // The interrupted command reported how it ended (e.g. exit code 130): keep that truth.
                Some(Ok(obs)) => Event::Observation(obs),
                _ => Event::Observation(Observation::error(format!(
                    "The action was interrupted because the user {why} the task; it may not have completed."
                ))),
            };
            self.answer(action, obs)?;
        }
        self.abandon_pending(&format!(
            "The action has not been executed: the user {why} the task."
        ))?;
        if paused {
            self.set_state(AgentState::Paused, "")?;
            Ok(Outcome::Paused)
        } else {
            self.set_state(AgentState::Stopped, "")?;
            Ok(Outcome::Stopped)
        }
    }

    /// Answers queued tool calls that will not run, so every call keeps a result.
    fn abandon_pending(&mut self, text: &str) -> Result<(), StreamError> {
        while let Some(p) = self.pending.pop_front() {
            let meta = match p {
                Parsed::Invalid { meta, .. } => Some(meta),
                Parsed::Action(ev) => super::messages::tool_call_meta(&ev),
            };
            if let Some(meta) = meta {
                let mut obs = Event::Observation(Observation::error(text));
                obs.meta_mut().tool_call_metadata = Some(ToolCallMeta::to_value(&meta));
                self.add(obs, EventSource::Agent)?;
            }
        }
        Ok(())
    }
}

fn render_tasks(command: &str, tasks: &Value) -> String {
    let list = tasks.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return "No task list. Use the \"plan\" command to create one.".to_owned();
    }
    let mut out = if command == "plan" {
        format!("Task list has been updated with {} items.\n\n", list.len())
    } else {
        String::new()
    };
    for (i, t) in list.iter().enumerate() {
        let status = t.get("status").and_then(Value::as_str).unwrap_or("todo");
        let icon = match status {
            "done" => "✅",
            "in_progress" => "🔄",
            _ => "⏳",
        };
        let title = t.get("title").and_then(Value::as_str).unwrap_or_default();
        out.push_str(&format!("{}. {icon} {title}\n", i + 1));
        if let Some(notes) = t
            .get("notes")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        {
            out.push_str(&format!("   {notes}\n"));
        }
    }
    out.trim_end().to_owned()
}

/// Whether a reply puts a question to the user: its last paragraph has a question mark.
fn asks_a_question(text: &str) -> bool {
    text.trim()
        .rsplit("\n\n")
        .find(|p| !p.trim().is_empty())
        .is_some_and(|p| p.contains('?'))
}

/// Whether an observation is an error (for transcripts).
pub fn is_error_observation(obs: &Observation) -> bool {
    matches!(obs.kind, ObservationKind::Error { .. })
}
