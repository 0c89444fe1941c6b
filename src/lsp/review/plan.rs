//! Plan mode from the editor: `openhands.task.start`'s `mode`, `openhands.task.act`, and the plan reported
//! when a plan-mode task ends.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;

use super::{default_conversation, opt_str, running_here, task_args};
use crate::lsp::Backend;

/// `openhands.task.start`'s `mode`: `"plan"` (read-only tools) or `"act"` (the default).
pub fn plan_mode(args: &[Value]) -> Result<bool, String> {
    let Some(Value::Object(o)) = args.first() else {
        return Ok(false);
    };
    match o.get("mode") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(m)) if m == "plan" => Ok(true),
        Some(Value::String(m)) if m == "act" => Ok(false),
        Some(other) => Err(format!("`mode` is \"plan\" or \"act\", got {other}")),
    }
}

/// `openhands.task.act {taskId?}`: the plan's conversation continues with all tools.
pub(super) fn act(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let conversation = match (opt_str(&o, "taskId")?, opt_str(&o, "conversationId")?) {
        (Some(t), _) => backend
            .lock()
            .tasks
            .iter()
            .find(|x| x.task_id == t)
            .map(|x| x.conversation_id.clone())
            .ok_or_else(|| format!("no task {t}"))?,
        (None, Some(c)) => c.to_owned(),
        (None, None) => default_conversation(backend)?,
    };
    if let Some(t) = running_here(backend, &conversation) {
        return Err(format!(
            "task {t} is still running; act once it has made its plan"
        ));
    }
    crate::lsp::commands::spawn(
        backend,
        client,
        crate::plan_mode::ACT_PROMPT.to_owned(),
        conversation,
        true,
        false,
    )
}

/// After a plan-mode task: its plan (the task tracker's list) in the log, and a line saying how to act.
pub async fn report_plan(
    client: &Client,
    info: &crate::lsp::tasks::TaskInfo,
    events: &[Arc<crate::events::Event>],
) {
    let text = match crate::plan_mode::last_plan(events) {
        Some(plan) => format!(
            "[{}] OpenHands plan (run openhands.task.act to carry it out):\n{plan}",
            info.task_id
        ),
        None => format!(
            "[{}] OpenHands recorded no plan with the task tracker; its last message is the plan",
            info.task_id
        ),
    };
    client.log_message(MessageType::INFO, text).await;
}
