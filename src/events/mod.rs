//! The event stream: every action and observation of a conversation, numbered, timestamped, redacted,
//! persisted by a sink, then delivered in order to every subscriber (controller, CLI, LSP).

mod agent;
pub mod kinds;
mod time;

use std::sync::{Arc, Mutex};

use openhands_runtime_api::{ActionEvent, EventMeta, Observation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

pub use agent::{AgentAction, AgentObservation};
pub use time::now_iso;

/// What registered secrets are replaced with before anyone sees an event.
pub const SECRET_MASK: &str = "<secret_hidden>";

/// Who produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSource {
    Agent,
    User,
    Environment,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Agent => "agent",
            EventSource::User => "user",
            EventSource::Environment => "environment",
        }
    }
}

/// One event of a conversation, in OpenHands' JSON shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Action(ActionEvent),
    Observation(Observation),
}

impl Event {
    pub fn meta(&self) -> &EventMeta {
        match self {
            Event::Action(a) => &a.meta,
            Event::Observation(o) => &o.meta,
        }
    }

    pub fn meta_mut(&mut self) -> &mut EventMeta {
        match self {
            Event::Action(a) => &mut a.meta,
            Event::Observation(o) => &mut o.meta,
        }
    }

    /// The id the stream assigned (`-1` before the event was added).
    pub fn id(&self) -> i64 {
        self.meta().id.unwrap_or(-1)
    }

    pub fn source(&self) -> Option<EventSource> {
        match self.meta().source.as_deref() {
            Some("agent") => Some(EventSource::Agent),
            Some("user") => Some(EventSource::User),
            Some("environment") => Some(EventSource::Environment),
            _ => None,
        }
    }

    pub fn cause(&self) -> Option<i64> {
        self.meta().cause
    }

    pub fn as_action(&self) -> Option<&ActionEvent> {
        match self {
            Event::Action(a) => Some(a),
            Event::Observation(_) => None,
        }
    }

    pub fn as_observation(&self) -> Option<&Observation> {
        match self {
            Event::Observation(o) => Some(o),
            Event::Action(_) => None,
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Event::Action(a) => a.to_value(),
            Event::Observation(o) => o.to_value(),
        }
    }

    pub fn from_value(value: &Value) -> Result<Self, String> {
        if value.get("action").is_some() {
            ActionEvent::from_value(value)
                .map(Event::Action)
                .map_err(|e| e.to_string())
        } else if value.get("observation").is_some() {
            Observation::from_value(value).map(Event::Observation)
        } else {
            Err("an event needs an `action` or an `observation` key".to_owned())
        }
    }
}

/// Where the stream persists each event before delivering it (the conversation's JSONL log).
pub trait EventSink: Send {
    fn append(&mut self, event: &Event) -> std::io::Result<()>;
}

/// Why an event could not be added.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("cannot persist event {id}: {source}")]
    Persist { id: i64, source: std::io::Error },
}

struct Inner {
    next_id: i64,
    events: Vec<Arc<Event>>,
    secrets: Vec<String>,
    subscribers: Vec<UnboundedSender<Arc<Event>>>,
    sink: Option<Box<dyn EventSink>>,
}

/// The ordered, append-only event log of one conversation.
pub struct EventStream {
    inner: Mutex<Inner>,
}

impl Default for EventStream {
    fn default() -> Self {
        Self::new(Vec::new(), None)
    }
}

