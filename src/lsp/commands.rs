//! `workspace/executeCommand`: parses arguments (the object form and Helix's bare strings), answers at once,
//! and leaves the work to spawned tasks.

use serde_json::{Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{MessageType, Range, Uri};

use super::approvals::Decision;
use super::tasks::{self, TaskInfo, TaskRequest};
use super::{Backend, COMMANDS};
use crate::storage::{ConversationId, Storage};

fn string_arg<'a>(args: &'a [Value], i: usize, what: &str) -> Result<Option<&'a str>, String> {
    match args.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "argument {} ({what}) must be a string, got {other}",
            i + 1
        )),
    }
}

/// Runs `command`; the error is a sentence for the user.
pub fn execute(
    backend: &Backend,
    client: &Client,
    command: &str,
    args: &[Value],
) -> Result<Value, String> {
    match command {
        "openhands.task.start" => start(backend, client, args),
        "openhands.task.reply" => {
            let (task_id, text) =
                match (string_arg(args, 0, "taskId")?, string_arg(args, 1, "text")?) {
                    (Some(text), None) => (None, text.to_owned()),
                    (id, Some(text)) => (id.map(str::to_owned), text.to_owned()),
                    (None, None) => {
                        return Err(
                            "openhands.task.reply needs the reply text: [taskId?, text]".into()
                        );
                    }
                };
            let conversation = {
                let st = backend.lock();
                let task = match &task_id {
                    Some(id) => st.tasks.iter().find(|t| &t.task_id == id),
                    None => st.tasks.last(),
                }
                .ok_or_else(|| {
                    "no task to reply to: start one with openhands.task.start".to_owned()
                })?;
                if !task.state().is_over() {
                    return Err(format!(
                        "task {} is still running; wait for it to ask, or cancel it with openhands.task.cancel",
                        task.task_id
                    ));
                }
                task.conversation_id.clone()
            };
            spawn(backend, client, text, conversation, true, false)
        }
        "openhands.task.cancel" => {
            let id = string_arg(args, 0, "taskId")?;
            let st = backend.lock();
            let task = match id {
                Some(id) => st.tasks.iter().find(|t| t.task_id == id),
                None => st.tasks.iter().rev().find(|t| !t.state().is_over()),
            }
            .ok_or_else(|| match id {
                Some(id) => format!("no task {id}"),
                None => "no running task to cancel".to_owned(),
            })?;
            task.stop();
            Ok(json!({"taskId": task.task_id, "cancelled": true}))
        }
        "openhands.task.status" => {
            let st = backend.lock();
            let list: Vec<Value> = st.tasks.iter().map(tasks::status_json).collect();
            let line = match st.tasks.last() {
                Some(t) => format!(
                    "OpenHands: {} task(s); last {} is {}",
                    st.tasks.len(),
                    t.task_id,
                    t.state().as_str()
                ),
                None => "OpenHands: no tasks yet".to_owned(),
            };
            // A panel polls this: only editors without one get the line.
            if !st.outbox.is_on() {
                let c = client.clone();
                tokio::spawn(async move { c.show_message(MessageType::INFO, line).await });
            }
            Ok(json!({"tasks": list}))
        }
        "openhands.approval.respond" => {
            let id = string_arg(args, 0, "approvalId")?.ok_or(
                "openhands.approval.respond needs [approvalId, \"allow_once\" | \"allow_always\" | \"reject\"]",
            )?;
            let decision: Decision = string_arg(args, 1, "answer")?
                .ok_or("openhands.approval.respond needs the answer: allow_once, allow_always or reject")?
                .parse()?;
            let mut st = backend.lock();
            let known: Vec<String> = st.approvals.iter().map(|p| p.id.clone()).collect();
            let pending = st
                .approvals
                .iter_mut()
                .find(|p| p.id == id.trim_start_matches('#'))
                .ok_or_else(|| match known.is_empty() {
                    true => format!("no approval {id} is pending (none is)"),
                    false => format!("no approval {id} is pending; pending: {}", known.join(", ")),
                })?;
            if !pending.answer(decision) {
                return Err(format!("approval {id} was already answered"));
            }
            Ok(json!({"approvalId": pending.id, "answered": true}))
        }
        "openhands.conversation.list" => {
            let root = backend
                .lock()
                .overrides
                .data_dir
                .clone()
                .unwrap_or_else(Storage::default_root);
            let storage = Storage::open(root).map_err(|e| e.to_string())?;
            let list = storage.list().map_err(|e| e.to_string())?;
            Ok(json!(list
                .iter()
                .map(|m| json!({"conversationId": m.id, "title": m.title, "state": m.state,
                    "workspace": m.workspace, "updatedAt": m.updated_at, "cost": m.accumulated_cost}))
                .collect::<Vec<_>>()))
        }
        "openhands.conversation.resume" => {
            let id = string_arg(args, 0, "conversationId")?
                .ok_or("openhands.conversation.resume needs a conversation id")?;
            ConversationId::parse(id).map_err(|e| e.to_string())?;
            backend.lock().current_conversation = Some(id.to_owned());
            Ok(json!({"conversationId": id}))
        }
        "openhands.transcript.open" => {
            let (workspace, conversation, can_show) = {
                let st = backend.lock();
                let conv = match string_arg(args, 0, "conversationId")? {
                    Some(c) => Some(c.to_owned()),
                    None => st.tasks.last().map(|t| t.conversation_id.clone()),
                };
                (st.workspace.clone(), conv, st.client.show_document)
            };
            let conversation = conversation.ok_or("no conversation yet: start a task first")?;
            ConversationId::parse(&conversation).map_err(|e| e.to_string())?;
            let workspace = workspace.ok_or("the editor gave no workspace folder")?;
            let path = tasks::transcript_path(&workspace, &conversation);
            let uri: Uri = format!("file://{}", path.display())
                .parse()
                .map_err(|_| format!("cannot make a URI of {}", path.display()))?;
            if !can_show {
                // Neovim 0.7 and Helix cannot open a document for the server: say where it is.
                let c = client.clone();
                let line = format!("OpenHands transcript: {}", path.display());
                tokio::spawn(async move { c.show_message(MessageType::INFO, line).await });
            } else {
                tasks::show_document(client, uri.clone());
            }
            Ok(json!({"uri": uri.as_str()}))
        }
        other => super::review::execute(backend, client, other, args).unwrap_or_else(|| {
            Err(format!(
                "unknown command `{other}`; this server knows: {}",
                COMMANDS.join(", ")
            ))
        }),
    }
}

