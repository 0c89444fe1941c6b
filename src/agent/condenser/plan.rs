//! What a condensation forgets: the kept head (system prompt, first user message, `keep_first`), a tail
//! of recent events that fits the token target and half of `max_size`, and the middle in between.

use std::sync::Arc;

use super::estimate_tokens;
use crate::agent::messages::build_messages;
use crate::events::{AgentAction, AgentObservation, Event, EventSource};

/// Above this share of the context window a condensation starts.
pub const TRIGGER_PERCENT: u64 = 85;
/// The summary gets at most this fraction of the room the history has, and at most `MAX_SUMMARY_CHARS`.
const SUMMARY_SHARE: u64 = 4;
pub const MAX_SUMMARY_CHARS: usize = 12_000;

/// The token thresholds for a window: a condensation starts above `trigger` and aims for `target`,
/// halfway between what is always sent (`fixed`: system prompt, tools, kept head) and `trigger`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub fixed: u64,
    pub trigger: u64,
    pub target: u64,
    pub summary_tokens: u64,
}

impl Budget {
    pub fn new(window: u64, fixed: u64) -> Self {
        let trigger = window * TRIGGER_PERCENT / 100;
        let room = trigger.saturating_sub(fixed);
        Budget {
            fixed,
            trigger,
            target: fixed + room / 2,
            summary_tokens: (room / SUMMARY_SHARE).min((MAX_SUMMARY_CHARS / 4) as u64),
        }
    }

    pub fn summary_chars(self) -> usize {
        usize::try_from(self.summary_tokens * 4).unwrap_or(MAX_SUMMARY_CHARS)
    }

    /// What the kept tail may take.
    fn tail_tokens(self) -> u64 {
        self.target
            .saturating_sub(self.fixed)
            .saturating_sub(self.summary_tokens)
    }
}

/// How many events at the start are always kept: `keep_first`, and at least up to the first user message
/// (the system prompt comes before it) and the workspace context recalled with it (the repository's
/// instructions).
pub fn head(logged: &[Arc<Event>], keep_first: usize) -> usize {
    let first_user = logged.iter().position(|e| {
        e.source() == Some(EventSource::User)
            && matches!(
                e.as_action().and_then(AgentAction::of),
                Some(AgentAction::Message { .. })
            )
    });
    let first_user = first_user.map(|i| {
        let recalled = logged.iter().skip(i + 1).take(2).position(|e| {
            matches!(
                e.as_observation().and_then(AgentObservation::of),
                Some(AgentObservation::Recall { .. })
            )
        });
        recalled.map_or(i, |j| i + 1 + j)
    });
    keep_first
        .max(first_user.map_or(0, |i| i + 1))
        .min(logged.len())
}

pub struct Plan {
    pub head: usize,
    pub forgotten: Vec<Arc<Event>>,
    tail_start: usize,
    logged: Vec<Arc<Event>>,
}

impl Plan {
    /// `None` when nothing can be forgotten. A `forced` condensation (asked for by the model, or after the
    /// provider's context-window error) forgets at least the older half of what follows the head.
    pub fn new(
        logged: Vec<Arc<Event>>,
        head: usize,
        max_size: usize,
        budget: Option<Budget>,
        max_chars: usize,
        forced: bool,
    ) -> Option<Self> {
        let mut max_tail = (max_size / 2).saturating_sub(head + 1).max(1);
        if forced {
            max_tail = max_tail.min((logged.len() - head) / 2).max(1);
        }
        let room = budget.map(Budget::tail_tokens);
        let mut tail = 0;
        let mut used = 0u64;
        for event in logged[head..].iter().rev() {
            // A tool call is counted with its result, which rebuilds the call's message.
            let cost =
                estimate_tokens(&build_messages(std::slice::from_ref(event), max_chars), &[]);
            // The latest event always stays: the model must see the result it is acting on.
            if tail >= max_tail || (tail > 0 && room.is_some_and(|r| used + cost > r)) {
                break;
            }
            used += cost;
            tail += 1;
        }
        let tail_start = logged.len() - tail;
        if tail_start <= head {
            return None;
        }
        Some(Plan {
            head,
            forgotten: logged[head..tail_start].to_vec(),
            tail_start,
            logged,
        })
    }

    /// The observations before the tail whose content is still shown.
    pub fn maskable(&self) -> Vec<i64> {
        self.logged[self.head..self.tail_start]
            .iter()
            .filter(|e| {
                e.as_observation()
                    .is_some_and(|o| o.content != super::events::MASKED && !o.content.is_empty())
            })
            .map(|e| e.id())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventStream, kinds};
    use openhands_runtime_api::Observation;

    #[test]
    fn the_budget_splits_the_room_left_by_the_fixed_prompt() {
        let b = Budget::new(10_000, 4_000);
        assert_eq!(
            (b.trigger, b.target, b.summary_tokens),
            (8_500, 6_250, 1_125)
        );
        assert_eq!(b.tail_tokens(), 1_125);
        // A prompt bigger than the window leaves no room, and no panic.
        let tight = Budget::new(1_000, 4_000);
        assert_eq!(
            (tight.target, tight.summary_tokens, tight.tail_tokens()),
            (4_000, 0, 0)
        );
    }

    #[test]
    fn the_plan_keeps_the_head_and_a_tail_of_half_max_size() {
        let s = EventStream::default();
        s.add(
            kinds::system("sys", serde_json::json!([]), "CodeActAgent"),
            EventSource::Agent,
        )
        .unwrap();
        s.add(kinds::message("task", false), EventSource::User)
            .unwrap();
        for i in 0..20 {
            s.add(
                Event::Observation(Observation::error(format!("obs {i}"))),
                EventSource::Environment,
            )
            .unwrap();
        }
        let logged = s.events();
        assert_eq!(head(&logged, 1), 2, "the first user message is kept");
        assert_eq!(head(&logged, 4), 4);
        // The workspace context recalled with the first message stays with it.
        let r = EventStream::default();
        for e in [
            kinds::system("sys", serde_json::json!([]), "CodeActAgent"),
            kinds::message("task", false),
            kinds::recall("workspace_context", "task", String::new()),
            kinds::recall_observation("AGENTS.md".into(), serde_json::json!({}), String::new()),
            Event::Observation(Observation::error("obs")),
        ] {
            r.add(e, EventSource::User).unwrap();
        }
        assert_eq!(
            head(&r.events(), 1),
            4,
            "the recalled instructions are kept"
        );
        let plan = Plan::new(logged.clone(), 2, 12, None, 30_000, false).unwrap();
        // Tail: 12 / 2 - (2 + 1) = 3 events; the summary takes one place.
        let ids: Vec<i64> = plan.forgotten.iter().map(|e| e.id()).collect();
        assert_eq!(ids, (2..19).collect::<Vec<_>>());
        assert_eq!(plan.maskable().len(), 17);
        // Nothing between head and tail: nothing to plan.
        assert!(Plan::new(logged[..3].to_vec(), 2, 12, None, 30_000, false).is_none());
        // Forced, with a large max_size: the older half after the head goes.
        let forced = Plan::new(logged.clone(), 2, 100, None, 30_000, true).unwrap();
        assert_eq!(forced.forgotten.len(), 10);
        assert!(Plan::new(logged[..3].to_vec(), 2, 100, None, 30_000, true).is_none());
    }
}
