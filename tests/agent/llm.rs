//! Integration tests of the LLM layer through its public API against the scripted server on loopback:
//! both wire formats, streamed and whole; faults, emulation and configuration live in submodules.

mod cancellation;
mod config;
mod emulated;
mod faults;

use std::sync::Mutex;

use openhands_lsp::llm::{
    Llm, LlmConfig, LlmError, Message, Request, Response, Role, StreamEvent, ToolCall, ToolSpec,
    Usage,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::scripted_llm::{COMPLETION_TOKENS, PROMPT_TOKENS, Reply, ScriptedLlm, Wire};

const WIRES: [Wire; 2] = [Wire::OpenAi, Wire::Anthropic];

pub(crate) fn bash_tool() -> ToolSpec {
    ToolSpec {
        name: "execute_bash".into(),
        description: "Run a bash command.".into(),
        parameters: json!({
            "type": "object",
            "properties": { "command": { "type": "string", "description": "The command to run." } },
            "required": ["command"],
        }),
    }
}

pub(crate) fn request() -> Request {
    Request {
        messages: vec![
            Message::new(Role::System, "You are a helpful agent."),
            Message::new(Role::User, "List the files."),
        ],
        tools: vec![bash_tool()],
        cache_key: None,
    }
}

/// Runs one completion and collects what `on_event` saw.
pub(crate) async fn run(
    config: LlmConfig,
    request: &Request,
) -> (Result<Response, LlmError>, Vec<StreamEvent>) {
    let llm = Llm::new(config).expect("valid config");
    let events = Mutex::new(Vec::new());
    let on_event = |e: StreamEvent| events.lock().expect("events").push(e);
    let result = llm
        .complete(request, &CancellationToken::new(), &on_event)
        .await;
    (result, events.into_inner().expect("events"))
}

pub(crate) fn texts(events: &[StreamEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| {
            if let StreamEvent::Text(t) = e {
                Some(t.clone())
            } else {
                None
            }
        })
        .collect()
}

pub(crate) fn retries(events: &[StreamEvent]) -> Vec<(u32, u32, std::time::Duration)> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Retrying {
                attempt,
                max_attempts,
                wait,
                ..
            } => Some((*attempt, *max_attempts, *wait)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn text_answer_on_both_wires_streamed_and_whole() {
    for wire in WIRES {
        for stream in [true, false] {
            let server = ScriptedLlm::start(
                wire,
                vec![Reply::Text("Here are the files: a.rs, b.rs.".into())],
            );
            let config = LlmConfig {
                stream,
                ..server.config()
            };
            let (result, events) = run(config, &request()).await;
            let response = result.expect("a text answer");
            let what = format!("{wire:?} stream={stream}");
            assert_eq!(
                response.content, "Here are the files: a.rs, b.rs.",
                "{what}"
            );
            assert_eq!(response.tool_calls, vec![], "{what}");
            let usage = Usage {
                prompt_tokens: PROMPT_TOKENS,
                completion_tokens: COMPLETION_TOKENS,
                ..Usage::default()
            };
            assert_eq!(response.usage, usage, "{what}");
            assert_eq!(response.cost, 0.0, "a model without a price costs nothing");
            assert!(!response.id.is_empty(), "{what}");
            let texts = texts(&events);
            assert_eq!(texts.concat(), response.content, "{what}");
            assert_eq!(
                texts.len(),
                if stream { 3 } else { 1 },
                "streamed text arrives in pieces: {what}"
            );
            assert_eq!(
                server.requests()[0]["stream"].as_bool().unwrap_or(false),
                stream,
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn several_tool_calls_assembled_from_deltas() {
    let calls = vec![
        (
            "execute_bash".to_string(),
            json!({ "command": "ls -la /work && echo \"done ✓\"" }),
        ),
        (
            "execute_bash".to_string(),
            json!({ "command": "git status" }),
        ),
    ];
    for wire in WIRES {
        for stream in [true, false] {
            let server = ScriptedLlm::start(
                wire,
                vec![Reply::Tools {
                    text: "Looking.".into(),
                    calls: calls.clone(),
                }],
            );
            let (result, _) = run(
                LlmConfig {
                    stream,
                    ..server.config()
                },
                &request(),
            )
            .await;
            let response = result.expect("tool calls");
            let got: Vec<(String, Value)> = response
                .tool_calls
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        serde_json::from_str(&c.arguments).expect("arguments are JSON"),
                    )
                })
                .collect();
            assert_eq!(got, calls, "{wire:?} stream={stream}");
            assert_eq!(response.content, "Looking.");
            let ids: Vec<&str> = response.tool_calls.iter().map(|c| c.id.as_str()).collect();
            assert!(
                ids[0] != ids[1] && ids.iter().all(|id| !id.is_empty()),
                "{ids:?}"
            );
        }
    }
}

/// A conversation with a finished tool round, as the agent sends it.
pub(crate) fn history() -> Request {
    let mut assistant = Message::new(Role::Assistant, "Let me look.");
    assistant.tool_calls.push(ToolCall {
        id: "call_1".into(),
        name: "execute_bash".into(),
        arguments: r#"{"command":"pwd"}"#.into(),
    });
    let mut result = Message::new(Role::Tool, "/work");
    result.tool_call_id = Some("call_1".into());
    result.name = Some("execute_bash".into());
    let mut request = request();
    request.messages.extend([assistant, result]);
    request
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The temperature each request carries, for a model and `[llm]` settings aimed at `server`.
async fn temperature_sent(
    server: &ScriptedLlm,
    model: &str,
    settings: &str,
    env: &[(&str, &str)],
) -> Option<Value> {
    sent(server, model, settings, env, "temperature").await
}

/// The value of `key` in the request body, for a model and `[llm]` settings aimed at `server`.
async fn sent(
    server: &ScriptedLlm,
    model: &str,
    settings: &str,
    env: &[(&str, &str)],
    key: &str,
) -> Option<Value> {
    let file: toml::Table = format!(
        "[llm]\nmodel = \"{model}\"\nbase_url = \"{}\"\napi_key = \"sk-test-secret\"\n{settings}",
        server.config().base_url
    )
    .parse()
    .expect("valid TOML");
    let env: std::collections::HashMap<&str, &str> = env.iter().copied().collect();
    let config = openhands_lsp::llm::resolve_llm_config(&[&file], None, &|name| {
        env.get(name).map(|v| v.to_string())
    })
    .expect("valid config");
    let before = server.requests().len();
    run(config, &request()).await.0.expect("answer");
    server.requests()[before].get(key).cloned()
}

#[tokio::test]
async fn reasoning_effort_goes_to_the_models_that_take_it() {
    let server = ScriptedLlm::start(Wire::OpenAi, vec![Reply::Text("ok".into()); 4]);
    let effort = |model, settings, env| sent(&server, model, settings, env, "reasoning_effort");
    let sent = vec![
        effort("gpt-5-mini", "reasoning_effort = \"high\"", &[]).await,
        effort("o3-mini", "", &[("LLM_REASONING_EFFORT", "Low")]).await,
        effort("gpt-4o", "reasoning_effort = \"high\"", &[]).await,
        effort("gpt-5-mini", "", &[]).await,
    ];
    assert_eq!(
        sent,
        vec![Some(json!("high")), Some(json!("low")), None, None]
    );
}

#[tokio::test]
async fn temperature_is_zero_unless_configured_and_absent_for_reasoning_models() {
    let openai = ScriptedLlm::start(Wire::OpenAi, vec![Reply::Text("ok".into()); 5]);
    let anthropic = ScriptedLlm::start(Wire::Anthropic, vec![Reply::Text("ok".into()); 2]);
    let sent = vec![
        temperature_sent(&openai, "gpt-4o", "", &[]).await,
        temperature_sent(&openai, "o3-mini", "", &[]).await,
        temperature_sent(&openai, "gpt-5-mini", "temperature = 0.5", &[]).await,
        temperature_sent(&openai, "gpt-4o", "temperature = 0.5", &[]).await,
        temperature_sent(
            &openai,
            "gpt-4o",
            "temperature = 0.5",
            &[("LLM_TEMPERATURE", "0.25")],
        )
        .await,
        temperature_sent(&anthropic, "claude-sonnet-4-5", "", &[]).await,
        temperature_sent(&anthropic, "claude-sonnet-4-5", "temperature = 1", &[]).await,
    ];
    assert_eq!(
        sent,
        vec![
            Some(json!(0.0)),
            None,
            None,
            Some(json!(0.5)),
            Some(json!(0.25)),
            Some(json!(0.0)),
            Some(json!(1.0)),
        ]
    );
}

#[tokio::test]
async fn openai_request_shape() {
    let server = ScriptedLlm::start(Wire::OpenAi, vec![Reply::Text("ok".into())]);
    let config = LlmConfig {
        temperature: Some(0.0),
        max_output_tokens: Some(1000),
        ..server.config()
    };
    run(config, &history()).await.0.expect("answer");
    let expected = json!({
        "model": "scripted-model",
        "messages": [
            { "role": "system", "content": "You are a helpful agent." },
            { "role": "user", "content": "List the files." },
            { "role": "assistant", "content": "Let me look.", "tool_calls": [
                { "id": "call_1", "type": "function", "function": { "name": "execute_bash", "arguments": "{\"command\":\"pwd\"}" } },
            ] },
            { "role": "tool", "tool_call_id": "call_1", "content": "/work" },
        ],
        "tools": [{ "type": "function", "function": {
            "name": "execute_bash", "description": "Run a bash command.", "parameters": bash_tool().parameters,
        } }],
        "stream": true,
        "stream_options": { "include_usage": true },
        "temperature": 0.0,
        "max_tokens": 1000,
    });
    assert_eq!(server.requests(), vec![expected]);
    let headers = &server.request_headers()[0];
    assert_eq!(
        header(headers, "authorization"),
        Some("Bearer sk-test-secret")
    );
}

#[tokio::test]
async fn anthropic_request_shape() {
    let server = ScriptedLlm::start(Wire::Anthropic, vec![Reply::Text("ok".into())]);
    run(
        LlmConfig {
            stream: false,
            ..server.config()
        },
        &history(),
    )
    .await
    .0
    .expect("answer");
    let ephemeral = json!({ "type": "ephemeral" });
    let expected = json!({
        "model": "scripted-model",
        "max_tokens": 8192,
        "messages": [
            // Breakpoints: the tools, the system prompt, and the last two user turns (the moving end).
            { "role": "user", "content": [{ "type": "text", "text": "List the files.", "cache_control": ephemeral }] },
            { "role": "assistant", "content": [
                { "type": "text", "text": "Let me look." },
                { "type": "tool_use", "id": "call_1", "name": "execute_bash", "input": { "command": "pwd" } },
            ] },
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "call_1", "content": "/work", "cache_control": ephemeral },
            ] },
        ],
        "system": [{ "type": "text", "text": "You are a helpful agent.", "cache_control": ephemeral }],
        "tools": [{ "name": "execute_bash", "description": "Run a bash command.", "input_schema": bash_tool().parameters, "cache_control": ephemeral }],
    });
    assert_eq!(server.requests(), vec![expected]);
    let headers = &server.request_headers()[0];
    assert_eq!(header(headers, "x-api-key"), Some("sk-test-secret"));
    assert_eq!(header(headers, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(headers, "authorization"), None);
}

#[tokio::test]
async fn cost_from_price_override() {
    for wire in WIRES {
        let server = ScriptedLlm::start(wire, vec![Reply::Text("ok".into())]);
        let config = LlmConfig {
            input_cost_per_token: Some(0.000_003),
            output_cost_per_token: Some(0.000_015),
            ..server.config()
        };
        let response = run(config, &request()).await.0.expect("answer");
        // 100 × $3/M + 20 × $15/M
        assert!(
            (response.cost - 0.0006).abs() < 1e-12,
            "{wire:?}: {}",
            response.cost
        );
    }
}

#[test]
fn completion_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let server = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let llm = Llm::new(server.config()).expect("config");
    let (request, cancel) = (request(), CancellationToken::new());
    let future = llm.complete(&request, &cancel, &|_| {});
    assert_send(&future);
}
