//! The opt-in rich channel: events as `openhands/sessionUpdate` notifications in the shape of ACP's
//! `session/update` (message chunks, tool calls and their updates with diffs and output, plans, usage), and
//! their replay for `openhands/sessionHistory`. Only clients that asked (`ui: "rich"`) get them.

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::notification::Notification;

use openhands_runtime_api::{Action, ObservationKind};

use super::approvals::summarize;
use crate::events::{Event, EventSource};

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

/// One notification of the rich channel.
pub enum Rich {
    Update(Value),
    State(Value),
    Approval(Value),
    Resolved(Value),
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

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

pub fn tool_kind(action: &Action) -> &'static str {
    match action {
        Action::Run(_) | Action::RunIpython(_) => "execute",
        Action::Read(_) => "read",
        Action::Write(_) | Action::Edit(_) => "edit",
        Action::Browse(_) | Action::BrowseInteractive(_) => "fetch",
        Action::Other { .. } => "other",
    }
}

pub fn call_id(action_id: i64) -> String {
    format!("call_{action_id}")
}

/// The ACP updates one event makes (most make one; an action with a thought makes two).
pub fn updates(event: &Event) -> Vec<Value> {
    let mut out = Vec::new();
    match event {
        Event::Action(a) => {
            let from_user = event.source() == Some(EventSource::User);
            match &a.action {
                Action::Other { kind, args } => {
                    let arg = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("");
                    match kind.as_str() {
                        "message" => out.push(json!({
                            "sessionUpdate": if from_user { "user_message_chunk" } else { "agent_message_chunk" },
                            "content": text(arg("content")),
                        })),
                        "think" => out.push(json!({
                            "sessionUpdate": "agent_thought_chunk", "content": text(arg("thought")),
                        })),
                        "condensation" => out.push(json!({
                            "sessionUpdate": "agent_thought_chunk", "content": text(&a.message),
                        })),
                        "finish" => out.push(json!({
                            "sessionUpdate": "agent_message_chunk", "content": text(&a.message),
                        })),
                        "task_tracking" => {
                            let entries: Vec<Value> = args
                                .get("task_list")
                                .and_then(Value::as_array)
                                .map(|l| {
                                    l.iter()
                                        .map(|t| json!({
                                            "content": t.get("title").or(t.get("content")).cloned().unwrap_or_default(),
                                            "priority": "medium",
                                            "status": match t.get("status").and_then(Value::as_str) {
                                                Some("done" | "completed") => "completed",
                                                Some("in_progress") => "in_progress",
                                                _ => "pending",
                                            },
                                        }))
                                        .collect()
                                })
                                .unwrap_or_default();
                            out.push(json!({"sessionUpdate": "plan", "entries": entries}));
                        }
                        _ => {}
                    }
                }
                action => {
                    let thought = match action {
                        Action::Run(r) => r.thought.as_str(),
                        Action::RunIpython(c) => c.thought.as_str(),
                        Action::Edit(e) => e.thought.as_str(),
                        Action::Write(w) => w.thought.as_str(),
                        Action::Read(r) => r.thought.as_str(),
                        _ => "",
                    };
                    if !thought.is_empty() {
                        out.push(
                            json!({"sessionUpdate": "agent_message_chunk", "content": text(thought)}),
                        );
                    }
                    let mut call = json!({
                        "sessionUpdate": "tool_call",
                        "toolCallId": call_id(event.id()),
                        "title": summarize(action),
                        "kind": tool_kind(action),
                        "status": "in_progress",
                        "rawInput": event.to_value().get("args").cloned().unwrap_or_default(),
                    });
                    // The change as the agent asked for it (the observation may not carry the texts).
                    let diff = match action {
                        Action::Edit(e) if e.command == "create" => {
                            Some((e.path.clone(), None, e.file_text.clone()))
                        }
                        Action::Edit(e) if e.command == "str_replace" => {
                            Some((e.path.clone(), e.old_str.clone(), e.new_str.clone()))
                        }
                        Action::Write(w) => Some((w.path.clone(), None, Some(w.content.clone()))),
                        _ => None,
                    };
                    if let Some((path, old, new)) = diff {
                        call["content"] = json!([{"type": "diff", "path": path, "oldText": old,
                                                  "newText": new.unwrap_or_default()}]);
                    }
                    out.push(call);
                }
            }
        }
        Event::Observation(o) => {
            let Some(cause) = event.cause() else {
                return out;
            };
            let (status, content, raw) = match &o.kind {
                // No tool call was shown for a thought or the plan (they are a thought chunk and a plan
                // update), so their results have no card to update.
                ObservationKind::Other { kind, .. }
                    if matches!(
                        kind.as_str(),
                        "agent_state_changed"
                            | "null"
                            | "think"
                            | "task_tracking"
                            | "condensation_request"
                    ) =>
                {
                    return out;
                }
                ObservationKind::Error { .. } => ("failed", vec![block(&o.content)], Value::Null),
                _ if crate::events::kinds::is_user_rejected(o) => {
                    ("failed", vec![block(&o.content)], Value::Null)
                }
                ObservationKind::Edit(e) if e.new_content.is_some() => (
                    "completed",
                    vec![json!({"type": "diff", "path": e.path,
                                "oldText": e.old_content, "newText": e.new_content})],
                    Value::Null,
                ),
                ObservationKind::Run(r) => (
                    "completed",
                    vec![block(&o.content)],
                    json!({"exitCode": r.metadata.exit_code}),
                ),
                _ => ("completed", vec![block(&o.content)], Value::Null),
            };
            let mut update = json!({
                "sessionUpdate": "tool_call_update",
                "toolCallId": call_id(cause),
                "status": status,
                "content": content,
            });
            if !raw.is_null() {
                update["rawOutput"] = raw;
            }
            out.push(update);
        }
    }
    out
}

fn block(t: &str) -> Value {
    json!({"type": "content", "content": text(t)})
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
