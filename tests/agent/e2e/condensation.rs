//! Condensation and prompt caching end to end: long tasks under a small context window, the provider's
//! context-window errors, the `request_condensation` tool, a resumed condensed conversation, and the
//! cache markers and cached-token prices on both wires; a scripted LLM and a real runtime.

use std::sync::Arc;

use openhands_lsp::agent::condenser::{Condensation, CondenserConfig, CondenserKind};
use openhands_lsp::agent::{AgentConfig, Controller, Outcome};
use openhands_lsp::events::{EventStream, SECRET_MASK};
use openhands_lsp::llm::{Llm, LlmConfig};
use openhands_lsp::runtime::Runtime;
use openhands_lsp::storage::{ConversationId, ConversationMeta, Storage};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{assert_calls_paired, controller, setup};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire, tool};

const TASK: &str = "Run the numbered steps one by one, then finish.";

/// The summariser's answer: structured, saying how many commands it was shown and whether it built on
/// a previous summary (so re-summarisation is visible), and depending on nothing but the request.
fn summariser(body: &Value, _n: usize) -> Reply {
    let text = body.to_string();
    let commands = text.matches("echo step").count();
    let previous = if text.contains("<PREVIOUS_SUMMARY>") {
        " on top of the previous summary"
    } else {
        ""
    };
    Reply::Text(format!(
        "GOAL: run the numbered steps.\nPROGRESS: {commands} commands summarised{previous}.\nFILES: none.\nREMAINING: the next steps, then finish."
    ))
}

fn offers_tools(body: &Value) -> bool {
    body["tools"].as_array().is_some_and(|t| !t.is_empty())
}

fn agent_requests(llm: &ScriptedLlm) -> Vec<Value> {
    llm.requests().into_iter().filter(offers_tools).collect()
}

fn summariser_requests(llm: &ScriptedLlm) -> Vec<Value> {
    llm.requests()
        .into_iter()
        .filter(|b| !offers_tools(b))
        .collect()
}

fn condensations(stream: &EventStream) -> Vec<Condensation> {
    stream
        .events()
        .iter()
        .filter_map(|e| Condensation::from_event(e))
        .collect()
}

