//! Condensation: keeps a long task inside the model's context window. When the view grows past
//! `max_size` events or past the token threshold of the context window, or the model or the provider asks
//! for it, the middle of the history is forgotten (a `condensation` event records what, and the summary
//! that replaces it); the system prompt, the first user message and the `keep_first` events stay.

pub mod events;
mod summary;
pub mod view;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use events::Condensation;
pub use view::View;

use super::messages::build_messages;
use crate::events::{Event, EventSource, EventStream, StreamError, kinds};
use crate::llm::{Llm, LlmError, Message, Request, Response, ToolSpec};

/// The tool through which the model asks for a condensation.
pub const REQUEST_TOOL: &str = "request_condensation";

/// Which condenser runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondenserKind {
    /// Forgotten events are replaced by an LLM-written structured summary.
    Llm,
    /// No LLM call: old outputs are masked first; when that is not enough, the oldest events are dropped
    /// with a summary built from them (commands run, files touched).
    ObservationMasking,
    /// Never condense (a context-window error then ends the task).
    None,
}

impl std::str::FromStr for CondenserKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "llm" => Ok(Self::Llm),
            "observation_masking" => Ok(Self::ObservationMasking),
            "none" | "noop" => Ok(Self::None),
            other => Err(format!(
                "unknown condenser type `{other}`: use \"llm\", \"observation_masking\" or \"none\""
            )),
        }
    }
}

/// `[condenser]`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CondenserConfig {
    pub kind: CondenserKind,
    /// Events always kept at the start of the view (the system prompt and the first user message are
    /// kept whatever this says).
    pub keep_first: usize,
    /// Events in the view before a condensation; one leaves about half.
    pub max_size: usize,
}

impl Default for CondenserConfig {
    fn default() -> Self {
        Self {
            kind: CondenserKind::Llm,
            keep_first: 1,
            max_size: 100,
        }
    }
}

impl CondenserConfig {
    /// Why these values cannot work, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_size < 4 {
            return Err(format!(
                "[condenser] max_size must be at least 4 events, got {}",
                self.max_size
            ));
        }
        if self.keep_first == 0 {
            return Err("[condenser] keep_first must be at least 1 (the system prompt)".into());
        }
        if self.keep_first >= self.max_size / 2 {
            return Err(format!(
                "[condenser] keep_first ({}) must be less than half of max_size ({})",
                self.keep_first, self.max_size
            ));
        }
        Ok(())
    }
}

/// Tokens of a request as the condenser counts them: its JSON bytes over 3, a deliberate over-estimate
/// (English runs about 4 bytes a token, code and JSON nearer 3) so the real prompt stays under budget.
pub fn estimate_tokens(messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let bytes = serde_json::to_string(messages).map_or(0, |s| s.len())
        + serde_json::to_string(tools).map_or(0, |s| s.len());
    bytes.div_ceil(3) as u64
}

/// Above this share of the context window a condensation starts; it aims for half the window.
const TRIGGER_PERCENT: u64 = 75;
const TARGET_PERCENT: u64 = 50;
/// The summary gets at most this share of the window (and at most `MAX_SUMMARY_CHARS`).
const SUMMARY_PERCENT: u64 = 12;
const MAX_SUMMARY_CHARS: usize = 12_000;

/// What the controller gets back from one condensation: the condenser's own LLM calls, for the metrics.
#[derive(Debug, Default)]
pub struct Outcome {
    pub condensed: bool,
    pub calls: Vec<Response>,
}

/// Decides when to condense and does it.
#[derive(Debug, Clone)]
pub struct Condenser {
    config: CondenserConfig,
    /// The model's context window in tokens, when known.
    window: Option<u64>,
}

impl Condenser {
    pub fn new(config: CondenserConfig, window: Option<u64>) -> Self {
        Self { config, window }
    }

    pub fn enabled(&self) -> bool {
        self.config.kind != CondenserKind::None
    }

    /// The tool offered to the model when a condenser runs.
    pub fn tool() -> ToolSpec {
        ToolSpec {
            name: REQUEST_TOOL.into(),
            description: "Request a condensation of the conversation history when the context is getting \
                too long or earlier steps no longer matter. Earlier events are replaced by a summary of \
                what has been done and what is left."
                .into(),
            parameters: json!({"type": "object", "properties": {}, "required": []}),
        }
    }