/// The keys of `openhands.task.start`'s object form.
const START_KEYS: &[&str] = &["prompt", "uri", "range", "conversationId", "mode"];

fn start(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    let plan = super::review::plan_mode(args)?;
    let (prompt, conversation) = match args.first() {
        Some(Value::String(p)) => (p.clone(), None),
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| !START_KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "openhands.task.start does not know `{k}`; it takes {{prompt, uri?, range?, conversationId?, mode?}}"
                ));
            }
            let prompt = match o.get("prompt") {
                Some(Value::String(p)) => p.clone(),
                _ => return Err("openhands.task.start needs `prompt` (a string)".into()),
            };
            let conv = match o.get("conversationId") {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.clone()),
                Some(other) => {
                    return Err(format!("`conversationId` must be a string, got {other}"));
                }
            };
            let uri = match o.get("uri") {
                None | Some(Value::Null) => None,
                Some(Value::String(u)) => Some(u.clone()),
                Some(other) => return Err(format!("`uri` must be a string, got {other}")),
            };
            let range = match o.get("range") {
                None | Some(Value::Null) => None,
                Some(r) => Some(
                    serde_json::from_value::<Range>(r.clone()).map_err(|e| {
                        format!(
                            "`range` must be {{start: {{line, character}}, end: {{line, character}}}} with numbers, got {r} ({e})"
                        )
                    })?,
                ),
            };
            let mut prompt = prompt;
            match (uri, range) {
                (Some(uri), range) => {
                    prompt.push_str(&format!("\n\n(The user is looking at {uri}"));
                    if let Some(r) = range {
                        prompt.push_str(&format!(
                            ", lines {}-{}",
                            r.start.line + 1,
                            r.end.line + 1
                        ));
                    }
                    prompt.push(')');
                }
                (None, Some(_)) => return Err("`range` needs the `uri` it belongs to".into()),
                (None, None) => {}
            }
            (prompt, conv)
        }
        Some(other) => {
            return Err(format!(
                "openhands.task.start takes a prompt string or {{prompt, uri?, range?, conversationId?}}, got {other}"
            ));
        }
        None => return Err("openhands.task.start needs a prompt".into()),
    };
    if prompt.trim().is_empty() {
        return Err("the prompt is empty".into());
    }
    let conversation = conversation.or_else(|| backend.lock().current_conversation.take());
    match conversation {
        Some(c) => {
            ConversationId::parse(&c).map_err(|e| e.to_string())?;
            spawn(backend, client, prompt, c, true, plan)
        }
        None => spawn(
            backend,
            client,
            prompt,
            ConversationId::generate().to_string(),
            false,
            plan,
        ),
    }
}

/// Starts a task; `plan`: with read-only tools (see `crate::plan_mode`).
pub(super) fn spawn(
    backend: &Backend,
    client: &Client,
    prompt: String,
    conversation_id: String,
    resume: bool,
    plan: bool,
) -> Result<Value, String> {
    let mut st = backend.lock();
    let workspace = st
        .workspace
        .clone()
        .ok_or("the editor gave no workspace folder")?;
    let task_id = format!("t{}", st.next_task);
    st.next_task += 1;
    let info = TaskInfo::new(
        task_id.clone(),
        conversation_id.clone(),
        prompt,
        st.outbox.clone(),
    );
    st.tasks.push(info.clone());
    let req = TaskRequest {
        info,
        state: backend.state.clone(),
        changed: backend.changed.clone(),
        workspace,
        overrides: st.overrides.clone(),
        resume,
        progress: st.client.work_done_progress,
        plan,
    };
    let handle = tokio::spawn(tasks::run(client.clone(), req));
    st.handles.insert(task_id.clone(), handle);
    Ok(
        json!({"taskId": task_id, "conversationId": conversation_id, "mode": if plan { "plan" } else { "act" }}),
    )
}