/// The first user message of a request body on either wire.
fn first_user_text(body: &Value) -> String {
    let first = body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "user"))
        .cloned()
        .unwrap_or_default();
    match &first["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks[0]["text"].as_str().unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

fn steps(n: usize) -> Vec<Reply> {
    let mut script: Vec<Reply> = (0..n)
        .map(|i| {
            // 30 lines of output: enough for masking old outputs to matter.
            let command = format!("echo step {i} of the task && seq -f 'line %g of step {i}' 1 30");
            tool("execute_bash", json!({ "command": command }))
        })
        .collect();
    script.push(tool("finish", json!({"message": "All steps done."})));
    script
}

fn agent(kind: CondenserKind, max_size: usize) -> AgentConfig {
    AgentConfig {
        max_iterations: 1_000,
        condenser: CondenserConfig {
            kind,
            keep_first: 1,
            max_size,
        },
        ..AgentConfig::default()
    }
}

const WINDOW: u64 = 10_000;

async fn long_task(wire: Wire, kind: CondenserKind) {
    let s = setup().await;
    let llm = ScriptedLlm::start(wire, steps(299))
        .count_tokens()
        .answer_untooled(summariser);
    let config = LlmConfig {
        max_input_tokens: Some(WINDOW),
        stream: false,
        ..llm.config()
    };
    let (mut c, stream) = controller(&s, config, agent(kind, 100));
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    s.runtime.close().await;
    let done = condensations(&stream);
    assert!(
        done.len() >= 3,
        "a 300-step task in a {WINDOW}-token window condenses several times, got {}",
        done.len()
    );
    // Every prompt stays under the window, as the provider counts it, and the budget was really used.
    let prompts: Vec<u64> = llm.usages().iter().map(|u| u.prompt).collect();
    let largest = prompts.iter().copied().max().unwrap_or(0);
    assert!(largest <= WINDOW, "a prompt of {largest} tokens");
    assert!(largest > WINDOW / 2, "the window was approached: {largest}");
    let requests = agent_requests(&llm);
    assert_eq!(requests.len(), 300, "one request per step");
    for body in &requests {
        assert_eq!(
            first_user_text(body),
            TASK,
            "the first user message is kept"
        );
        let system = match wire {
            Wire::OpenAi => body["messages"][0]["role"] == "system",
            Wire::Anthropic => body["system"][0]["text"].is_string(),
        };
        assert!(system, "the system prompt is kept");
    }
    let last = requests.last().unwrap().to_string();
    assert!(last.contains("echo step 298 of the task"));
    assert!(
        !last.contains("echo step 3 of the task"),
        "early steps are forgotten"
    );
    let summarised = summariser_requests(&llm);
    match kind {
        CondenserKind::Llm => {
            assert_eq!(summarised.len(), done.len(), "one summariser call each");
            // Each later summary is written over the previous one.
            for (i, body) in summarised.iter().enumerate().skip(1) {
                let text = body.to_string();
                assert!(text.contains("<PREVIOUS_SUMMARY>"), "summary {i}");
                let previous = done[i - 1].summary.as_deref().unwrap();
                assert!(text.contains(&previous.replace('\n', "\\n")), "summary {i}");
            }
            assert!(last.contains("on top of the previous summary"));
        }
        _ => {
            assert!(summarised.is_empty(), "masking calls no LLM");
            // Masking first; forgetting (with a summary built from the events) when it is not enough.
            assert!(done.iter().any(|c| !c.masked_ids.is_empty()), "{done:?}");
            assert!(done.iter().any(|c| c.summary.is_some()));
            assert!(requests.iter().any(|b| b.to_string().contains("<MASKED>")));
        }
    }
    // The condenser's calls are in the totals.
    let m = c.metrics();
    assert_eq!(m.llm_calls, llm.requests().len() as u64);
    assert_eq!(m.prompt_tokens, prompts.iter().sum::<u64>());
    assert_calls_paired(&stream);
}

#[tokio::test]
async fn a_300_step_task_condenses_with_the_llm_summariser_under_the_window() {
    long_task(Wire::OpenAi, CondenserKind::Llm).await;
}

#[tokio::test]
async fn a_300_step_task_condenses_by_masking_under_the_window() {
    long_task(Wire::Anthropic, CondenserKind::ObservationMasking).await;
}

const OPENAI_TOO_LONG: &str = r#"{"error": {"message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens. Please reduce the length of the messages.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}"#;
const ANTHROPIC_TOO_LONG: &str = r#"{"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 208934 tokens > 200000 maximum"}}"#;

fn too_long(wire: Wire) -> Reply {
    Reply::Status {
        status: 400,
        body: match wire {
            Wire::OpenAi => OPENAI_TOO_LONG,
            Wire::Anthropic => ANTHROPIC_TOO_LONG,
        }
        .into(),
        retry_after: None,
    }
}

#[tokio::test]
async fn a_context_window_error_is_recovered_by_condensing() {
    for wire in [Wire::OpenAi, Wire::Anthropic] {
        let s = setup().await;
        let mut script = steps(6);
        script.insert(6, too_long(wire));
        let llm = ScriptedLlm::start(wire, script).answer_untooled(summariser);
        let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
        assert_eq!(
            c.send_user_message(TASK).await,
            Outcome::Finished("All steps done.".into()),
            "{wire:?}"
        );
        s.runtime.close().await;
        let requests = llm.requests();
        // The refused request, then the summariser, then the same step again, shorter.
        let refused = requests
            .iter()
            .position(|b| b.to_string().contains("echo step 5 of the task") && offers_tools(b))
            .unwrap();
        assert!(
            !offers_tools(&requests[refused + 1]),
            "{wire:?}: the summariser runs"
        );
        let (before, after) = (&requests[refused], &requests[refused + 2]);
        let size = |b: &Value| b["messages"].as_array().map_or(0, Vec::len);
        assert!(
            size(after) < size(before),
            "{wire:?}: the retry is condensed"
        );
        assert!(
            after.to_string().contains("commands summarised"),
            "{wire:?}"
        );
        assert_eq!(condensations(&stream).len(), 1, "{wire:?}");
        assert_calls_paired(&stream);
    }
}

#[tokio::test]
async fn a_context_window_error_that_condensing_cannot_cure_ends_the_task_clearly() {
    let s = setup().await;
    let wire = Wire::OpenAi;
    let mut script = steps(4);
    script.truncate(4);
    script.extend((0..6).map(|_| too_long(wire)));
    let llm = ScriptedLlm::start(wire, script).answer_untooled(summariser);
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    let outcome = c.send_user_message(TASK).await;
    s.runtime.close().await;
    let Outcome::Error(reason) = outcome else {
        panic!("{outcome:?}");
    };
    assert!(reason.contains("context window"), "{reason}");
    // Condensed before each retry (each forgetting more), then gave up: no endless loop.
    assert!(!condensations(&stream).is_empty());
    assert_eq!(agent_requests(&llm).len(), 4 + 4);
}

#[tokio::test]
async fn the_model_can_request_a_condensation_and_secrets_stay_out_of_the_summary() {
    let s = setup().await;
    const SECRET: &str = "tok-condense-5e3f9a";
    let mut script = steps(3);
    script.insert(
        0,
        tool("execute_bash", json!({"command": format!("echo {SECRET}")})),
    );
    script.insert(4, tool("request_condensation", json!({})));
    let llm = ScriptedLlm::start(Wire::OpenAi, script).answer_untooled(summariser);
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    stream.add_secret(SECRET);
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    s.runtime.close().await;
    let offered: Vec<String> = agent_requests(&llm)[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(offered.contains(&"request_condensation".to_owned()));
    assert_eq!(summariser_requests(&llm).len(), 1);
    let done = condensations(&stream);
    assert_eq!(done.len(), 1);
    let next = &agent_requests(&llm)[5];
    assert!(next.to_string().contains("commands summarised"));
    for body in llm.requests() {
        assert!(
            !body.to_string().contains(SECRET),
            "a secret reached the LLM"
        );
    }
    assert!(
        summariser_requests(&llm)[0]
            .to_string()
            .contains(SECRET_MASK)
    );
    assert_calls_paired(&stream);
}

#[tokio::test]
async fn a_failing_summariser_does_not_lose_the_task() {
    let s = setup().await;
    let mut script = steps(4);
    script.insert(3, tool("request_condensation", json!({})));
    let llm = ScriptedLlm::start(Wire::Anthropic, script).answer_untooled(|_, _| Reply::Status {
        status: 500,
        body: "summariser down".into(),
        retry_after: None,
    });
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    s.runtime.close().await;
    let done = condensations(&stream);
    assert_eq!(done.len(), 1);
    // The summariser's requests are read once: nothing is written to the cache for them.
    for body in summariser_requests(&llm) {
        assert!(!body.to_string().contains("cache_control"), "{body}");
    }
    let summary = done[0].summary.clone().unwrap();
    assert!(
        summary.contains("recorded without a summariser"),
        "{summary}"
    );
    assert!(summary.contains("echo step 0 of the task"), "{summary}");
}

/// The messages of the first request after `later`, for a conversation whose stored log is `history`.
async fn next_request(s: &super::Setup, history: Vec<openhands_lsp::events::Event>) -> Value {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![Reply::Text("Nothing more.".into())])
        .answer_untooled(summariser);
    let stream = Arc::new(EventStream::new(history, None));
    let mut c = Controller::new(
        stream,
        Llm::new(llm.config()).unwrap(),
        s.runtime.clone() as Arc<dyn Runtime>,
        agent(CondenserKind::Llm, 12),
    );
    c.send_user_message("Anything else?").await;
    agent_requests(&llm).remove(0)
}

#[tokio::test]
async fn a_resumed_condensed_conversation_sends_the_same_messages() {
    let s = setup().await;
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let meta = ConversationMeta::new(&ConversationId::generate(), s.workspace.clone());
    let id = meta.id.clone();
    let log = storage.create(meta).unwrap();
    let llm = ScriptedLlm::start(Wire::OpenAi, steps(12)).answer_untooled(summariser);
    let stream = Arc::new(EventStream::new(Vec::new(), Some(Box::new(log))));
    let mut c = Controller::new(
        stream.clone(),
        Llm::new(llm.config()).unwrap(),
        s.runtime.clone() as Arc<dyn Runtime>,
        agent(CondenserKind::Llm, 12),
    );
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    assert!(condensations(&stream).len() >= 2);
    let live = stream.events().iter().map(|e| (**e).clone()).collect();
    let stored = storage.load(&id).unwrap().events;
    assert_eq!(stored.len(), stream.len());
    let before = next_request(&s, live).await;
    let after = next_request(&s, stored).await;
    s.runtime.close().await;
    assert_eq!(after["messages"], before["messages"]);
    assert!(after.to_string().contains("commands summarised"));
}

/// The cache markers of an Anthropic request: where they are and how many.
fn breakpoints(body: &Value) -> (bool, bool, bool, usize) {
    let system = body["system"][0]["cache_control"]["type"] == "ephemeral";
    let tools = body["tools"].as_array().and_then(|t| t.last()).unwrap()["cache_control"]["type"]
        == "ephemeral";
    let last_user = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap();
    let end = last_user["content"].as_array().unwrap().last().unwrap()["cache_control"]["type"]
        == "ephemeral";
    let count = body.to_string().matches("cache_control").count();
    (system, tools, end, count)
}

fn priced(config: &LlmConfig, usages: &[crate::scripted_llm::Reported]) -> (f64, f64) {
    let input = config.input_cost_per_token.unwrap();
    let output = config.output_cost_per_token.unwrap();
    let read = config.cache_read_cost_per_token.unwrap_or(input);
    let write = config.cache_write_cost_per_token.unwrap_or(input);
    let mut cost = 0.0;
    let mut uncached = 0.0;
    for u in usages {
        let fresh = (u.prompt - u.cache_read - u.cache_write) as f64;
        cost += fresh * input
            + u.cache_read as f64 * read
            + u.cache_write as f64 * write
            + u.completion as f64 * output;
        uncached += u.prompt as f64 * input + u.completion as f64 * output;
    }
    (cost, uncached)
}

#[tokio::test]
async fn anthropic_requests_mark_the_cache_and_cached_tokens_are_priced() {
    let s = setup().await;
    let llm = ScriptedLlm::start(Wire::Anthropic, steps(5)).count_tokens();
    let config = LlmConfig {
        input_cost_per_token: Some(3e-6),
        output_cost_per_token: Some(15e-6),
        cache_read_cost_per_token: Some(0.3e-6),
        cache_write_cost_per_token: Some(3.75e-6),
        ..llm.config()
    };
    let (mut c, _stream) = controller(&s, config.clone(), AgentConfig::default());
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    s.runtime.close().await;
    for body in llm.requests() {
        let (system, tools, end, count) = breakpoints(&body);
        assert!(system && tools && end, "{body}");
        assert!(count <= 4, "at most 4 breakpoints, got {count}");
    }
    let usages = llm.usages();
    let m = c.metrics();
    assert_eq!(
        m.cache_read_tokens,
        usages.iter().map(|u| u.cache_read).sum::<u64>()
    );
    assert_eq!(
        m.cache_write_tokens,
        usages.iter().map(|u| u.cache_write).sum::<u64>()
    );
    // From the second request on, the tools, system prompt and earlier turns are read from the cache.
    assert!(
        usages[1..].iter().all(|u| u.cache_read * 2 > u.prompt),
        "{usages:?}"
    );
    let (cost, uncached) = priced(&config, &usages);
    assert!((m.cost - cost).abs() < 1e-9, "{} vs {cost}", m.cost);
    assert!(cost < uncached * 0.6, "{cost} vs {uncached}");
}

#[tokio::test]
async fn openai_requests_carry_a_prompt_cache_key_and_cached_tokens_are_priced() {
    let s = setup().await;
    let mut script = steps(5);
    // A strict server refuses the key once: it is dropped, never the task.
    script.insert(
        0,
        Reply::Status {
            status: 400,
            body: r#"{"error": {"message": "Unrecognized request argument supplied: prompt_cache_key", "type": "invalid_request_error"}}"#.into(),
            retry_after: None,
        },
    );
    let refusing = ScriptedLlm::start(Wire::OpenAi, script).count_tokens();
    let (c, _stream) = controller(&s, refusing.config(), AgentConfig::default());
    let mut c = c.with_cache_key("conversation-7");
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    let keys: Vec<Value> = refusing
        .requests()
        .iter()
        .map(|b| b["prompt_cache_key"].clone())
        .collect();
    assert_eq!(keys[0], json!("conversation-7"));
    assert!(keys[1..].iter().all(Value::is_null), "{keys:?}");

    let llm = ScriptedLlm::start(Wire::OpenAi, steps(5)).count_tokens();
    let config = LlmConfig {
        input_cost_per_token: Some(2.5e-6),
        output_cost_per_token: Some(10e-6),
        cache_read_cost_per_token: Some(1.25e-6),
        ..llm.config()
    };
    let (c, _stream) = controller(&s, config.clone(), AgentConfig::default());
    let mut c = c.with_cache_key("conversation-8");
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("All steps done.".into())
    );
    s.runtime.close().await;
    for body in llm.requests() {
        assert_eq!(body["prompt_cache_key"], json!("conversation-8"));
    }
    let usages = llm.usages();
    let m = c.metrics();
    assert!(m.cache_read_tokens > 0);
    assert_eq!(
        m.cache_read_tokens,
        usages.iter().map(|u| u.cache_read).sum::<u64>()
    );
    let (cost, uncached) = priced(&config, &usages);
    assert!((m.cost - cost).abs() < 1e-9, "{} vs {cost}", m.cost);
    assert!(cost < uncached);
}

