//! One `session/prompt` turn: opens the conversation through `crate::session` on the first prompt (new or
//! resumed), runs the message, streams every event as `session/update`s in order (the one mapping,
//! `crate::updates`), and ends with the stop reason the outcome calls for.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use agent_client_protocol::Error;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::bridge::{ClientRuntime, Deadlines, Link};
use super::client::{Caps, Peer};
use super::modes::{self, Mode};
use super::sessions::Slot;
use crate::agent::Outcome;
use crate::events::{Event, EventSource};
use crate::session::{Open, Session, one_line};
use crate::storage::ConversationId;

/// What a turn needs from the connection.
pub struct Turn {
    pub peer: Peer,
    pub caps: Caps,
    pub deadlines: Deadlines,
}

fn failed(message: impl Into<String>) -> Error {
    Error::new(agent_client_protocol::ErrorCode::INTERNAL_ERROR, message)
}

/// The settings for a session's directory; the error is a sentence for the user.
pub fn settings_for(cwd: &Path) -> Result<crate::config::Settings, Error> {
    crate::config::resolve(cwd, &Default::default(), &|k| std::env::var(k).ok()).map_err(|e| {
        Error::new(
            agent_client_protocol::ErrorCode::INVALID_PARAMS,
            e.to_string(),
        )
    })
}

