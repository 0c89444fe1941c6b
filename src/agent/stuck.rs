//! OpenHands' stuck detection: repeated action/observation pairs, repeated errors, a monologue, and
//! A/B alternation, looked for since the last user message. The controller warns the model once before
//! it stops a task as stuck.

use std::sync::Arc;

use openhands_runtime_api::ObservationKind;
use serde_json::Value;

use crate::events::{AgentAction, AgentObservation, Event, EventSource};

/// Why the agent was judged stuck.
#[derive(Debug, Clone, PartialEq)]
pub struct StuckLoop {
    pub kind: &'static str,
    pub description: String,
}

/// What two actions are compared by: type and arguments, the thought included, as OpenHands compares
/// its action dataclasses (the thought is one of their fields). A model polling the same command while
/// saying something new each time is following progress, not looping.
fn action_key(event: &Event) -> Option<Value> {
    let a = event.as_action()?;
    let mut v = a.to_value();
    let args = v.get_mut("args")?.as_object_mut()?;
    args.remove("security_risk");
    Some(serde_json::json!([v.get("action"), v.get("args")]))
}

/// Observations compare by type and content; commands by command and exit code only (pids and timing vary).
fn observation_key(event: &Event) -> Option<Value> {
    let o = event.as_observation()?;
    Some(match &o.kind {
        ObservationKind::Run(e) => serde_json::json!(["run", e.command, e.metadata.exit_code]),
        _ => serde_json::json!([o.kind_name(), o.content]),
    })
}

fn is_error(event: &Event) -> bool {
    matches!(
        event.as_observation().map(|o| &o.kind),
        Some(ObservationKind::Error { .. })
    )
}

/// How many responses in a row ended `recent` with nothing but the same invalid-call error (an error
/// observation that answers a tool call of no action).
fn malformed_call_run(recent: &[&Event]) -> usize {
    let mut responses: Vec<&Value> = Vec::new();
    let mut content: Option<&str> = None;
    for event in recent.iter().rev() {
        let Some(o) = event.as_observation() else {
            break;
        };
        if !is_error(event) || o.meta.cause.is_some() {
            break;
        }
        let Some(response) = o
            .meta
            .tool_call_metadata
            .as_ref()
            .and_then(|m| m.get("model_response"))
            .and_then(|r| r.get("id"))
        else {
            break;
        };
        if *content.get_or_insert(o.content.as_str()) != o.content {
            break;
        }
        if !responses.contains(&response) {
            responses.push(response);
        }
    }
    responses.len()
}

fn all_equal(keys: &[Value]) -> bool {
    keys.windows(2).all(|w| w[0] == w[1])
}

/// Checks the events since the last user message, leaving out `ignored` (the controller's own warning).
pub fn detect(events: &[Arc<Event>], ignored: Option<i64>) -> Option<StuckLoop> {
    let start = events
        .iter()
        .rposition(|e| {
            e.source() == Some(EventSource::User)
                && e.as_action()
                    .and_then(AgentAction::of)
                    .is_some_and(|a| matches!(a, AgentAction::Message { .. }))
        })
        .map_or(0, |i| i + 1);
    let recent: Vec<&Event> = events[start..]
        .iter()
        .map(Arc::as_ref)
        .filter(|e| Some(e.id()) != ignored)
        .filter(|e| match e {
            Event::Observation(o) => !matches!(
                AgentObservation::of(o),
                Some(AgentObservation::StateChanged { .. } | AgentObservation::Null)
            ),
            // Condensations come between steps; they must not hide a loop.
            Event::Action(a) => !matches!(
                AgentAction::of(a),
                Some(AgentAction::Condensation { .. } | AgentAction::CondensationRequest)
            ),
        })
        .collect();
    if recent.len() < 3 {
        return None;
    }
    let actions: Vec<&Event> = recent
        .iter()
        .copied()
        .filter(|e| e.as_action().is_some())
        .collect();
    let observations: Vec<&Event> = recent
        .iter()
        .copied()
        .filter(|e| e.as_observation().is_some())
        .collect();
    let last = |v: &[&Event], n: usize| -> Option<Vec<Value>> {
        (v.len() >= n).then(|| {
            v[v.len() - n..]
                .iter()
                .filter_map(|e| action_key(e).or_else(|| observation_key(e)))
                .collect()
        })
    };

    if let (Some(a), Some(o)) = (last(&actions, 4), last(&observations, 4))
        && a.len() == 4
        && all_equal(&a)
        && all_equal(&o)
    {
        return Some(StuckLoop {
            kind: "repeating_action_observation",
            description: "the same action produced the same result four times in a row".into(),
        });
    }
    if let Some(a) = last(&actions, 3)
        && all_equal(&a)
        && observations.len() >= 3
        && observations[observations.len() - 3..]
            .iter()
            .all(|e| is_error(e))
    {
        return Some(StuckLoop {
            kind: "repeating_action_error",
            description: "the same action failed with an error three times in a row".into(),
        });
    }
    // The model repeats a tool call that cannot be read: each gets an error observation and no action, so
    // the rules above never see it. Three responses in a row with only that same error.
    if malformed_call_run(&recent) >= 3 {
        return Some(StuckLoop {
            kind: "repeating_malformed_call",
            description: "the model made the same invalid tool call in three responses in a row"
                .into(),
        });
    }
    // Three identical agent messages with nothing in between.
    let tail: Vec<&Event> = recent[recent.len().saturating_sub(3)..].to_vec();
    if tail.len() == 3
        && tail.iter().all(|e| {
            e.source() == Some(EventSource::Agent)
                && e.as_action()
                    .and_then(AgentAction::of)
                    .is_some_and(|a| matches!(a, AgentAction::Message { .. }))
        })
        && all_equal(
            &tail
                .iter()
                .filter_map(|e| action_key(e))
                .collect::<Vec<_>>(),
        )
    {
        return Some(StuckLoop {
            kind: "monologue",
            description: "the agent repeated the same message three times".into(),
        });
    }
    if let (Some(a), Some(o)) = (last(&actions, 6), last(&observations, 6))
        && recent.len() >= 6
        && a[0] == a[2]
        && a[2] == a[4]
        && a[1] == a[3]
        && a[3] == a[5]
        && o[0] == o[2]
        && o[2] == o[4]
        && o[1] == o[3]
        && o[3] == o[5]
    {
        return Some(StuckLoop {
            kind: "repeating_action_observation_pattern",
            description:
                "the agent alternated between the same two actions and results three times".into(),
        });
    }
    None
}
