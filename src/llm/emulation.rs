//! OpenHands' text tool-call emulation (`fn_call_converter.py`) for models without native function
//! calling: tools become a system-prompt suffix, calls and results become `<function=…>` text and
//! `EXECUTION RESULT of [name]:` messages, and the reply is parsed back into native-style tool calls.
//!
//! Differences from OpenHands, on purpose: instead of its long scripted Flask session in the first user
//! message, a short worked example of our own, built from the tools on offer, closes the system prompt
//! (it stays in the prompt cache), and the first user message ends with a one-call-per-message
//! reminder; several calls in one reply are all kept; nothing is rejected here: a malformed or unknown
//! call comes back as a `ToolCall` with what could be parsed, and the agent's own validation reports it
//! to the model.

use serde_json::{Map, Value};

use super::{Message, Role, ToolCall, ToolSpec};

pub(crate) const STOP_WORD: &str = "</function";
const CALL_OPEN: &str = "<function=";
const PARAM_OPEN: &str = "<parameter=";
const PARAM_CLOSE: &str = "</parameter>";

const SUFFIX_HEAD: &str = "\nYou have access to the following functions:\n\n";
const SUFFIX_TAIL: &str = r"

If you choose to call a function ONLY reply in the following format with NO suffix:

<function=example_function_name>
<parameter=example_parameter_1>value_1</parameter>
<parameter=example_parameter_2>
This is the value for the second parameter
that can span
multiple lines
</parameter>
</function>

<IMPORTANT>
Reminder:
- Function calls MUST follow the specified format, start with <function= and end with </function>
- Required parameters MUST be specified
- Only call one function at a time
- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after.
- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls
</IMPORTANT>
";

/// A JSON value as Python's `f'{v}'` would show a string, and as JSON otherwise.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `convert_tools_to_description`.
fn describe_tools(tools: &[ToolSpec]) -> String {
    let mut out = String::new();
    for (i, tool) in tools.iter().enumerate() {
        let n = i + 1;
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("---- BEGIN FUNCTION #{n}: {} ----\n", tool.name));
        out.push_str(&format!("Description: {}\n", tool.description));
        if tool.parameters.is_object() {
            out.push_str("Parameters:\n");
            let required: Vec<&str> = tool.parameters["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let empty = Map::new();
            let properties = tool.parameters["properties"].as_object().unwrap_or(&empty);
            for (j, (name, info)) in properties.iter().enumerate() {
                let status = if required.contains(&name.as_str()) {
                    "required"
                } else {
                    "optional"
                };
                let kind = info.get("type").map_or_else(|| "string".to_string(), plain);
                let mut desc = info
                    .get("description")
                    .map_or_else(|| "No description provided".to_string(), plain);
                if let Some(values) = info.get("enum").and_then(Value::as_array) {
                    let values: Vec<String> =
                        values.iter().map(|v| format!("`{}`", plain(v))).collect();
                    desc.push_str(&format!("\nAllowed values: [{}]", values.join(", ")));
                }
                out.push_str(&format!(
                    "  ({}) {name} ({kind}, {status}): {desc}\n",
                    j + 1
                ));
            }
        } else {
            out.push_str("No parameters are required for this function.\n");
        }
        out.push_str(&format!("---- END FUNCTION #{n} ----\n"));
    }
    out
}

/// Closes the first user message of an emulated conversation: a model without native tool calls
/// tends to write a whole plan of calls at once and then guess their results.
pub(crate) const ONE_CALL_REMINDER: &str = "(Format reminder: each of your messages holds at most one <function=...> call, \
placed last. Stop right after its </function> and wait: its result arrives in the next message.)";

/// One `<function=…>` call as the model should write it, from literal parameter texts.
fn example_call(name: &str, params: &[(&str, &str)]) -> String {
    let mut out = format!("{CALL_OPEN}{name}>\n");
    for (param, value) in params {
        out.push_str(&format!("{PARAM_OPEN}{param}>{value}{PARAM_CLOSE}\n"));
    }
    out.push_str("</function>");
    out
}