impl EventStream {
    /// A stream continuing `history` (ids continue after the highest one), persisting through `sink`.
    pub fn new(history: Vec<Event>, sink: Option<Box<dyn EventSink>>) -> Self {
        let next_id = history.iter().map(Event::id).max().unwrap_or(-1) + 1;
        Self {
            inner: Mutex::new(Inner {
                next_id,
                events: history.into_iter().map(Arc::new).collect(),
                secrets: Vec::new(),
                subscribers: Vec::new(),
                sink,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a value to mask in every later event (API keys, tokens); short values are ignored.
    pub fn add_secret(&self, secret: impl Into<String>) {
        let secret = secret.into();
        if secret.len() >= 4 {
            let mut inner = self.lock();
            if !inner.secrets.contains(&secret) {
                inner.secrets.push(secret);
                // Longest first, so a secret containing another is masked whole.
                inner.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// Receives every event added from now on, in order.
    pub fn subscribe(&self) -> UnboundedReceiver<Arc<Event>> {
        let (tx, rx) = unbounded_channel();
        self.lock().subscribers.push(tx);
        rx
    }

    /// Stamps id, timestamp and source, masks secrets, persists, then delivers; returns the stored event.
    pub fn add(&self, mut event: Event, source: EventSource) -> Result<Arc<Event>, StreamError> {
        let mut inner = self.lock();
        let id = inner.next_id;
        {
            let meta = event.meta_mut();
            meta.id = Some(id);
            meta.timestamp = Some(now_iso());
            meta.source = Some(source.as_str().to_owned());
        }
        if !inner.secrets.is_empty() {
            event = mask_secrets(&event, &inner.secrets);
        }
        if let Some(sink) = inner.sink.as_mut() {
            sink.append(&event)
                .map_err(|source| StreamError::Persist { id, source })?;
        }
        inner.next_id += 1;
        let event = Arc::new(event);
        inner.events.push(event.clone());
        inner
            .subscribers
            .retain(|tx| tx.send(event.clone()).is_ok());
        Ok(event)
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<Arc<Event>> {
        self.lock().events.clone()
    }

    pub fn len(&self) -> usize {
        self.lock().events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keys that carry structure, not text, and are never rewritten (as in OpenHands).
const PROTECTED_KEYS: &[&str] = &[
    "timestamp",
    "id",
    "source",
    "cause",
    "action",
    "observation",
    "message",
];

fn mask_secrets(event: &Event, secrets: &[String]) -> Event {
    let mut value = event.to_value();
    if let Value::Object(map) = &mut value {
        for (key, v) in map.iter_mut() {
            if !PROTECTED_KEYS.contains(&key.as_str()) {
                mask_value(v, secrets);
            }
        }
        // `message` is text derived from the arguments (e.g. "Running command: ..."): mask it too.
        if let Some(m) = map.get_mut("message") {
            mask_value(m, secrets);
        }
    }
    Event::from_value(&value).unwrap_or_else(|_| event.clone())
}

/// `text` with each of `secrets` replaced by [`SECRET_MASK`], as the stream masks events: values shorter
/// than 4 bytes are ignored and the longest are masked first, so a secret containing another goes whole.
pub fn mask_secrets_in(text: &str, secrets: &[String]) -> String {
    let mut sorted: Vec<String> = secrets.iter().filter(|s| s.len() >= 4).cloned().collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    mask_text(text, &sorted)
}

/// `text` with each of `secrets` (already longest first) replaced by [`SECRET_MASK`].
fn mask_text(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), SECRET_MASK);
        }
    }
    text
}

fn mask_value(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(s) => *s = mask_text(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| mask_value(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| mask_value(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openhands_runtime_api::{Action, CmdRunAction};

    fn run(cmd: &str) -> Event {
        Event::Action(ActionEvent::new(Action::Run(CmdRunAction::new(cmd))))
    }

    #[test]
    fn ids_are_sequential_and_subscribers_see_every_event_in_order() {
        let stream = EventStream::default();
        let mut rx = stream.subscribe();
        for i in 0..5 {
            stream
                .add(run(&format!("echo {i}")), EventSource::Agent)
                .unwrap();
        }
        for i in 0..5 {
            let ev = rx.try_recv().unwrap();
            assert_eq!(ev.id(), i);
            assert_eq!(ev.source(), Some(EventSource::Agent));
            assert!(ev.meta().timestamp.is_some());
        }
    }

    #[test]
    fn secrets_are_masked_before_anyone_sees_them() {
        let stream = EventStream::default();
        stream.add_secret("sk-verysecret");
        let mut rx = stream.subscribe();
        let ev = stream
            .add(run("curl -H 'key: sk-verysecret' x"), EventSource::Agent)
            .unwrap();
        let text = ev.to_value().to_string();
        assert!(!text.contains("sk-verysecret"), "{text}");
        assert!(text.contains("<secret_hidden>"));
        assert_eq!(*rx.try_recv().unwrap(), *ev);
    }

    #[test]
    fn a_resumed_stream_continues_the_ids() {
        let mut first = run("a");
        first.meta_mut().id = Some(41);
        let stream = EventStream::new(vec![first], None);
        assert_eq!(stream.add(run("b"), EventSource::User).unwrap().id(), 42);
    }

    struct Failing;
    impl EventSink for Failing {
        fn append(&mut self, _: &Event) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn a_persistence_failure_is_an_error_and_nothing_is_delivered() {
        let stream = EventStream::new(Vec::new(), Some(Box::new(Failing)));
        let mut rx = stream.subscribe();
        let err = stream.add(run("x"), EventSource::Agent).unwrap_err();
        assert_eq!(err.to_string(), "cannot persist event 0: disk full");
        assert!(rx.try_recv().is_err());
        assert!(stream.is_empty());
    }
}
