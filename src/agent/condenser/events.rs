//! The condensation events in OpenHands' shape: `condensation` (what the model no longer sees, and the
//! summary that replaces it) and `condensation_request` (the model, or the controller after a
//! context-window error, asks for one). Forgetting is a tombstone appended to the log, never a rewrite.

use openhands_runtime_api::{Action, ActionEvent, Observation, ObservationKind};
use serde_json::{Map, Value, json};

use crate::events::{AgentAction, Event};

pub const CONDENSATION: &str = "condensation";
pub const CONDENSATION_REQUEST: &str = "condensation_request";
/// The observation kind of the summary as the view shows it (OpenHands' `AgentCondensationObservation`).
pub const SUMMARY: &str = "agent_condensation";
/// What a masked observation reads (OpenHands' `ObservationMaskingCondenser`).
pub const MASKED: &str = "<MASKED>";

/// One recorded condensation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Condensation {
    /// Forgotten ids as a list (OpenHands' `forgotten_event_ids`).
    pub forgotten_ids: Vec<i64>,
    /// Forgotten ids as an inclusive range (`forgotten_events_start_id`..=`forgotten_events_end_id`).
    pub forgotten_range: Option<(i64, i64)>,
    /// Observations whose content the model no longer reads (the masking condenser).
    pub masked_ids: Vec<i64>,
    pub summary: Option<String>,
    /// Where the summary goes in the view.
    pub summary_offset: Option<usize>,
}

impl Condensation {
    pub fn forgets(&self, id: i64) -> bool {
        self.forgotten_ids.contains(&id)
            || self
                .forgotten_range
                .is_some_and(|(start, end)| (start..=end).contains(&id))
    }

    /// The `CondensationAction` event.
    pub fn to_event(&self) -> Event {
        let (start, end) = match self.forgotten_range {
            Some((s, e)) => (json!(s), json!(e)),
            None => (Value::Null, Value::Null),
        };
        let ids = if self.forgotten_ids.is_empty() {
            Value::Null
        } else {
            json!(self.forgotten_ids)
        };
        let args = json!({
            "forgotten_event_ids": ids,
            "forgotten_events_start_id": start,
            "forgotten_events_end_id": end,
            "masked_event_ids": self.masked_ids,
            "summary": self.summary,
            "summary_offset": self.summary_offset,
        });
        let Value::Object(args) = args else {
            unreachable!("a JSON object literal")
        };
        let mut ev = ActionEvent::new(Action::Other {
            kind: CONDENSATION.to_owned(),
            args,
        });
        ev.message = self.describe();
        Event::Action(ev)
    }

    /// What a person reads about it (transcript, editors).
    pub fn describe(&self) -> String {
        let forgotten = self.forgotten_ids.len()
            + self
                .forgotten_range
                .map_or(0, |(s, e)| usize::try_from(e - s + 1).unwrap_or(0));
        let mut text = format!("Condensed the history: {forgotten} earlier events summarised");
        if !self.masked_ids.is_empty() {
            text.push_str(&format!(", {} older outputs masked", self.masked_ids.len()));
        }
        text
    }

    /// A recorded condensation, from its event (`None` for any other event).
    pub fn from_event(event: &Event) -> Option<Self> {
        let AgentAction::Condensation { args } = AgentAction::of(event.as_action()?)? else {
            return None;
        };
        let ids = |key: &str| -> Vec<i64> {
            args.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default()
        };
        let int = |key: &str| args.get(key).and_then(Value::as_i64);
        Some(Self {
            forgotten_ids: ids("forgotten_event_ids"),
            forgotten_range: int("forgotten_events_start_id").zip(int("forgotten_events_end_id")),
            masked_ids: ids("masked_event_ids"),
            summary: args
                .get("summary")
                .and_then(Value::as_str)
                .map(str::to_owned),
            summary_offset: args
                .get("summary_offset")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
        })
    }
}

/// `CondensationRequestAction`.
pub fn request() -> Event {
    let mut ev = ActionEvent::new(Action::Other {
        kind: CONDENSATION_REQUEST.to_owned(),
        args: Map::new(),
    });
    ev.message = "Requesting a condensation of the conversation history".to_owned();
    Event::Action(ev)
}

pub fn is_request(event: &Event) -> bool {
    event
        .as_action()
        .and_then(AgentAction::of)
        .is_some_and(|a| a == AgentAction::CondensationRequest)
}

/// What answers the model's `request_condensation` call, so every tool call keeps its result.
pub fn request_observation() -> Event {
    let text = "The conversation history will be condensed before your next step.";
    Event::Observation(Observation {
        meta: Default::default(),
        message: text.to_owned(),
        content: text.to_owned(),
        kind: ObservationKind::Other {
            kind: CONDENSATION_REQUEST.to_owned(),
            extras: Map::new(),
        },
    })
}

/// The summary as the model reads it: a user-side observation without a tool call.
pub fn summary_observation(summary: &str) -> Event {
    Event::Observation(Observation {
        meta: Default::default(),
        message: summary.to_owned(),
        content: summary.to_owned(),
        kind: ObservationKind::Other {
            kind: SUMMARY.to_owned(),
            extras: Map::new(),
        },
    })
}
