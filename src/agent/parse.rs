//! Turns the model's tool calls into actions (OpenHands' `response_to_actions`); a malformed or unknown
//! call becomes an error the model reads on its next step, never a crash.

use openhands_runtime_api::{
    Action, ActionEvent, BrowseInteractiveAction, CmdRunAction, FileEditAction, FileReadAction,
    IPythonRunCellAction,
};
use serde_json::{Map, Value};

use super::messages::ToolCallMeta;
use super::tools;
use crate::events::{Event, kinds};
use crate::llm::{Response, ToolCall};

/// The default hard timeout OpenHands' client puts on commands without one (`sandbox.timeout`).
pub const DEFAULT_COMMAND_TIMEOUT: f64 = 120.0;

/// One tool call's outcome: an action to run, or the error to feed back, both tagged with the call.
pub enum Parsed {
    Action(Box<Event>),
    Invalid { meta: ToolCallMeta, error: String },
}

/// Makes the response's id and its tool calls' ids new in the conversation `events`: some OpenAI-compatible
/// servers answer every request with the same ids (or none), and the history pairs calls with their results
/// and groups a response's calls by these ids.
pub fn unique_ids(response: &mut Response, events: &[std::sync::Arc<Event>]) {
    let mut responses = std::collections::HashSet::new();
    let mut calls = std::collections::HashSet::new();
    for meta in events
        .iter()
        .filter_map(|e| super::messages::tool_call_meta(e))
    {
        responses.insert(meta.response_id);
        calls.extend(meta.tool_calls.into_iter().map(|c| c.id));
    }
    let fresh = |base: &str, taken: &std::collections::HashSet<String>| {
        (1..)
            .map(|n| format!("{base}_{n}"))
            .find(|id| !taken.contains(id))
            .unwrap_or_default()
    };
    if response.id.is_empty() || responses.contains(&response.id) {
        let base = if response.id.is_empty() {
            "response"
        } else {
            response.id.as_str()
        };
        response.id = fresh(base, &responses);
    }
    for call in &mut response.tool_calls {
        if call.id.is_empty() || calls.contains(&call.id) {
            let base = if call.id.is_empty() {
                "call"
            } else {
                call.id.as_str()
            };
            call.id = fresh(base, &calls);
        }
        calls.insert(call.id.clone());
    }
}

/// Every tool call of `response` in order; a response without tool calls is a message to the user.
pub fn response_to_events(response: &Response) -> Vec<Parsed> {
    response_to_events_with(response, &|_| false)
}

/// Like [`response_to_events`]; a call of a tool `is_mcp` names becomes a `call_tool_mcp` action.
pub fn response_to_events_with(response: &Response, is_mcp: &dyn Fn(&str) -> bool) -> Vec<Parsed> {
    if response.tool_calls.is_empty() {
        return vec![Parsed::Action(Box::new(kinds::message(
            &response.content,
            true,
        )))];
    }
    response
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let meta = ToolCallMeta {
                function_name: call.name.clone(),
                tool_call_id: call.id.clone(),
                response_id: response.id.clone(),
                assistant_content: response.content.clone(),
                tool_calls: response.tool_calls.clone(),
            };
            // The assistant's text is the thought of the first action only.
            let thought = if i == 0 {
                response.content.as_str()
            } else {
                ""
            };
            let event = if is_mcp(&call.name) {
                mcp_call(call, thought)
            } else {
                call_to_event(call, thought)
            };
            match event {
                Ok(mut event) => {
                    event.meta_mut().tool_call_metadata = Some(meta.to_value());
                    Parsed::Action(Box::new(event))
                }
                Err(error) => Parsed::Invalid { meta, error },
            }
        })
        .collect()
}

fn arg_string(args: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("Parameter `{key}` must be a string, got {other}")),
    }
}

fn required(args: &Map<String, Value>, key: &str, tool: &str) -> Result<String, String> {
    arg_string(args, key)?
        .ok_or_else(|| format!("Missing required argument \"{key}\" in tool call {tool}"))
}

