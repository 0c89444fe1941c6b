//! The event envelope shared by actions and observations: id, timestamp, source, cause.

use serde_json::{Map, Value};

/// Envelope fields OpenHands puts around every event; all optional on the wire.
///
/// The action execution server never sets them on its observations; the agent's event stream does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventMeta {
    pub id: Option<i64>,
    pub timestamp: Option<String>,
    /// `agent`, `user` or `environment`.
    pub source: Option<String>,
    pub cause: Option<i64>,
    pub tool_call_metadata: Option<Value>,
    pub llm_metrics: Option<Value>,
    /// Ours, not OpenHands': the workspace checkpoint (a tree id in the shadow repository) taken before the
    /// action this observation answers ran.
    pub checkpoint: Option<String>,
}

impl EventMeta {
    pub(crate) fn from_object(obj: &Map<String, Value>) -> Self {
        let string = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let present = |k: &str| obj.get(k).filter(|v| !v.is_null()).cloned();
        Self {
            // OpenHands drops id == -1.
            id: obj.get("id").and_then(Value::as_i64).filter(|&id| id != -1),
            timestamp: string("timestamp"),
            source: string("source"),
            cause: obj.get("cause").and_then(Value::as_i64),
            tool_call_metadata: present("tool_call_metadata"),
            llm_metrics: present("llm_metrics"),
            checkpoint: string("checkpoint"),
        }
    }

    pub(crate) fn write_head(&self, map: &mut Map<String, Value>) {
        if let Some(id) = self.id {
            map.insert("id".into(), id.into());
        }
        if let Some(ts) = &self.timestamp {
            map.insert("timestamp".into(), ts.clone().into());
        }
        if let Some(src) = &self.source {
            map.insert("source".into(), src.clone().into());
        }
    }

    pub(crate) fn write_cause(&self, map: &mut Map<String, Value>) {
        if let Some(cause) = self.cause {
            map.insert("cause".into(), cause.into());
        }
    }

    pub(crate) fn write_tail(&self, map: &mut Map<String, Value>) {
        if let Some(v) = &self.tool_call_metadata {
            map.insert("tool_call_metadata".into(), v.clone());
        }
        if let Some(v) = &self.llm_metrics {
            map.insert("llm_metrics".into(), v.clone());
        }
        if let Some(v) = &self.checkpoint {
            map.insert("checkpoint".into(), v.clone().into());
        }
    }
}
