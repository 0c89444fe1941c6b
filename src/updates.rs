//! The one mapping from agent events to ACP `session/update` payloads (message and thought chunks, tool
//! calls with kind, title, diff and output, their status updates, plans), used by both the LSP server's rich
//! channel and the ACP agent; neither the agent core nor the transports know the other side.

use openhands_runtime_api::{Action, ObservationKind};
use serde_json::{Value, json};

use crate::approval::summarize;
use crate::events::{AgentAction, AgentObservation, Event, EventSource};

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

/// ACP's `ToolKind` of a runtime action.
pub fn tool_kind(action: &Action) -> &'static str {
    match action {
        Action::Run(_) | Action::RunIpython(_) => "execute",
        Action::Read(_) => "read",
        Action::Write(_) | Action::Edit(_) => "edit",
        Action::Browse(_) | Action::BrowseInteractive(_) => "fetch",
        Action::Other { .. } => "other",
    }
}

/// The tool call id of the action with event id `action_id`.
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
                Action::Other { .. } => match AgentAction::of(a) {
                    Some(AgentAction::Message { content, .. }) => out.push(json!({
                        "sessionUpdate": if from_user { "user_message_chunk" } else { "agent_message_chunk" },
                        "content": text(content),
                    })),
                    Some(AgentAction::Think { thought }) => out.push(json!({
                        "sessionUpdate": "agent_thought_chunk", "content": text(thought),
                    })),
                    Some(AgentAction::Condensation { .. }) => out.push(json!({
                        "sessionUpdate": "agent_thought_chunk", "content": text(&a.message),
                    })),
                    Some(AgentAction::Finish { .. }) => out.push(json!({
                        "sessionUpdate": "agent_message_chunk", "content": text(&a.message),
                    })),
                    Some(AgentAction::TaskTracking { task_list, .. }) => {
                        out.push(json!({"sessionUpdate": "plan", "entries": plan_entries(task_list)}));
                    }
                    _ => {}
                },
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
                    let location = match action {
                        Action::Read(r) => Some(json!({"path": r.path})),
                        Action::Write(w) => Some(json!({"path": w.path})),
                        Action::Edit(e) => Some(json!({"path": e.path})),
                        _ => None,
                    };
                    if let Some(l) = location {
                        call["locations"] = json!([l]);
                    }
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
                ObservationKind::Other { .. } => match AgentObservation::of(o) {
                    Some(AgentObservation::UserRejected { content }) => {
                        ("failed", vec![block(content)], Value::Null)
                    }
                    // No tool call was shown for a thought, the plan or a recall (a thought chunk, a plan
                    // update, nothing), so their results have no card to update; state changes are not tool
                    // results.
                    Some(
                        AgentObservation::StateChanged { .. }
                        | AgentObservation::Null
                        | AgentObservation::Think
                        | AgentObservation::TaskTracking { .. }
                        | AgentObservation::Recall { .. }
                        | AgentObservation::Unknown {
                            kind: crate::agent::condenser::events::CONDENSATION_REQUEST,
                        },
                    ) => return out,
                    _ => ("completed", vec![block(&o.content)], Value::Null),
                },
                ObservationKind::Error { .. } => ("failed", vec![block(&o.content)], Value::Null),
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

/// ACP plan entries from the `task_tracker`'s list.
fn plan_entries(task_list: Option<&Value>) -> Vec<Value> {
    task_list
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .map(|t| {
                    json!({
                        "content": t.get("title").or(t.get("content")).cloned().unwrap_or_default(),
                        "priority": "medium",
                        "status": match t.get("status").and_then(Value::as_str) {
                            Some("done" | "completed") => "completed",
                            Some("in_progress") => "in_progress",
                            _ => "pending",
                        },
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}
