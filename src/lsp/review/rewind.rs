//! Rewind from the editor: `openhands.checkpoint.list` and `openhands.checkpoint.restore`, which puts files
//! and buffers back to a step and cuts the conversation there (the rest kept as a branch).

use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::Client;

use super::editor::{EditorSide, report};
use super::{Ctx, ctx, default_conversation, object_args, opt_bool, opt_str, refuse_if_running};
use crate::checkpoint::{CheckpointError, Checkpoints};
use crate::lsp::Backend;

pub(super) fn list(backend: &Backend, args: &[Value]) -> Result<Value, String> {
    let o = object_args(args, &["conversationId"])?;
    let conversation = match opt_str(&o, "conversationId")? {
        Some(c) => c.to_owned(),
        None => default_conversation(backend)?,
    };
    let ctx = ctx(backend)?;
    let loaded = ctx.conversation(&conversation)?;
    let steps = crate::checkpoint::steps(&loaded.events);
    Ok(json!({"conversationId": conversation, "steps": steps}))
}

pub(super) fn restore(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    const USAGE: &str =
        "openhands.checkpoint.restore takes {conversationId, eventId, files?, conversation?}";
    let o = object_args(
        args,
        &["conversationId", "eventId", "files", "conversation"],
    )?;
    let conversation = opt_str(&o, "conversationId")?
        .ok_or_else(|| format!("{USAGE}: `conversationId` is missing"))?
        .to_owned();
    let event_id = match o.get("eventId") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{USAGE}: `eventId` must be an event's number"))?;
    let files = opt_bool(&o, "files", true)?;
    let cut = opt_bool(&o, "conversation", true)?;
    if !files && !cut {
        return Err("nothing to restore: `files` and `conversation` are both false".into());
    }
    let ctx = ctx(backend)?;
    refuse_if_running(backend, &ctx, &conversation)?;
    let loaded = ctx.conversation(&conversation)?;
    let step = crate::checkpoint::steps(&loaded.events)
        .into_iter()
        .find(|s| s.event_id == event_id);
    let target = match (files, step) {
        (true, Some(s)) => Some(s.checkpoint),
        (true, None) => {
            return Err(format!(
                "event {event_id} of conversation {conversation} has no checkpoint; openhands.checkpoint.list names those that do"
            ));
        }
        (false, _) => None,
    };
    if !loaded.events.iter().any(|e| e.id() == event_id) {
        return Err(format!(
            "conversation {conversation} has no event {event_id}"
        ));
    }
    let checkpoints = Arc::new(ctx.checkpoints(backend)?);
    if let Some(t) = &target
        && !checkpoints.shadow().has(t)
    {
        return Err(CheckpointError::Missing(t.clone()).to_string());
    }
    let backend_state = backend.state.clone();
    let changed = backend.changed.clone();
    let client = client.clone();
    let conv = conversation.clone();
    tokio::spawn(async move {
        let editor = EditorSide {
            client: client.clone(),
            state: backend_state,
            changed,
        };
        let outcome = run_restore(&editor, &ctx, checkpoints, &conv, event_id, target, cut).await;
        let note = json!({"action": "restore", "conversationId": conv, "eventId": event_id});
        report(&client, &editor, outcome, note).await;
    });
    Ok(json!({"conversationId": conversation, "eventId": event_id, "started": true}))
}

async fn run_restore(
    editor: &EditorSide,
    ctx: &Ctx,
    checkpoints: Arc<Checkpoints>,
    conversation: &str,
    event_id: i64,
    target: Option<String>,
    cut: bool,
) -> Result<String, String> {
    let plan = match &target {
        Some(t) => {
            let (c, t) = (checkpoints.clone(), t.clone());
            Some(
                tokio::task::spawn_blocking(move || crate::checkpoint::plan_restore(&c, &t))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let failed = match &plan {
        Some(p) => editor.apply(&p.files).await,
        None => Vec::new(),
    };
    let n = plan.as_ref().map_or(0, |p| p.files.len());
    let mut line =
        format!("OpenHands rewound conversation {conversation} to before event {event_id}:");
    if plan.is_some() {
        line.push_str(&format!(" {} file(s) restored", n - failed.len()));
        if !failed.is_empty() {
            line.push_str(&format!("; NOT restored: {}", failed.join(", ")));
        }
    }
    if cut {
        let note = crate::checkpoint::rewind_note(
            event_id,
            plan.as_ref().map(|_| (n - failed.len(), &failed[..])),
        );
        let restored = plan.as_ref().map(|p| p.current.clone());
        let branch = crate::checkpoint::truncate_conversation(
            &ctx.storage,
            conversation,
            event_id,
            &note,
            target.as_deref().filter(|_| failed.is_empty()),
        )
        .map_err(|e| format!("{line}; the conversation was not cut: {e}"))?;
        line.push_str(&format!(
            "; conversation cut ({} event(s) kept; the rest kept in {})",
            branch.kept,
            branch.log.display()
        ));
        if let Some(r) = restored {
            line.push_str(&format!("; the files before the rewind are checkpoint {r}"));
        }
    }
    match failed.is_empty() {
        true => Ok(line),
        false => Err(line),
    }
}
