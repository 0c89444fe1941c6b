//! The opt-in rich channel's transport: events as `openhands/sessionUpdate` notifications (in the shape of
//! ACP's `session/update`, built by `crate::updates`, the same mapping ACP uses), and their replay for
//! `openhands/sessionHistory`. Only clients that asked (`ui: "rich"`) get them.

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::notification::Notification;

pub use crate::updates::{call_id, tool_kind, updates};

/// The notification's method.
pub const SESSION_UPDATE: &str = "openhands/sessionUpdate";

/// `openhands/sessionUpdate`, as tower-lsp-server sends custom notifications.
pub enum SessionUpdate {}

impl Notification for SessionUpdate {
    type Params = Value;
    const METHOD: &'static str = SESSION_UPDATE;
}

/// `openhands/taskState`: a task's state, step and one line about it.
pub enum TaskStateNote {}

impl Notification for TaskStateNote {
    type Params = Value;
    const METHOD: &'static str = "openhands/taskState";
}

/// `openhands/approvalRequest`: an approval for a client that answers approvals itself.
pub enum ApprovalRequestNote {}

impl Notification for ApprovalRequestNote {
    type Params = Value;
    const METHOD: &'static str = "openhands/approvalRequest";
}

/// `openhands/approvalResolved`: an approval was answered, timed out or withdrawn.
pub enum ApprovalResolvedNote {}

impl Notification for ApprovalResolvedNote {
    type Params = Value;
    const METHOD: &'static str = "openhands/approvalResolved";
}

/// `openhands/reviewUpdated`: a background revert or restore ended (`ok`, the files it did and did not put
/// back, the same line the log gets).
pub enum ReviewUpdatedNote {}

impl Notification for ReviewUpdatedNote {
    type Params = Value;
    const METHOD: &'static str = "openhands/reviewUpdated";
}

/// One notification of the rich channel.
pub enum Rich {
    Update(Value),
    State(Value),
    Approval(Value),
    Resolved(Value),
    Review(Value),
}

/// The rich channel's notifications in the order they were made, by one sender task (spawning a send per
/// notification could reorder them); a client that did not opt in has none.
#[derive(Clone, Default)]
pub struct Outbox(Option<tokio::sync::mpsc::UnboundedSender<Rich>>);

impl Outbox {
    pub fn new(client: tower_lsp_server::Client) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(note) = rx.recv().await {
                match note {
                    Rich::Update(v) => client.send_notification::<SessionUpdate>(v).await,
                    Rich::State(v) => client.send_notification::<TaskStateNote>(v).await,
                    Rich::Approval(v) => client.send_notification::<ApprovalRequestNote>(v).await,
                    Rich::Resolved(v) => client.send_notification::<ApprovalResolvedNote>(v).await,
                    Rich::Review(v) => client.send_notification::<ReviewUpdatedNote>(v).await,
                }
            }
        });
        Self(Some(tx))
    }

    /// Whether the client opted in.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    pub fn send(&self, note: Rich) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(note);
        }
    }
}

/// The `params` of one notification.
pub fn params(conversation_id: &str, task_id: &str, seq: i64, update: Value) -> Value {
    json!({"sessionId": conversation_id, "_meta": {"seq": seq, "taskId": task_id}, "update": update})
}

/// `openhands/sessionHistory {conversationId, afterSeq?}`: the stored updates after `afterSeq`.
pub fn history(data_dir: std::path::PathBuf, request: &Value) -> jsonrpc::Result<Value> {
    let bad = |m: String| jsonrpc::Error::invalid_params(m);
    let id = request
        .get("conversationId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("openhands/sessionHistory needs `conversationId` (a string)".into()))?;
    let after = match request.get("afterSeq") {
        None | Some(Value::Null) => -1,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| bad(format!("`afterSeq` must be an integer, got {v}")))?,
    };
    let storage = crate::storage::Storage::open(data_dir).map_err(|e| bad(e.to_string()))?;
    let loaded = storage.load(id).map_err(|e| bad(e.to_string()))?;
    let updates: Vec<Value> = loaded
        .events
        .iter()
        .filter(|e| e.id() > after)
        .flat_map(|e| {
            let seq = e.id();
            updates(e).into_iter().map(move |u| params(id, "", seq, u))
        })
        .collect();
    Ok(json!({"conversationId": id, "updates": updates}))
}
