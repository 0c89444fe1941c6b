//! The agent controller: runs the CodeAct loop (ask the model, run its tool calls, record everything)
//! until the task finishes, needs the user, fails, hits a limit, gets stuck, or is stopped or paused.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openhands_runtime_api::{Observation, ObservationKind};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::condenser::{self, Condenser, View};
use super::messages::{ToolCallMeta, build_messages};
use super::parse::{Parsed, response_to_events_with};
use super::{prompt, stuck, tools};
use crate::events::{AgentAction, Event, EventSource, EventStream, StreamError, kinds};
use crate::llm::{Llm, LlmError, Request, StreamEvent, ToolSpec};
use crate::runtime::Runtime;

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

mod step;
mod types;

pub use step::is_error_observation;
pub use types::{AgentConfig, AgentState, ControlHandle, Metrics, Outcome};

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
        let mut response = result?;
        super::parse::unique_ids(&mut response, &self.stream.events());
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
}
