//! What the scripted server sends: whole response bodies and SSE event lists for OpenAI chat
//! completions and Anthropic Messages, with text and tool-call arguments split into several deltas.

use serde_json::{Value, json};

use super::Reported;

/// What a successful reply says.
pub(super) struct Plan {
    pub text: String,
    /// (name, arguments JSON text)
    pub calls: Vec<(String, String)>,
}

/// `s` in `k` non-empty pieces (fewer if it is short), split on character boundaries.
fn pieces(s: &str, k: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let size = chars.len().div_ceil(k).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn openai_usage(u: Reported) -> Value {
    let mut v = json!({ "prompt_tokens": u.prompt, "completion_tokens": u.completion, "total_tokens": u.prompt + u.completion });
    if u.cache_read > 0 {
        v["prompt_tokens_details"] = json!({ "cached_tokens": u.cache_read });
    }
    v
}

/// Anthropic's `input_tokens` leaves out what was read from or written to the cache.
fn anthropic_usage(u: Reported, output: u64) -> Value {
    let mut v =
        json!({ "input_tokens": u.prompt - u.cache_read - u.cache_write, "output_tokens": output });
    if u.cache_read + u.cache_write > 0 {
        v["cache_read_input_tokens"] = json!(u.cache_read);
        v["cache_creation_input_tokens"] = json!(u.cache_write);
    }
    v
}

pub(super) fn openai_whole(plan: &Plan, n: usize, u: Reported) -> Value {
    if plan.text.is_empty() && plan.calls.is_empty() {
        return json!({ "id": format!("chatcmpl-{n}"), "object": "chat.completion", "choices": [], "usage": openai_usage(u) });
    }
    let mut message = json!({ "role": "assistant", "content": if plan.text.is_empty() { Value::Null } else { json!(plan.text) } });
    if !plan.calls.is_empty() {
        let calls: Vec<Value> = plan
            .calls
            .iter()
            .enumerate()
            .map(|(i, (name, args))| json!({ "id": format!("call_{n}_{i}"), "type": "function", "function": { "name": name, "arguments": args } }))
            .collect();
        message["tool_calls"] = json!(calls);
    }
    let finish = if plan.calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "model": "scripted-model",
        "choices": [{ "index": 0, "message": message, "finish_reason": finish }],
        "usage": openai_usage(u),
    })
}

pub(super) fn openai_events(
    plan: &Plan,
    n: usize,
    u: Reported,
) -> Vec<(Option<&'static str>, String)> {
    let id = format!("chatcmpl-{n}");
    let chunk = |delta: Value, finish: Value| {
        let c = json!({ "id": id, "object": "chat.completion.chunk", "model": "scripted-model",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] });
        (None, c.to_string())
    };
    let mut events = Vec::new();
    let empty = plan.text.is_empty() && plan.calls.is_empty();
    if !empty {
        events.push(chunk(
            json!({ "role": "assistant", "content": "" }),
            Value::Null,
        ));
    }
    for piece in pieces(&plan.text, 3) {
        events.push(chunk(json!({ "content": piece }), Value::Null));
    }
    for (i, (name, args)) in plan.calls.iter().enumerate() {
        let start = json!({ "tool_calls": [{ "index": i, "id": format!("call_{n}_{i}"), "type": "function", "function": { "name": name, "arguments": "" } }] });
        events.push(chunk(start, Value::Null));
        for piece in pieces(args, 3) {
            events.push(chunk(
                json!({ "tool_calls": [{ "index": i, "function": { "arguments": piece } }] }),
                Value::Null,
            ));
        }
    }
    if !empty {
        let finish = if plan.calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        events.push(chunk(json!({}), json!(finish)));
    }
    events.push((None, json!({ "id": id, "object": "chat.completion.chunk", "choices": [], "usage": openai_usage(u) }).to_string()));
    events.push((None, "[DONE]".into()));
    events
}

/// Anthropic `input` must be an object; invalid arguments travel as a string.
fn anthropic_input(args: &str) -> Value {
    serde_json::from_str(args).unwrap_or_else(|_| json!(args))
}

pub(super) fn anthropic_whole(plan: &Plan, n: usize, u: Reported) -> Value {
    let mut content = Vec::new();
    if !plan.text.is_empty() {
        content.push(json!({ "type": "text", "text": plan.text }));
    }
    for (i, (name, args)) in plan.calls.iter().enumerate() {
        content.push(json!({ "type": "tool_use", "id": format!("toolu_srv_{n}_{i}"), "name": name, "input": anthropic_input(args) }));
    }
    json!({
        "id": format!("msg_{n}"), "type": "message", "role": "assistant", "model": "scripted-model",
        "content": content,
        "stop_reason": if plan.calls.is_empty() { "end_turn" } else { "tool_use" },
        "stop_sequence": null,
        "usage": anthropic_usage(u, u.completion),
    })
}

pub(super) fn anthropic_events(
    plan: &Plan,
    n: usize,
    u: Reported,
) -> Vec<(Option<&'static str>, String)> {
    let mut events = vec![(
        Some("message_start"),
        json!({ "type": "message_start", "message": { "id": format!("msg_{n}"), "type": "message", "role": "assistant",
            "model": "scripted-model", "content": [], "stop_reason": null,
            "usage": anthropic_usage(u, 1) } })
        .to_string(),
    )];
    let mut index = 0;
    if !plan.text.is_empty() {
        events.push((Some("content_block_start"), json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }).to_string()));
        events.push((Some("ping"), json!({ "type": "ping" }).to_string()));
        for piece in pieces(&plan.text, 3) {
            events.push((Some("content_block_delta"), json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": piece } }).to_string()));
        }
        events.push((
            Some("content_block_stop"),
            json!({ "type": "content_block_stop", "index": 0 }).to_string(),
        ));
        index += 1;
    }
    for (i, (name, args)) in plan.calls.iter().enumerate() {
        let start = json!({ "type": "content_block_start", "index": index,
            "content_block": { "type": "tool_use", "id": format!("toolu_srv_{n}_{i}"), "name": name, "input": {} } });
        events.push((Some("content_block_start"), start.to_string()));
        for piece in pieces(args, 3) {
            let delta = json!({ "type": "content_block_delta", "index": index, "delta": { "type": "input_json_delta", "partial_json": piece } });
            events.push((Some("content_block_delta"), delta.to_string()));
        }
        events.push((
            Some("content_block_stop"),
            json!({ "type": "content_block_stop", "index": index }).to_string(),
        ));
        index += 1;
    }
    let stop = if plan.calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    events.push((Some("message_delta"), json!({ "type": "message_delta", "delta": { "stop_reason": stop, "stop_sequence": null }, "usage": { "output_tokens": u.completion } }).to_string()));
    events.push((
        Some("message_stop"),
        json!({ "type": "message_stop" }).to_string(),
    ));
    events
}
