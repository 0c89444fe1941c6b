//! One step of the loop: running a parsed tool call (the runtime, MCP, the task tracker, finish), and
//! stopping an action that was interrupted.

use super::*;

impl Controller {
    /// Runs one parsed tool call; `Some` ends the task.
    pub(super) async fn step(
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
        super::super::risk::rate(&mut event, &self.workspace);
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
    pub(super) async fn execute(
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
    pub(super) async fn call_mcp(
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
    pub(super) async fn interrupted(
        &mut self,
        in_flight: Option<(&Arc<Event>, Option<LateResult>)>,
    ) -> Result<Outcome, StreamError> {
        let paused = self.control.is_pausing();
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
    pub(super) fn abandon_pending(&mut self, text: &str) -> Result<(), StreamError> {
        while let Some(p) = self.pending.pop_front() {
            let meta = match p {
                Parsed::Invalid { meta, .. } => Some(meta),
                Parsed::Action(ev) => super::super::messages::tool_call_meta(&ev),
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
pub(super) fn asks_a_question(text: &str) -> bool {
    text.trim()
        .rsplit("\n\n")
        .find(|p| !p.trim().is_empty())
        .is_some_and(|p| p.contains('?'))
}

/// Whether an observation is an error (for transcripts).
pub fn is_error_observation(obs: &Observation) -> bool {
    matches!(obs.kind, ObservationKind::Error { .. })
}
