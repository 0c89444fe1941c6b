//! The Anthropic Messages wire format: a top-level `system`, `tool_use`/`tool_result` blocks, prompt
//! caching breakpoints, and the named events of its stream.

use serde_json::{Value, json};

use super::retry::{Failure, classify_inline_error};
use super::transport::{Draft, DraftCall};
use super::{LlmConfig, Prepared, Role, Usage, features, images};

fn cache_control() -> Value {
    json!({ "type": "ephemeral" })
}

pub(crate) fn body(config: &LlmConfig, prepared: &Prepared, temperature: Option<f64>) -> Value {
    let system: Vec<&str> = prepared
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<(&str, Vec<Value>)> = Vec::new();
    for m in &prepared.messages {
        let (role, mut blocks) = match m.role {
            Role::System => continue,
            Role::User => {
                let mut blocks = text_block(&m.content);
                blocks.extend(m.images.iter().map(|u| images::anthropic_block(u)));
                ("user", blocks)
            }
            Role::Tool => {
                let mut block = json!({ "type": "tool_result", "tool_use_id": m.tool_call_id.clone().unwrap_or_default() });
                if !m.images.is_empty() {
                    // A result with images is a list of blocks: its text, then the images.
                    let mut content = text_block(&m.content);
                    content.extend(m.images.iter().map(|u| images::anthropic_block(u)));
                    block["content"] = Value::Array(content);
                } else if !m.content.is_empty() {
                    block["content"] = json!(m.content);
                }
                ("user", vec![block])
            }
            Role::Assistant => ("assistant", text_block(&m.content)),
        };
        for call in &m.tool_calls {
            blocks.push(json!({ "type": "tool_use", "id": call.id, "name": call.name, "input": input_of(&call.arguments) }));
        }
        // Consecutive same-role turns merge: all results of one assistant turn go in one user turn.
        if let Some((_, existing)) = turns.last_mut().filter(|(last, _)| *last == role) {
            existing.extend(blocks);
        } else if !blocks.is_empty() {
            turns.push((role, blocks));
        }
    }
    // Four breakpoints at most (Anthropic's limit): the tools, the system prompt, and the moving end: the
    // last block of the last user turn (tool results included) and of the one before, so the prefix the
    // previous request wrote is read back even when more than 20 blocks were added since.
    let breakpoints = if prepared.cache { 2 } else { 0 };
    for block in turns
        .iter_mut()
        .rev()
        .filter(|(role, _)| *role == "user")
        .filter_map(|(_, blocks)| blocks.last_mut())
        .take(breakpoints)
    {
        block["cache_control"] = cache_control();
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .map(|(role, blocks)| json!({ "role": role, "content": blocks }))
        .collect();
    let mut body = json!({
        "model": config.model,
        "max_tokens": config
            .max_output_tokens
            .unwrap_or_else(|| features::default_max_output_tokens(&config.model)),
        "messages": messages,
    });
    let system = system.join("\n\n");
    if !system.is_empty() {
        body["system"] = json!([{ "type": "text", "text": system }]);
        if prepared.cache {
            body["system"][0]["cache_control"] = cache_control();
        }
    }
    if !prepared.tools.is_empty() {
        let tools: Vec<Value> = prepared
            .tools
            .iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": t.parameters }))
            .collect();
        let mut tools = tools;
        if let Some(last) = tools.last_mut() {
            last["cache_control"] = cache_control();
        }
        body["tools"] = Value::Array(tools);
    }
    if config.stream {
        body["stream"] = json!(true);
    }
    if let Some(t) = temperature.filter(|_| features::accepts_temperature(&config.model)) {
        body["temperature"] = json!(t);
    }
    if !prepared.stop.is_empty() {
        body["stop_sequences"] = json!(prepared.stop);
    }
    body
}

/// Anthropic rejects empty text blocks.
fn text_block(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({ "type": "text", "text": text })]
    }
}

/// `input` must be an object; arguments that are not one are kept visible to the model.
fn input_of(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ if arguments.trim().is_empty() => json!({}),
        _ => json!({ "invalid_json_arguments": arguments }),
    }
}