    /// Condenses the stream's view if it is due; the summariser's failures fall back to a summary built
    /// without it. A cancelled summariser call records nothing.
    pub async fn condense_if_due(
        &self,
        stream: &EventStream,
        llm: &Llm,
        tools: &[ToolSpec],
        max_chars: usize,
        cancel: &CancellationToken,
    ) -> Result<Outcome, StreamError> {
        if !self.enabled() {
            return Ok(Outcome::default());
        }
        let view = View::from_events(&stream.events());
        let count = view.logged().count();
        let tokens = self
            .window
            .map(|_| estimate_tokens(&build_messages(&view.events, max_chars), tools));
        let over_tokens = match (tokens, self.window) {
            (Some(t), Some(w)) => t * 100 > w * TRIGGER_PERCENT,
            _ => false,
        };
        let forced = view.unhandled_request;
        if !(forced || count > self.config.max_size || over_tokens) {
            return Ok(Outcome::default());
        }
        let Some(plan) = self.plan(&view, max_chars, tools) else {
            if forced {
                // Nothing left to forget: the request is answered by an empty condensation so it is not
                // retried forever.
                stream.add(Condensation::default().to_event(), EventSource::Agent)?;
            }
            return Ok(Outcome::default());
        };
        let mut outcome = Outcome {
            condensed: true,
            calls: Vec::new(),
        };
        let masking = self.config.kind == CondenserKind::ObservationMasking;
        // Masking alone helps only against tokens: the view keeps its events.
        if masking && !forced && count <= self.config.max_size {
            let masked = self.maskable(&view, &plan);
            if !masked.is_empty() {
                let c = Condensation {
                    masked_ids: masked,
                    ..Condensation::default()
                };
                let mut trial = stream.events();
                trial.push(Arc::new(c.to_event()));
                let after = View::from_events(&trial);
                let t = estimate_tokens(&build_messages(&after.events, max_chars), tools);
                if self.window.is_some_and(|w| t * 100 <= w * TARGET_PERCENT) {
                    stream.add(c.to_event(), EventSource::Agent)?;
                    return Ok(outcome);
                }
            }
        }
        let previous = view.summary.as_deref();
        let max_summary = self.max_summary_chars();
        let summary = if masking {
            summary::mechanical(previous, &plan.forgotten, max_summary)
        } else {
            let input_room = self.window.map_or(400_000, |w| {
                usize::try_from(w * TRIGGER_PERCENT / 100 * 3).unwrap_or(usize::MAX)
            });
            let request = Request {
                messages: summary::request_messages(
                    previous,
                    &plan.forgotten,
                    max_summary,
                    input_room,
                ),
                tools: Vec::new(),
                cache_key: None,
            };
            match llm.complete(&request, cancel, &|_| {}).await {
                Ok(response) if !response.content.trim().is_empty() => {
                    let text = summary::cut_middle(response.content.trim(), max_summary);
                    outcome.calls.push(response);
                    text
                }
                Ok(response) => {
                    outcome.calls.push(response);
                    summary::mechanical(previous, &plan.forgotten, max_summary)
                }
                Err(LlmError::Cancelled) => return Ok(Outcome::default()),
                Err(e) => {
                    tracing::warn!(
                        "the condenser's summariser failed, summarising without it: {e}"
                    );
                    summary::mechanical(previous, &plan.forgotten, max_summary)
                }
            }
        };
        let ids: Vec<i64> = plan.forgotten.iter().map(|e| e.id()).collect();
        let c = Condensation {
            forgotten_range: ids.first().copied().zip(ids.last().copied()),
            summary: Some(summary),
            summary_offset: Some(plan.head),
            ..Condensation::default()
        };
        let mut event = c.to_event();
        if !outcome.calls.is_empty() {
            event.meta_mut().llm_metrics = Some(calls_metrics(&outcome.calls));
        }
        stream.add(event, EventSource::Agent)?;
        Ok(outcome)
    }

    fn max_summary_chars(&self) -> usize {
        self.window.map_or(MAX_SUMMARY_CHARS, |w| {
            usize::try_from(w * SUMMARY_PERCENT / 100 * 3)
                .unwrap_or(MAX_SUMMARY_CHARS)
                .min(MAX_SUMMARY_CHARS)
        })
    }

    /// Which events to forget: everything between the kept head and a tail that fits half of `max_size`
    /// and half of the context window.
    fn plan(&self, view: &View, max_chars: usize, tools: &[ToolSpec]) -> Option<Plan> {
        let logged: Vec<Arc<Event>> = view.logged().cloned().collect();
        let first_user = logged.iter().position(|e| {
            e.source() == Some(EventSource::User)
                && e.as_action().and_then(kinds::as_message).is_some()
        });
        let head = self
            .config
            .keep_first
            .max(first_user.map_or(0, |i| i + 1))
            .min(logged.len());
        let max_tail = (self.config.max_size / 2).saturating_sub(head + 1).max(1);
        let budget = self.window.map(|w| {
            let head_tokens = estimate_tokens(&build_messages(&logged[..head], max_chars), tools);
            (w * TARGET_PERCENT / 100)
                .saturating_sub(head_tokens)
                .saturating_sub((self.max_summary_chars() / 3) as u64)
        });
        let mut tail = 0;
        let mut used = 0u64;
        for event in logged[head..].iter().rev() {
            // A tool call is counted with its result, which rebuilds the call's message.
            let cost =
                estimate_tokens(&build_messages(std::slice::from_ref(event), max_chars), &[]);
            if tail >= max_tail || (tail > 0 && budget.is_some_and(|b| used + cost > b)) {
                break;
            }
            used += cost;
            tail += 1;
        }
        let forgotten: Vec<Arc<Event>> = logged[head..logged.len() - tail].to_vec();
        if forgotten.is_empty() {
            return None;
        }
        Some(Plan {
            head,
            forgotten,
            tail_start: logged.len() - tail,
            logged,
        })
    }

    /// The observations before the tail whose content is still shown.
    fn maskable(&self, view: &View, plan: &Plan) -> Vec<i64> {
        let _ = view;
        plan.logged[plan.head..plan.tail_start]
            .iter()
            .filter(|e| {
                e.as_observation()
                    .is_some_and(|o| o.content != events::MASKED && !o.content.is_empty())
            })
            .map(|e| e.id())
            .collect()
    }
}

struct Plan {
    head: usize,
    forgotten: Vec<Arc<Event>>,
    tail_start: usize,
    logged: Vec<Arc<Event>>,
}

/// The condenser's calls as an event's `llm_metrics`.
fn calls_metrics(calls: &[Response]) -> Value {
    let sum = |f: fn(&Response) -> u64| calls.iter().map(f).sum::<u64>();
    json!({
        "condenser": true,
        "accumulated_cost": calls.iter().map(|r| r.cost).sum::<f64>(),
        "accumulated_token_usage": {
            "prompt_tokens": sum(|r| r.usage.prompt_tokens),
            "completion_tokens": sum(|r| r.usage.completion_tokens),
            "cache_read_tokens": sum(|r| r.usage.cache_read_tokens),
            "cache_write_tokens": sum(|r| r.usage.cache_write_tokens),
        },
    })
}
