//! The ACP client as the agent reaches it: `session/update` notifications, `session/request_permission`,
//! `fs/read_text_file` and `fs/write_text_file`, each with a deadline. Messages are built as JSON in the
//! protocol's wire shape (the one `crate::updates` makes) and checked against the crate's types here.

use std::time::Duration;

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema as acp;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A protocol value from its JSON wire shape; an error names what did not fit.
pub fn wire<T: DeserializeOwned>(v: Value) -> Result<T, agent_client_protocol::Error> {
    serde_json::from_value(v).map_err(|e| {
        agent_client_protocol::Error::internal_error().data(json!(format!(
            "the agent built a message the protocol does not accept: {e}"
        )))
    })
}

/// The JSON wire shape of a protocol value.
pub fn json_of<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// What the client said it can do in `initialize`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub read_text_file: bool,
    pub write_text_file: bool,
    pub terminal: bool,
}

/// The connection to the client.
#[derive(Clone)]
pub struct Peer {
    pub cx: ConnectionTo<Client>,
}

impl Peer {
    /// Sends one `session/update`; a closed connection only loses it. Debug builds (the tests) check each
    /// against the crate's `SessionNotification`; release builds send the JSON as it is, saving a decode and an
    /// encode per update (a `session/load` sends thousands).
    pub fn update(&self, session_id: &str, update: Value) {
        let note = json!({"sessionId": session_id, "update": update});
        let sent = if cfg!(debug_assertions) {
            wire::<acp::SessionNotification>(note).and_then(|n| self.cx.send_notification(n))
        } else {
            agent_client_protocol::UntypedMessage::new("session/update", note)
                .and_then(|n| self.cx.send_notification(n))
        };
        if let Err(e) = sent {
            tracing::debug!("session/update not sent: {e:?}");
        }
    }

    /// `session/request_permission`: the option id the user chose, `None` when the turn was cancelled.
    pub async fn request_permission(
        &self,
        request: Value,
        timeout: Duration,
    ) -> Result<Option<String>, String> {
        let req: acp::RequestPermissionRequest = wire(request).map_err(|e| format!("{e:?}"))?;
        let answer = tokio::time::timeout(timeout, self.cx.send_request(req).block_task())
            .await
            .map_err(|_| {
                format!(
                    "the client did not answer the permission request within {} s",
                    timeout.as_secs()
                )
            })?
            .map_err(|e| format!("the client failed the permission request: {}", e.message))?;
        let v = json_of(&answer);
        match v["outcome"]["outcome"].as_str() {
            Some("selected") => Ok(v["outcome"]["optionId"].as_str().map(str::to_owned)),
            _ => Ok(None),
        }
    }

    /// `fs/read_text_file`: the client's text of `path` (unsaved edits included).
    pub async fn read_text(
        &self,
        session_id: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let req: acp::ReadTextFileRequest =
            wire(json!({"sessionId": session_id, "path": path})).map_err(|e| format!("{e:?}"))?;
        let r = tokio::time::timeout(timeout, self.cx.send_request(req).block_task())
            .await
            .map_err(|_| format!("the client did not answer within {} s", timeout.as_secs()))?
            .map_err(|e| e.message)?;
        Ok(r.content)
    }

    /// `fs/write_text_file`: `Ok` only once the client confirmed the write.
    pub async fn write_text(
        &self,
        session_id: &str,
        path: &str,
        content: &str,
        timeout: Duration,
    ) -> Result<(), String> {
        let req: acp::WriteTextFileRequest =
            wire(json!({"sessionId": session_id, "path": path, "content": content}))
                .map_err(|e| format!("{e:?}"))?;
        tokio::time::timeout(timeout, self.cx.send_request(req).block_task())
            .await
            .map_err(|_| {
                format!(
                    "the editor did not confirm the write within {} s",
                    timeout.as_secs()
                )
            })?
            .map_err(|e| format!("the editor refused the write: {}", e.message))?;
        Ok(())
    }
}