#[test]
fn bad_condenser_settings_are_refused_with_a_clear_error() {
    let cases = [
        (
            "[condenser]\ntype = \"fancy\"",
            "unknown condenser type `fancy`",
        ),
        ("[condenser]\nmax_size = 0", "max_size must be at least 4"),
        (
            "[condenser]\nkeep_first = 0",
            "keep_first must be at least 1",
        ),
        ("[condenser]\nkeep_first = 60", "less than half of max_size"),
        ("[condenser]\nmax_size = \"big\"", "[condenser]"),
        ("[condenser]\nmax_sise = 10", "unknown field `max_sise`"),
        (
            "[llm]\nmax_input_tokens = 0",
            "`max_input_tokens` in [llm] must be at least 1000",
        ),
        ("[llm]\nmax_input_tokens = -5", "integer `-5`, expected u64"),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".openhands")).unwrap();
        std::fs::write(dir.path().join(".openhands/config.toml"), text).unwrap();
        let env = |k: &str| (k == "LLM_MODEL").then(|| "ollama/qwen3".to_owned());
        let error = openhands_lsp::config::resolve(dir.path(), &Default::default(), &env)
            .expect_err(text)
            .to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".openhands")).unwrap();
    std::fs::write(
        dir.path().join(".openhands/config.toml"),
        "[llm]\nmax_input_tokens = 6000\n[condenser]\ntype = \"observation_masking\"\nkeep_first = 2\nmax_size = 40\n",
    )
    .unwrap();
    let env = |k: &str| (k == "LLM_MODEL").then(|| "ollama/qwen3".to_owned());
    let settings = openhands_lsp::config::resolve(dir.path(), &Default::default(), &env).unwrap();
    assert_eq!(
        settings.agent.condenser,
        CondenserConfig {
            kind: CondenserKind::ObservationMasking,
            keep_first: 2,
            max_size: 40
        }
    );
    assert_eq!(settings.llm.context_window(), Some(6000));
}