fn call_to_event(call: &ToolCall, thought: &str) -> Result<Event, String> {
    let raw = if call.arguments.trim().is_empty() {
        "{}"
    } else {
        call.arguments.as_str()
    };
    let args: Map<String, Value> = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            return Err(format!(
                "Failed to parse tool call arguments: expected a JSON object, got {other}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "Failed to parse tool call arguments: {e}. Arguments were: {}",
                call.arguments
            ));
        }
    };
    let risk = match args.get("security_risk").and_then(Value::as_str) {
        Some("LOW") => 0,
        Some("MEDIUM") => 1,
        Some("HIGH") => 2,
        _ => -1,
    };
    let name = call.name.as_str();
    let event = match name {
        tools::EXECUTE_BASH => {
            let mut run = CmdRunAction::new(required(&args, "command", name)?);
            run.is_input = match args.get("is_input") {
                Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                Some(Value::Bool(b)) => *b,
                _ => false,
            };
            run.thought = thought.to_owned();
            run.security_risk = risk;
            let timeout = match args.get("timeout") {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => Some(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("Invalid float passed to 'timeout' argument: {s}"))?,
                ),
                Some(other) => {
                    return Err(format!(
                        "Invalid float passed to 'timeout' argument: {other}"
                    ));
                }
            };
            // A model-chosen timeout blocks (no soft timeout); otherwise OpenHands' default 120 s, non-blocking.
            run.blocking = timeout.is_some();
            let ev = ActionEvent::new(Action::Run(run))
                .with_timeout(timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT));
            Event::Action(ev)
        }
        tools::STR_REPLACE_EDITOR => editor(&args, thought, risk)?,
        tools::EXECUTE_IPYTHON_CELL => Event::Action(
            ActionEvent::new(Action::RunIpython(IPythonRunCellAction {
                code: required(&args, "code", name)?,
                thought: thought.to_owned(),
                include_extra: true,
                confirmation_state: "confirmed".into(),
                security_risk: risk,
                kernel_init_code: String::new(),
            }))
            .with_timeout(DEFAULT_COMMAND_TIMEOUT),
        ),
        tools::BROWSER => Event::Action(
            ActionEvent::new(Action::BrowseInteractive(BrowseInteractiveAction {
                browser_actions: required(&args, "code", name)?,
                thought: thought.to_owned(),
                browsergym_send_msg_to_user: String::new(),
                security_risk: risk,
                return_axtree: false,
            }))
            .with_timeout(DEFAULT_COMMAND_TIMEOUT),
        ),
        tools::THINK => kinds::think(&required(&args, "thought", name)?),
        super::condenser::REQUEST_TOOL => super::condenser::events::request(),
        tools::FINISH => kinds::finish(&arg_string(&args, "message")?.unwrap_or_default(), thought),
        tools::TASK_TRACKER => {
            let command = required(&args, "command", name)?;
            if command != "view" && command != "plan" {
                return Err(format!(
                    "Invalid `command` for task_tracker: {command}. Allowed: view, plan"
                ));
            }
            let list = args
                .get("task_list")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            if command == "plan" && !list.is_array() {
                return Err("Parameter `task_list` must be an array for command: plan".into());
            }
            kinds::task_tracking(&command, normalise_tasks(list), thought)
        }
        other => {
            return Err(format!(
                "Tool {other} is not registered. (arguments: {}). Please check the tool name and retry with an existing tool.",
                call.arguments
            ));
        }
    };
    Ok(event)
}

/// OpenHands' `MCPAction`: the arguments go to the MCP server as they are.
fn mcp_call(call: &ToolCall, thought: &str) -> Result<Event, String> {
    let raw = if call.arguments.trim().is_empty() {
        "{}"
    } else {
        call.arguments.as_str()
    };
    let args = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            return Err(format!(
                "Failed to parse tool call arguments: expected a JSON object, got {other}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "Failed to parse tool call arguments: {e}. Arguments were: {}",
                call.arguments
            ));
        }
    };
    let action = openhands_runtime_api::mcp::mcp_action(
        &call.name,
        args,
        thought,
        openhands_runtime_api::SECURITY_RISK_UNKNOWN,
    );
    Ok(Event::Action(action))
}

/// A path whose extension names an image format a model can be shown.
fn is_image_path(path: &str) -> bool {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some("png" | "jpg" | "jpeg" | "gif" | "webp")
    )
}

const EDITOR_ARGS: &[&str] = &[
    "command",
    "path",
    "file_text",
    "old_str",
    "new_str",
    "insert_line",
    "view_range",
    "security_risk",
];

fn editor(args: &Map<String, Value>, thought: &str, risk: i64) -> Result<Event, String> {
    let name = tools::STR_REPLACE_EDITOR;
    if let Some(bad) = args.keys().find(|k| !EDITOR_ARGS.contains(&k.as_str())) {
        return Err(format!(
            "Unexpected argument {bad} in tool call {name}. Allowed arguments are: {}",
            EDITOR_ARGS.join(", ")
        ));
    }
    let command = required(args, "command", name)?;
    let path = required(args, "path", name)?;
    if command == "view" {
        let view_range = match args.get("view_range") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value::<Vec<i64>>(v.clone()).map_err(|_| {
                format!("Invalid `view_range` parameter: {v}. It should be a list of two integers.")
            })?),
        };
        // An image is read whole, as a data URL the model is shown (the editor's view reads text only).
        let image = is_image_path(&path);
        let mut read = FileReadAction::new(path);
        read.impl_source = if image { "default" } else { "oh_aci" }.into();
        read.view_range = view_range;
        read.thought = thought.to_owned();
        read.security_risk = risk;
        return Ok(Event::Action(
            ActionEvent::new(Action::Read(read)).with_timeout(DEFAULT_COMMAND_TIMEOUT),
        ));
    }
    let mut edit = FileEditAction::new(path, command);
    edit.file_text = arg_string(args, "file_text")?;
    edit.old_str = arg_string(args, "old_str")?;
    edit.new_str = arg_string(args, "new_str")?;
    edit.insert_line = args.get("insert_line").cloned().filter(|v| !v.is_null());
    edit.thought = thought.to_owned();
    edit.security_risk = risk;
    Ok(Event::Action(
        ActionEvent::new(Action::Edit(edit)).with_timeout(DEFAULT_COMMAND_TIMEOUT),
    ))
}

/// OpenHands' task normalisation: id `task-N`, title `Untitled task`, status `todo` by default.
fn normalise_tasks(list: Value) -> Value {
    let Value::Array(items) = list else {
        return Value::Array(vec![]);
    };
    Value::Array(
        items
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let get = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_owned);
                serde_json::json!({
                    "id": get("id").unwrap_or_else(|| format!("task-{}", i + 1)),
                    "title": get("title").unwrap_or_else(|| "Untitled task".into()),
                    "status": get("status").unwrap_or_else(|| "todo".into()),
                    "notes": get("notes").unwrap_or_default(),
                })
            })
            .collect(),
    )
}