/// Arguments text from an `input` value (some proxies send the JSON text as a string).
fn arguments_of(input: Option<&Value>) -> String {
    match input {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Anthropic's `input_tokens` excludes cached tokens; ours includes them, as OpenAI's does.
fn apply_usage(usage: &mut Usage, u: &Value) {
    let n = |key: &str| u.get(key).and_then(Value::as_u64);
    let read = n("cache_read_input_tokens");
    let write = n("cache_creation_input_tokens");
    if let Some(input) = n("input_tokens") {
        usage.cache_read_tokens = read.unwrap_or(usage.cache_read_tokens);
        usage.cache_write_tokens = write.unwrap_or(usage.cache_write_tokens);
        usage.prompt_tokens = input + usage.cache_read_tokens + usage.cache_write_tokens;
    }
    if let Some(output) = n("output_tokens") {
        usage.completion_tokens = output;
    }
}

/// A whole (non-streamed) response.
pub(crate) fn parse_response(v: &Value) -> Result<Draft, Failure> {
    if str_of(v, "type") == Some("error") {
        return Err(classify_inline_error(v));
    }
    let mut draft = Draft {
        id: str_of(v, "id").unwrap_or_default().to_string(),
        complete: true,
        ..Draft::default()
    };
    if let Some(u) = v.get("usage") {
        apply_usage(&mut draft.usage, u);
    }
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match str_of(block, "type") {
            Some("text") => draft
                .text
                .push_str(str_of(block, "text").unwrap_or_default()),
            Some("tool_use") => draft.calls.push(DraftCall {
                id: str_of(block, "id").unwrap_or_default().to_string(),
                name: str_of(block, "name").unwrap_or_default().to_string(),
                arguments: arguments_of(block.get("input")),
                ..DraftCall::default()
            }),
            _ => {}
        }
    }
    Ok(draft)
}

/// One streamed event; returns the text it adds.
pub(crate) fn apply_event(draft: &mut Draft, data: &str) -> Result<String, Failure> {
    let v: Value = serde_json::from_str(data)
        .map_err(|e| Failure::Broken(format!("unreadable stream event: {e}")))?;
    let index = v.get("index").and_then(Value::as_u64);
    match str_of(&v, "type").unwrap_or_default() {
        "error" => return Err(classify_inline_error(&v)),
        "message_start" => {
            let message = v.get("message").unwrap_or(&Value::Null);
            draft.id = str_of(message, "id").unwrap_or_default().to_string();
            if let Some(u) = message.get("usage") {
                apply_usage(&mut draft.usage, u);
            }
        }
        "content_block_start" => {
            let block = v.get("content_block").unwrap_or(&Value::Null);
            match str_of(block, "type") {
                Some("tool_use") => draft.calls.push(DraftCall {
                    index,
                    id: str_of(block, "id").unwrap_or_default().to_string(),
                    name: str_of(block, "name").unwrap_or_default().to_string(),
                    arguments: String::new(),
                    fallback_arguments: arguments_of(block.get("input")),
                }),
                Some("text") => {
                    return Ok(push_text(draft, str_of(block, "text").unwrap_or_default()));
                }
                _ => {}
            }
        }
        "content_block_delta" => {
            let delta = v.get("delta").unwrap_or(&Value::Null);
            match str_of(delta, "type") {
                Some("text_delta") => {
                    return Ok(push_text(draft, str_of(delta, "text").unwrap_or_default()));
                }
                Some("input_json_delta") => {
                    let part = str_of(delta, "partial_json").unwrap_or_default();
                    if let Some(call) = draft.calls.iter_mut().rev().find(|c| c.index == index) {
                        call.arguments.push_str(part);
                    }
                }
                _ => {}
            }
        }
        "message_delta" => {
            if let Some(u) = v.get("usage") {
                apply_usage(&mut draft.usage, u);
            }
            if v.pointer("/delta/stop_reason")
                .is_some_and(|r| !r.is_null())
            {
                draft.finished = true;
            }
        }
        "message_stop" => draft.complete = true,
        _ => {}
    }
    Ok(String::new())
}

fn push_text(draft: &mut Draft, text: &str) -> String {
    draft.text.push_str(text);
    text.to_string()
}