/// A short made-up exchange in the format, using the tools on offer: the shell (or else the first
/// tool, with its required parameters) for one step, and `finish` to close when it is offered.
fn worked_example(tools: &[ToolSpec]) -> String {
    let Some(first) = tools.first() else {
        return String::new();
    };
    let (task, reasoning, call, name, result, answer) =
        if tools.iter().any(|t| t.name == "execute_bash") {
            (
                "How many TODO comments are left in src/main.rs?",
                "Counting them with grep is quickest.",
                example_call("execute_bash", &[("command", "grep -c TODO src/main.rs")]),
                "execute_bash",
                "3",
                "src/main.rs still has 3 TODO comments.",
            )
        } else {
            let required: Vec<&str> = first.parameters["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let values: Vec<String> = required.iter().map(|p| format!("(the {p})")).collect();
            let params: Vec<(&str, &str)> = required
                .iter()
                .zip(&values)
                .map(|(p, v)| (*p, v.as_str()))
                .collect();
            (
                "(a task)",
                "One sentence on why this call helps.",
                example_call(&first.name, &params),
                first.name.as_str(),
                "(what the call produced)",
                "(what you found or did)",
            )
        };
    let mut out = format!(
        "\n<EXAMPLE>\nA made-up exchange showing the format at work (its task is not yours):\n\n\
         USER: {task}\n\n\
         ASSISTANT: {reasoning}\n{call}\n\n\
         USER: EXECUTION RESULT of [{name}]:\n{result}\n"
    );
    if tools.iter().any(|t| t.name == "finish") {
        let done = example_call("finish", &[("message", answer)]);
        out.push_str(&format!("\nASSISTANT: {done}\n"));
    }
    out.push_str(
        "\nOne call per message, each waiting for the result of the one before.\n</EXAMPLE>\n",
    );
    out
}

/// `SYSTEM_PROMPT_SUFFIX_TEMPLATE` filled with the tools, then our worked example.
pub(crate) fn system_suffix(tools: &[ToolSpec]) -> String {
    format!(
        "{SUFFIX_HEAD}{}{SUFFIX_TAIL}{}",
        describe_tools(tools),
        worked_example(tools)
    )
}

/// `convert_tool_call_to_string`: one `<parameter=…>` per argument; arguments that are not a JSON
/// object are shown as they are, so the model sees what it sent.
pub(crate) fn call_to_text(call: &ToolCall) -> String {
    let mut out = format!("{CALL_OPEN}{}>\n", call.name);
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(Value::Object(args)) => {
            for (name, value) in &args {
                out.push_str(&format!(
                    "{PARAM_OPEN}{name}>{}{PARAM_CLOSE}\n",
                    plain(value)
                ));
            }
        }
        _ if call.arguments.trim().is_empty() => {}
        _ => {
            out.push_str(&call.arguments);
            out.push('\n');
        }
    }
    out.push_str("</function>");
    out
}

/// `convert_fncall_messages_to_non_fncall_messages`, with our example in the system prompt and the
/// one-call reminder after the first user message.
pub(crate) fn to_text_messages(messages: &[Message], tools: &[ToolSpec]) -> Vec<Message> {
    let first_user = messages.iter().position(|m| m.role == Role::User);
    let suffix = (!tools.is_empty()).then(|| system_suffix(tools));
    let mut out = Vec::with_capacity(messages.len() + 1);
    if let Some(suffix) = suffix
        .as_ref()
        .filter(|_| !messages.iter().any(|m| m.role == Role::System))
    {
        out.push(Message::new(Role::System, suffix.trim_start()));
    }
    for (i, m) in messages.iter().enumerate() {
        let converted = match m.role {
            Role::System => Message::new(
                Role::System,
                format!("{}{}", m.content, suffix.as_deref().unwrap_or("")),
            ),
            Role::User if !tools.is_empty() && first_user == Some(i) => {
                Message::new(Role::User, format!("{}\n\n{ONE_CALL_REMINDER}", m.content))
            }
            Role::User => Message::new(Role::User, m.content.clone()),
            Role::Assistant => {
                let mut content = m.content.clone();
                for call in &m.tool_calls {
                    content.push_str("\n\n");
                    content.push_str(&call_to_text(call));
                }
                Message::new(Role::Assistant, content.trim_start())
            }
            Role::Tool => {
                let name = m.name.as_deref().unwrap_or("function");
                Message::new(
                    Role::User,
                    format!("EXECUTION RESULT of [{name}]:\n{}", m.content),
                )
            }
        };
        out.push(Message {
            images: m.images.clone(),
            ..converted
        });
    }
    out
}