impl Turn {
    fn say(&self, slot: &Slot, text: &str) {
        self.peer.update(
            &slot.id,
            json!({"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": text}}),
        );
    }

    /// The slash commands this agent answers itself; `None`: not one of them.
    fn command(&self, slot: &Slot, live: Option<&Session>, text: &str) -> Option<Value> {
        let line = text.trim();
        let (name, arg) = line
            .strip_prefix('/')
            .map(|l| l.split_once(' ').unwrap_or((l, "")))?;
        match name {
            "usage" => {
                let said = match live {
                    Some(s) => {
                        let m = s.metrics();
                        format!(
                            "{} prompt and {} completion tokens, ${:.4}",
                            m.prompt_tokens, m.completion_tokens, m.cost
                        )
                    }
                    None => "No model calls yet in this session.".to_owned(),
                };
                self.say(slot, &said);
            }
            "mode" => match Mode::parse(arg.trim()) {
                Some(mode) => {
                    if let Ok(mut m) = slot.mode.lock() {
                        *m = mode;
                    }
                    self.peer.update(
                        &slot.id,
                        json!({"sessionUpdate": "current_mode_update", "currentModeId": mode.id()}),
                    );
                    self.say(slot, &format!("Mode: {}", mode.id()));
                }
                None => self.say(
                    slot,
                    &format!("`{}` is not a mode: use {}", arg.trim(), modes::NAMES),
                ),
            },
            _ => return None,
        }
        Some(json!({"stopReason": "end_turn"}))
    }

    /// Opens the slot's conversation with its LLM and runtime.
    async fn open(&self, slot: &Slot, first_message: &str) -> Result<Session, Error> {
        let mut settings = settings_for(&slot.cwd)?;
        // The client's MCP servers join the configured ones (a client's server replaces one of its name).
        let (servers, refused) = crate::mcp::config::from_acp(&slot.mcp_servers);
        for w in refused {
            tracing::warn!("{w}");
        }
        for s in servers {
            settings.mcp.servers.retain(|o| o.name() != s.name());
            settings.mcp.servers.push(s);
        }
        let stored = slot.stored.lock().map(|s| *s).unwrap_or(false);
        let open = if stored {
            Open::Resume(&slot.id)
        } else {
            let id = ConversationId::parse(&slot.id).map_err(|e| failed(e.to_string()))?;
            Open::New { id, first_message }
        };
        let prepared =
            Session::prepare(&settings, &slot.cwd, open).map_err(|e| failed(e.to_string()))?;
        if let Ok(mut w) = slot.context_window.lock() {
            *w = settings.llm.context_window();
        }
        let sandboxed = settings.runtime.kind != crate::config::RuntimeKind::Local;
        let link = Link {
            peer: self.peer.clone(),
            session_id: slot.id.clone(),
            caps: self.caps,
            mode: slot.mode.clone(),
            allowed: slot.allowed.clone(),
            cancel: slot.cancel.clone(),
            forwarded: slot.forwarded.1.clone(),
            cwd: slot.cwd.clone(),
            planning: slot.planning.clone(),
            client_terminal: self.caps.terminal && super::terminal::chosen() && !sandboxed,
            terminals: slot.terminals.clone(),
            deadlines: self.deadlines,
        };
        let mut session = prepared
            .start(&settings, &slot.cwd, |inner| {
                Arc::new(ClientRuntime::new(inner, link, sandboxed))
                    as Arc<dyn crate::runtime::Runtime>
            })
            .await
            .map_err(|e| failed(e.to_string()))?;
        if let Ok(mut s) = slot.stored.lock() {
            *s = true;
        }
        // LLM retries are told as thoughts: the user otherwise waits in silence.
        let peer = self.peer.clone();
        let sid = slot.id.clone();
        session.controller_mut().on_llm_event(move |e| {
            if let crate::llm::StreamEvent::Retrying {
                attempt,
                max_attempts,
                wait,
                reason,
            } = e
            {
                let line = format!(
                    "The model's server failed ({}); retry {attempt} of {max_attempts} in {} s.",
                    one_line(&reason, 120),
                    wait.as_secs()
                );
                peer.update(
                    &sid,
                    json!({"sessionUpdate": "agent_thought_chunk", "content": {"type": "text", "text": line}}),
                );
            }
        });
        let meta = session.meta();
        self.peer.update(
            &slot.id,
            json!({"sessionUpdate": "session_info_update", "title": meta.title, "updatedAt": meta.updated_at}),
        );
        Ok(session)
    }

    /// Sends one event's updates; the user's own message is not echoed during a live turn (the client
    /// shows what it sent).
    fn forward(&self, slot: &Slot, event: &Event) {
        for update in crate::updates::updates(event) {
            if update["sessionUpdate"] == "user_message_chunk"
                && event.source() == Some(EventSource::User)
            {
                continue;
            }
            self.peer.update(
                &slot.id,
                super::terminal::keep_shown(&slot.terminals, update),
            );
        }
        slot.forwarded.0.send_replace(event.id());
    }

    /// The plan a plan-mode turn recorded last (with `task_tracker`), sent again as the turn's closing update
    /// so the client shows the final plan; without one, a line saying so.
    fn send_plan(&self, slot: &Slot, events: &[Arc<Event>], turn_start: i64) {
        let plan = events
            .iter()
            .rev()
            .take_while(|e| e.id() >= turn_start)
            .find_map(|e| {
                crate::updates::updates(e)
                    .into_iter()
                    .find(|u| u["sessionUpdate"] == "plan")
            });
        match plan {
            Some(plan) => self.peer.update(&slot.id, plan),
            None => self.say(
                slot,
                "No plan was recorded with the task tracker: the messages above are the plan.",
            ),
        }
    }

    /// Runs one prompt to its stop reason (`PromptResponse` as JSON).
    pub async fn run(&self, slot: Arc<Slot>, text: String) -> Result<Value, Error> {
        let Ok(mut live) = slot.live.try_lock() else {
            return Err(Error::new(
                agent_client_protocol::ErrorCode::INVALID_REQUEST,
                "a prompt is already running in this session; cancel it or wait for its end",
            ));
        };
        let cancel = CancellationToken::new();
        if let Ok(mut c) = slot.cancel.lock() {
            *c = cancel.clone();
        }
        if let Some(done) = self.command(&slot, live.as_ref(), &text) {
            return Ok(done);
        }
        if live.is_none() {
            *live = Some(self.open(&slot, &text).await?);
        }
        let Some(session) = live.as_mut() else {
            return Err(failed("the session did not open"));
        };
        if let Ok(mut c) = slot.control.lock() {
            *c = Some(session.handle());
        }
        // Plan mode holds for the whole turn: the tools are read-only and the message asks for a plan; the
        // first turn after a plan-mode one tells the agent it may act now.
        let planning = slot.mode.lock().map(|m| *m == Mode::Plan).unwrap_or(false);
        let message = match (planning, slot.planning.swap(planning, Ordering::SeqCst)) {
            (true, _) => crate::plan_mode::plan_prompt(&text),
            (false, true) => format!("{}\n\n{text}", crate::plan_mode::ACT_PROMPT),
            (false, false) => text,
        };
        let turn_start = session.stream().events().last().map_or(0, |e| e.id() + 1);
        // A cancel that came while the conversation opened still stops this turn.
        if cancel.is_cancelled() {
            session.handle().stop();
        }
        let mut events = session.stream().subscribe();
        let outcome = {
            let run = session.run(&message);
            tokio::pin!(run);
            loop {
                tokio::select! {
                    biased;
                    Some(event) = events.recv() => self.forward(&slot, &event),
                    outcome = &mut run => break outcome,
                }
            }
        };
        while let Ok(event) = events.try_recv() {
            self.forward(&slot, &event);
        }
        if let Ok(mut c) = slot.control.lock() {
            *c = None;
        }
        if planning {
            self.send_plan(&slot, &session.stream().events(), turn_start);
        }
        let window = slot.context_window.lock().ok().and_then(|w| *w);
        self.peer.update(&slot.id, usage(session, window));
        let reason = match outcome {
            _ if cancel.is_cancelled() => "cancelled",
            Outcome::Stopped | Outcome::Paused => "cancelled",
            Outcome::Finished(_) | Outcome::AwaitingInput(_) => "end_turn",
            Outcome::LimitReached(why) => {
                self.say(&slot, &why);
                "max_turn_requests"
            }
            Outcome::Stuck(why) => {
                self.say(&slot, &why);
                "end_turn"
            }
            Outcome::Error(e) if is_refusal(&e) => "refusal",
            Outcome::Error(e) => return Err(failed(e)),
        };
        Ok(json!({"stopReason": reason}))
    }
}

/// `usage_update`: the tokens in the model's context now (the last call's prompt and answer) out of its context
/// window (`size` 0 when the window is not known: an unknown model without `[llm] max_input_tokens`), and the
/// conversation's cost so far.
fn usage(session: &Session, window: Option<u64>) -> Value {
    let m = session.metrics();
    json!({"sessionUpdate": "usage_update", "used": m.context_tokens,
           "size": window.unwrap_or(0),
           "cost": {"amount": m.cost, "currency": "USD"}})
}

/// Whether the LLM's failure is the model declining to answer (a content filter, Anthropic's `refusal`).
fn is_refusal(error: &str) -> bool {
    let e = error.to_lowercase();
    e.contains("content_filter")
        || e.contains("content filter")
        || e.contains("stop_reason: refusal")
}

/// The modes a new or loaded session starts with.
pub fn mode_state(slot: &Slot) -> Value {
    modes::state(slot.mode.lock().map(|m| *m).unwrap_or(Mode::AutoEdit))
}
