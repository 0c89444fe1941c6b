//! The OpenAI chat-completions wire format, spoken by OpenAI and by the OpenAI-compatible servers
//! (Ollama, vLLM, LM Studio, llama.cpp, OpenRouter, LiteLLM proxy): request body and response parsing,
//! whole or streamed.

use serde_json::{Value, json};

use super::config::url_host;
use super::retry::{Failure, classify_inline_error};
use super::transport::{Draft, DraftCall};
use super::{LlmConfig, Message, Role, Usage};
use super::{Prepared, features, images};

pub(crate) fn body(config: &LlmConfig, prepared: &Prepared, temperature: Option<f64>) -> Value {
    let messages = messages(&prepared.messages);
    let mut body = json!({ "model": config.model, "messages": messages });
    if !prepared.tools.is_empty() {
        let tools: Vec<Value> = prepared
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "function",
                    "function": { "name": t.name, "description": t.description, "parameters": t.parameters },
                })
            })
            .collect();
        body["tools"] = Value::Array(tools);
    }
    if config.stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(t) = temperature.filter(|_| features::accepts_temperature(&config.model)) {
        body["temperature"] = json!(t);
    }
    if let Some(effort) = config
        .reasoning_effort
        .as_ref()
        .filter(|_| features::accepts_reasoning_effort(&config.model))
    {
        body["reasoning_effort"] = json!(effort);
    }
    if let Some(max) = config.max_output_tokens {
        // OpenAI's newer models accept only the new name; most compatible servers only the old one.
        let key = if url_host(&config.base_url) == "api.openai.com" {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[key] = json!(max);
    }
    if !prepared.stop.is_empty() {
        body["stop"] = json!(prepared.stop);
    }
    if let Some(key) = &prepared.cache_key {
        body["prompt_cache_key"] = json!(key);
    }
    body
}

/// The wire messages. OpenAI takes images in user messages only: a tool result's images follow the
/// results of its assistant turn as one user message that says which call they came from.
fn messages(messages: &[Message]) -> Vec<Value> {
    let mut out = Vec::with_capacity(messages.len());
    let mut tool_images: Vec<Value> = Vec::new();
    for m in messages {
        if m.role != Role::Tool && !tool_images.is_empty() {
            out.push(json!({ "role": "user", "content": std::mem::take(&mut tool_images) }));
        }
        if m.role == Role::Tool && !m.images.is_empty() {
            let call = m.tool_call_id.as_deref().unwrap_or_default();
            tool_images.push(json!({ "type": "text", "text": format!("Image(s) from the result of tool call {call}:") }));
            tool_images.extend(m.images.iter().map(|u| images::openai_part(u)));
        }
        out.push(message(m));
    }
    if !tool_images.is_empty() {
        out.push(json!({ "role": "user", "content": tool_images }));
    }
    out
}

fn message(m: &Message) -> Value {
    match m.role {
        Role::User if !m.images.is_empty() => {
            let mut parts = vec![json!({ "type": "text", "text": m.content })];
            parts.extend(m.images.iter().map(|u| images::openai_part(u)));
            json!({ "role": "user", "content": parts })
        }
        Role::System | Role::User => json!({ "role": m.role, "content": m.content }),
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.clone().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant if m.tool_calls.is_empty() => {
            json!({ "role": "assistant", "content": m.content })
        }
        Role::Assistant => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| json!({ "id": c.id, "type": "function", "function": { "name": c.name, "arguments": c.arguments } }))
                .collect();
            let content = if m.content.is_empty() {
                Value::Null
            } else {
                json!(m.content)
            };
            json!({ "role": "assistant", "content": content, "tool_calls": calls })
        }
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `content` is a string, null, or (some servers) a list of text parts.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(|p| str_of(p, "text")).collect(),
        _ => String::new(),
    }
}

/// Arguments are JSON text; a few servers send an object instead.
fn arguments_text(arguments: Option<&Value>) -> String {
    match arguments {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

fn usage(v: &Value) -> Usage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let cached = v
        .pointer("/prompt_tokens_details/cached_tokens")
        .or_else(|| v.get("prompt_cache_hit_tokens"));
    Usage {
        prompt_tokens: n(v.get("prompt_tokens")),
        completion_tokens: n(v.get("completion_tokens")),
        cache_read_tokens: n(cached),
        cache_write_tokens: n(v.get("cache_creation_input_tokens")),
    }
}

/// A whole (non-streamed) response.
pub(crate) fn parse_response(v: &Value) -> Result<Draft, Failure> {
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return Err(classify_inline_error(v));
    }
    let mut draft = Draft {
        id: str_of(v, "id").unwrap_or_default().to_string(),
        complete: true,
        ..Draft::default()
    };
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        draft.usage = usage(u);
    }
    let Some(message) = v.pointer("/choices/0/message") else {
        return Ok(draft);
    };
    draft.text = content_text(message.get("content"));
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        draft.calls.push(DraftCall {
            id: str_of(call, "id").unwrap_or_default().to_string(),
            name: call
                .pointer("/function/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            arguments: arguments_text(call.pointer("/function/arguments")),
            ..DraftCall::default()
        });
    }
    Ok(draft)
}

/// One streamed `data:` payload; returns the text it adds.
pub(crate) fn apply_chunk(draft: &mut Draft, data: &str) -> Result<String, Failure> {
    if data.trim() == "[DONE]" {
        draft.complete = true;
        return Ok(String::new());
    }
    let v: Value = serde_json::from_str(data)
        .map_err(|e| Failure::Broken(format!("unreadable stream chunk: {e}")))?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return Err(classify_inline_error(&v));
    }
    if draft.id.is_empty() {
        draft.id = str_of(&v, "id").unwrap_or_default().to_string();
    }
    if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
        draft.usage = usage(u);
    }
    let mut text = String::new();
    for choice in v
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
            draft.finished = true;
        }
        let Some(delta) = choice.get("delta") else {
            continue;
        };
        text.push_str(&content_text(delta.get("content")));
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            merge_call(draft, call);
        }
    }
    draft.text.push_str(&text);
    Ok(text)
}

/// Deltas name their call by `index`; servers that omit it start a new call with a new `id`.
fn merge_call(draft: &mut Draft, call: &Value) {
    let index = call.get("index").and_then(Value::as_u64);
    let id = str_of(call, "id").filter(|id| !id.is_empty());
    let existing = match index {
        Some(i) => draft.calls.iter().position(|c| c.index == Some(i)),
        None => match (draft.calls.last(), id) {
            (Some(last), Some(id)) if last.id != id => None,
            (Some(_), _) => Some(draft.calls.len() - 1),
            (None, _) => None,
        },
    };
    let slot = match existing {
        Some(at) => &mut draft.calls[at],
        None => {
            draft.calls.push(DraftCall {
                index,
                ..DraftCall::default()
            });
            let last = draft.calls.len() - 1;
            &mut draft.calls[last]
        }
    };
    if let Some(id) = id {
        slot.id = id.to_string();
    }
    let name = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if slot.name != name {
        slot.name.push_str(name);
    }
    slot.arguments
        .push_str(&arguments_text(call.pointer("/function/arguments")));
}