/// Rewrites `<parameter=name=value</parameter>` into `<parameter=name>value</parameter>`
/// (`_normalize_parameter_tags`).
fn normalize_parameter_tags(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(PARAM_OPEN) {
        out.push_str(&rest[..at + PARAM_OPEN.len()]);
        rest = &rest[at + PARAM_OPEN.len()..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let after_name = &rest[name_len..];
        let Some(value_and_more) = after_name.strip_prefix('=').filter(|_| name_len > 0) else {
            continue;
        };
        let value_len = value_and_more.find('<').unwrap_or(value_and_more.len());
        if value_and_more[value_len..].starts_with(PARAM_CLOSE) {
            out.push_str(&rest[..name_len]);
            out.push('>');
            out.push_str(&value_and_more[..value_len]);
            rest = &value_and_more[value_len..];
        }
    }
    out.push_str(rest);
    out
}

/// A parameter's text as the schema's type wants it; text that does not fit stays text for the
/// agent's validation to report.
fn typed(value: &str, schema: Option<&Value>) -> Value {
    let kind = schema
        .and_then(|s| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("string");
    let trimmed = value.trim();
    let parsed = match kind {
        "integer" => trimmed.parse::<i64>().ok().map(Value::from),
        "number" => serde_json::from_str::<serde_json::Number>(trimmed)
            .ok()
            .map(Value::Number),
        "boolean" => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "array" | "object" => serde_json::from_str::<Value>(trimmed).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(value.to_string()))
}

/// The multi-line format puts values between newlines: `<parameter=x>\nvalue\n</parameter>`.
fn strip_one_newline(value: &str) -> &str {
    let value = value.strip_prefix('\n').unwrap_or(value);
    value.strip_suffix('\n').unwrap_or(value)
}

fn parse_call(name: &str, body: &str, tools: &[ToolSpec], id: String) -> ToolCall {
    let schema = tools
        .iter()
        .find(|t| t.name == name)
        .map(|t| &t.parameters["properties"]);
    let body = normalize_parameter_tags(body);
    let mut args = Map::new();
    let mut rest = body.as_str();
    while let Some(at) = rest.find(PARAM_OPEN) {
        rest = &rest[at + PARAM_OPEN.len()..];
        let Some(name_end) = rest.find('>') else {
            break;
        };
        let param = rest[..name_end].trim().to_string();
        rest = &rest[name_end + 1..];
        let value_end = rest.find(PARAM_CLOSE).unwrap_or(rest.len());
        let value = strip_one_newline(&rest[..value_end]);
        args.insert(
            param.clone(),
            typed(value, schema.and_then(|s| s.get(&param))),
        );
        rest = rest
            .get(value_end + PARAM_CLOSE.len()..)
            .unwrap_or_default();
    }
    ToolCall {
        id,
        name: name.to_string(),
        arguments: Value::Object(args).to_string(),
    }
}

/// Parses a reply: the text before the first `<function=` is the content; each `<function=NAME>`
/// up to `</function` (or the end: the stop word cuts it off) is a call, numbered `toolu_NN` from
/// `first_id`. A reply without `<function=` is returned as it is.
pub(crate) fn parse_reply(
    text: &str,
    tools: &[ToolSpec],
    first_id: usize,
) -> (String, Vec<ToolCall>) {
    let Some(first) = text.find(CALL_OPEN) else {
        return (text.to_string(), Vec::new());
    };
    let content = text[..first].trim().to_string();
    let mut calls = Vec::new();
    let mut rest = &text[first..];
    while let Some(at) = rest.find(CALL_OPEN) {
        rest = &rest[at + CALL_OPEN.len()..];
        let end = [rest.find(STOP_WORD), rest.find(CALL_OPEN)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        let block = &rest[..end];
        let (name, body) = match block.find('>') {
            Some(gt) => (&block[..gt], &block[gt + 1..]),
            None => (block.lines().next().unwrap_or_default(), ""),
        };
        let id = format!("toolu_{:02}", first_id + calls.len());
        calls.push(parse_call(name.trim(), body, tools, id));
        rest = &rest[end..];
        if let Some(after) = rest.strip_prefix(STOP_WORD) {
            rest = after.strip_prefix('>').unwrap_or(after);
        }
    }
    (content, calls)
}

/// Streams the reasoning text before a call, and holds back the `<function=` markup itself.
#[derive(Debug, Default)]
pub(crate) struct TextGate {
    pending: String,
    closed: bool,
}

impl TextGate {
    pub fn push(&mut self, text: &str) -> String {
        if self.closed {
            return String::new();
        }
        self.pending.push_str(text);
        if let Some(at) = self.pending.find(CALL_OPEN) {
            self.closed = true;
            let out = self.pending[..at].to_string();
            self.pending.clear();
            return out;
        }
        // Keep a tail that may be the start of `<function=`.
        let len = self.pending.len();
        let keep = (1..CALL_OPEN.len().min(len + 1))
            .rev()
            .find(|&k| {
                self.pending.is_char_boundary(len - k)
                    && CALL_OPEN.starts_with(&self.pending[len - k..])
            })
            .unwrap_or(0);
        let tail = self.pending.split_off(len - keep);
        std::mem::replace(&mut self.pending, tail)
    }

    /// The reply is over: a held-back tail was not markup after all.
    pub fn finish(&mut self) -> String {
        if self.closed {
            String::new()
        } else {
            std::mem::take(&mut self.pending)
        }
    }
}

#[cfg(test)]
mod tests;
