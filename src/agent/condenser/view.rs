//! The view: what the model sees of a conversation, derived from its events alone (OpenHands'
//! `View.from_events`), so a resumed conversation rebuilds exactly the messages sent before the restart.

use std::collections::HashSet;
use std::sync::Arc;

use super::events::{self as cevents, Condensation, MASKED};
use crate::events::Event;

/// The events the model sees, in order, with the latest summary in its place.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub events: Vec<Arc<Event>>,
    /// A condensation request came after the last condensation: the next step condenses first.
    pub unhandled_request: bool,
    /// The summary the view shows (from the latest condensation that has one).
    pub summary: Option<String>,
    /// Where the summary sits in `events`.
    pub summary_at: Option<usize>,
    pub condensations: usize,
}

impl View {
    pub fn from_events(events: &[Arc<Event>]) -> Self {
        let mut forgotten: Vec<Condensation> = Vec::new();
        let mut masked: HashSet<i64> = HashSet::new();
        let mut summary: Option<(String, usize)> = None;
        let mut unhandled_request = false;
        for event in events {
            if let Some(c) = Condensation::from_event(event) {
                masked.extend(c.masked_ids.iter().copied());
                if let Some(text) = &c.summary {
                    summary = Some((text.clone(), c.summary_offset.unwrap_or(0)));
                }
                forgotten.push(c);
                unhandled_request = false;
            } else if cevents::is_request(event) {
                unhandled_request = true;
            }
        }
        let mut kept: Vec<Arc<Event>> = events
            .iter()
            .filter(|e| {
                Condensation::from_event(e).is_none()
                    && !cevents::is_request(e)
                    && !forgotten.iter().any(|c| c.forgets(e.id()))
            })
            .map(|e| {
                if masked.contains(&e.id())
                    && let Event::Observation(o) = e.as_ref()
                {
                    let mut o = o.clone();
                    o.content = MASKED.to_owned();
                    return Arc::new(Event::Observation(o));
                }
                e.clone()
            })
            .collect();
        let summary_at = summary.as_ref().map(|(text, offset)| {
            let at = (*offset).min(kept.len());
            kept.insert(at, Arc::new(cevents::summary_observation(text)));
            at
        });
        View {
            events: kept,
            unhandled_request,
            summary: summary.map(|(s, _)| s),
            summary_at,
            condensations: forgotten.len(),
        }
    }

    /// The view's events without the summary (the ones that exist in the log).
    pub fn logged(&self) -> impl Iterator<Item = &Arc<Event>> {
        self.events
            .iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != self.summary_at)
            .map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{EventSource, EventStream, kinds};
    use openhands_runtime_api::Observation;

    fn stream_of(n: usize) -> EventStream {
        let s = EventStream::default();
        s.add(
            kinds::system("sys", serde_json::json!([]), "CodeActAgent"),
            EventSource::Agent,
        )
        .unwrap();
        s.add(kinds::message("task", false), EventSource::User)
            .unwrap();
        for i in 2..n {
            s.add(
                Event::Observation(Observation::error(format!("obs {i}"))),
                EventSource::Environment,
            )
            .unwrap();
        }
        s
    }

    fn ids(view: &View) -> Vec<i64> {
        view.events.iter().map(|e| e.id()).collect()
    }

    #[test]
    fn forgotten_events_and_tombstones_leave_the_view_and_the_summary_takes_its_offset() {
        let s = stream_of(10);
        let c = Condensation {
            forgotten_range: Some((2, 5)),
            summary: Some("GOAL: x".into()),
            summary_offset: Some(2),
            ..Condensation::default()
        };
        s.add(c.to_event(), EventSource::Agent).unwrap();
        let view = View::from_events(&s.events());
        // The summary is synthetic (no id): -1 at offset 2.
        assert_eq!(ids(&view), vec![0, 1, -1, 6, 7, 8, 9]);
        assert_eq!(view.summary.as_deref(), Some("GOAL: x"));
        assert_eq!(view.summary_at, Some(2));
        assert_eq!(view.logged().count(), 6);
        assert!(!view.unhandled_request);
    }

    #[test]
    fn forgetting_accumulates_and_the_latest_summary_wins() {
        let s = stream_of(12);
        for (range, summary, ids) in [((2, 4), "first", vec![]), ((5, 7), "second", vec![9])] {
            let c = Condensation {
                forgotten_range: Some(range),
                forgotten_ids: ids,
                summary: Some(summary.into()),
                summary_offset: Some(2),
                ..Condensation::default()
            };
            s.add(c.to_event(), EventSource::Agent).unwrap();
        }
        let view = View::from_events(&s.events());
        assert_eq!(ids(&view), vec![0, 1, -1, 8, 10, 11]);
        assert_eq!(view.summary.as_deref(), Some("second"));
        assert_eq!(view.condensations, 2);
    }

    #[test]
    fn a_request_after_the_last_condensation_is_unhandled_until_one_follows() {
        let s = stream_of(4);
        s.add(cevents::request(), EventSource::Agent).unwrap();
        let view = View::from_events(&s.events());
        assert!(view.unhandled_request);
        assert_eq!(
            ids(&view),
            vec![0, 1, 2, 3],
            "the request itself is not shown"
        );
        s.add(Condensation::default().to_event(), EventSource::Agent)
            .unwrap();
        assert!(!View::from_events(&s.events()).unhandled_request);
    }

    #[test]
    fn masked_observations_keep_their_place_but_not_their_content() {
        let s = stream_of(5);
        let c = Condensation {
            masked_ids: vec![3],
            ..Condensation::default()
        };
        s.add(c.to_event(), EventSource::Agent).unwrap();
        let view = View::from_events(&s.events());
        assert_eq!(ids(&view), vec![0, 1, 2, 3, 4]);
        let content = |i: usize| view.events[i].as_observation().unwrap().content.clone();
        assert_eq!(content(3), MASKED);
        assert_eq!(content(4), "obs 4");
        assert_eq!(view.summary, None);
    }

    #[test]
    fn a_condensation_survives_the_log_round_trip() {
        let c = Condensation {
            forgotten_ids: vec![4, 5],
            forgotten_range: Some((7, 9)),
            masked_ids: vec![11],
            summary: Some("s".into()),
            summary_offset: Some(1),
        };
        let mut ev = c.to_event();
        ev.meta_mut().id = Some(12);
        let back = Event::from_value(&ev.to_value()).unwrap();
        assert_eq!(Condensation::from_event(&back), Some(c));
    }
}
