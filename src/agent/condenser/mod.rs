//! Condensation: keeps a long task inside the model's context window. When the view grows past
//! `max_size` events or past the token threshold of the context window, or the model or the provider asks
//! for it, the middle of the history is forgotten (a `condensation` event records what, and the summary
//! that replaces it); the system prompt, the first user message and the `keep_first` events stay.

pub mod events;
mod plan;
mod summary;
pub mod view;

use std::sync::Arc;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub use events::Condensation;
pub use view::View;

use super::messages::build_messages;
use crate::events::{Event, EventSource, EventStream, StreamError};
use crate::llm::{Llm, LlmError, Message, Request, Response, ToolSpec};
use plan::{Budget, Plan};

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

/// Tokens of a request as the condenser counts them: its JSON bytes over 4 (about what tokenizers make of
/// English; code runs denser, which the margin below the window (`plan::TRIGGER_PERCENT`) and the recovery
/// from the provider's context-window errors absorb).
pub fn estimate_tokens(messages: &[Message], tools: &[ToolSpec]) -> u64 {
    let bytes = serde_json::to_string(messages).map_or(0, |s| s.len())
        + serde_json::to_string(tools).map_or(0, |s| s.len());
    bytes.div_ceil(4) as u64
}

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
        let logged: Vec<Arc<Event>> = view.logged().cloned().collect();
        let head = plan::head(&logged, self.config.keep_first);
        let budget = self.window.map(|w| {
            let fixed = estimate_tokens(&build_messages(&logged[..head], max_chars), tools);
            Budget::new(w, fixed)
        });
        let over_tokens = budget.is_some_and(|b| {
            estimate_tokens(&build_messages(&view.events, max_chars), tools) > b.trigger
        });
        let forced = view.unhandled_request;
        let over_count = logged.len() > self.config.max_size;
        if !(forced || over_count || over_tokens) {
            return Ok(Outcome::default());
        }
        let Some(plan) = Plan::new(
            logged,
            head,
            self.config.max_size,
            budget,
            max_chars,
            forced,
        ) else {
            if forced {
                // Nothing left to forget: an empty condensation answers the request, so it is not
                // asked again and again.
                stream.add(Condensation::default().to_event(), EventSource::Agent)?;
            }
            return Ok(Outcome::default());
        };
        let mut outcome = Outcome {
            condensed: true,
            calls: Vec::new(),
        };
        let masking = self.config.kind == CondenserKind::ObservationMasking;
        // Masking helps only against tokens (the view keeps its events), and only if it is enough.
        if masking && !forced && !over_count {
            let masked = plan.maskable();
            if !masked.is_empty() {
                let c = Condensation {
                    masked_ids: masked,
                    ..Condensation::default()
                };
                let mut trial = stream.events();
                trial.push(Arc::new(c.to_event()));
                let after = View::from_events(&trial);
                let t = estimate_tokens(&build_messages(&after.events, max_chars), tools);
                // Worth it when it buys at least half the way from the trigger down to the target.
                if budget.is_some_and(|b| t <= b.target + (b.trigger - b.target) / 2) {
                    stream.add(c.to_event(), EventSource::Agent)?;
                    return Ok(outcome);
                }
            }
        }
        let previous = view.summary.as_deref();
        let max_summary = budget.map_or(plan::MAX_SUMMARY_CHARS, Budget::summary_chars);
        let summary = if masking {
            summary::mechanical(previous, &plan.forgotten, max_summary)
        } else {
            // The summariser's own request fits the same window.
            let input_room = budget.map_or(400_000, |b| {
                usize::try_from(b.trigger * 4).unwrap_or(usize::MAX)
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
        if let Event::Action(a) = &mut event {
            // The range also spans events forgotten before; say how many this one took out.
            a.message = format!(
                "Condensed the history: {} earlier events summarised",
                plan.forgotten.len()
            );
        }
        if !outcome.calls.is_empty() {
            event.meta_mut().llm_metrics = Some(calls_metrics(&outcome.calls));
        }
        stream.add(event, EventSource::Agent)?;
        Ok(outcome)
    }
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
