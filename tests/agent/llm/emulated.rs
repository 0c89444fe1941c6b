//! Text tool-call emulation end to end: what goes on the wire for a model without native tools, and
//! how its `<function=…>` reply comes back as tool calls.

use expect_test::expect;
use openhands_lsp::llm::{Llm, LlmConfig, ToolCall};
use pretty_assertions::assert_eq;
use serde_json::Value;

use super::{WIRES, history, run, texts};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

/// The system prompt text of a request, on either wire.
fn system_text(wire: Wire, body: &Value) -> String {
    let text = match wire {
        Wire::OpenAi => &body["messages"][0]["content"],
        Wire::Anthropic => &body["system"][0]["text"],
    };
    text.as_str().unwrap_or_default().to_string()
}

/// Every message after the system prompt as `role: text`.
fn conversation(wire: Wire, body: &Value) -> String {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let skip = if wire == Wire::OpenAi { 1 } else { 0 };
    let shown: Vec<String> = messages
        .iter()
        .skip(skip)
        .map(|m| {
            let text = match &m["content"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join(""),
                _ => String::new(),
            };
            assert!(
                m.get("tool_calls").is_none() && m.get("tool_call_id").is_none(),
                "{m}"
            );
            format!("{}: {text}", m["role"].as_str().unwrap_or_default())
        })
        .collect();
    shown.join("\n---\n")
}

#[tokio::test]
async fn emulated_round_trip_on_both_wires() {
    let reply =
        "I'll list them.\n<function=execute_bash>\n<parameter=command>\nls -la\n</parameter>\n";
    for wire in WIRES {
        for stream in [true, false] {
            let server = ScriptedLlm::start(wire, vec![Reply::Text(reply.into())]);
            let config = LlmConfig {
                native_tool_calling: Some(false),
                stream,
                ..server.config()
            };
            assert!(
                !Llm::new(config.clone())
                    .expect("config")
                    .uses_native_tools()
            );
            let (result, events) = run(config, &history()).await;
            let response = result.expect("answer");
            assert_eq!(response.content, "I'll list them.");
            let call = ToolCall {
                id: "toolu_02".into(),
                name: "execute_bash".into(),
                arguments: r#"{"command":"ls -la"}"#.into(),
            };
            assert_eq!(response.tool_calls, vec![call], "{wire:?} stream={stream}");
            assert_eq!(
                texts(&events).concat(),
                "I'll list them.\n",
                "the markup is not streamed"
            );

            let body = &server.requests()[0];
            assert!(body.get("tools").is_none(), "no native tools: {body}");
            let stop = if wire == Wire::OpenAi {
                &body["stop"]
            } else {
                &body["stop_sequences"]
            };
            assert_eq!(stop, &serde_json::json!(["</function"]));
            expect![[r#"
                You are a helpful agent.
                You have access to the following functions:

                ---- BEGIN FUNCTION #1: execute_bash ----
                Description: Run a bash command.
                Parameters:
                  (1) command (string, required): The command to run.
                ---- END FUNCTION #1 ----


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

                <EXAMPLE>
                A made-up exchange showing the format at work (its task is not yours):

                USER: How many TODO comments are left in src/main.rs?

                ASSISTANT: Counting them with grep is quickest.
                <function=execute_bash>
                <parameter=command>grep -c TODO src/main.rs</parameter>
                </function>

                USER: EXECUTION RESULT of [execute_bash]:
                3

                One call per message, each waiting for the result of the one before.
                </EXAMPLE>
            "#]]
            .assert_eq(&system_text(wire, body));
            expect![[r#"
                user: List the files.

                (Format reminder: each of your messages holds at most one <function=...> call, placed last. Stop right after its </function> and wait: its result arrives in the next message.)
                ---
                assistant: Let me look.

                <function=execute_bash>
                <parameter=command>pwd</parameter>
                </function>
                ---
                user: EXECUTION RESULT of [execute_bash]:
                /work"#]]
            .assert_eq(&conversation(wire, body));
        }
    }
}

#[tokio::test]
async fn emulated_plain_answer_and_malformed_call() {
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Text("All done, no tools needed.".into()),
            Reply::Text("<function=execute_bash\n".into()),
        ],
    );
    let config = LlmConfig {
        native_tool_calling: Some(false),
        ..server.config()
    };
    let response = run(config.clone(), &history()).await.0.expect("answer");
    assert_eq!(
        (response.content.as_str(), response.tool_calls.len()),
        ("All done, no tools needed.", 0)
    );
    let response = run(config, &history()).await.0.expect("answer");
    let call = ToolCall {
        id: "toolu_02".into(),
        name: "execute_bash".into(),
        arguments: "{}".into(),
    };
    assert_eq!(
        response.tool_calls,
        vec![call],
        "the agent reports the missing `command`"
    );
}

/// Native tool calls are the default for every model name (the name lists went out of date); only the
/// setting turns them off.
#[tokio::test]
async fn native_tools_are_the_default_for_every_model() {
    let server = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let native = |model: &str, setting: Option<bool>| {
        let config = LlmConfig {
            model: model.into(),
            native_tool_calling: setting,
            ..server.config()
        };
        Llm::new(config).expect("config").uses_native_tools()
    };
    let got: Vec<bool> = [
        "gpt-4o",
        "claude-sonnet-4-5",
        "glm-4.6",
        "kimi-k2.5",
        "llama3.1:8b",
    ]
    .into_iter()
    .map(|m| native(m, None))
    .collect();
    assert_eq!(got, vec![true; 5]);
    assert!(!native("gpt-4o", Some(false)));
}

/// A server that refuses `tools` (Ollama's answer for a model without tool support) gets the same request
/// in the text emulation at once, and every later request to that model goes emulated from the start.
#[tokio::test]
async fn a_server_that_refuses_tools_gets_the_emulation_and_is_remembered() {
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Status {
                status: 400,
                body: r#"{"error":{"message":"registry.ollama.ai/library/tiny:1b does not support tools"}}"#
                    .into(),
                retry_after: None,
            },
            Reply::Text("first answer".into()),
            Reply::Text("second answer".into()),
        ],
    );
    let config = LlmConfig {
        model: "tiny:1b".into(),
        native_tool_calling: None,
        num_retries: 0,
        ..server.config()
    };
    assert!(
        Llm::new(config.clone())
            .expect("config")
            .uses_native_tools()
    );
    let (first, _) = run(config.clone(), &super::request()).await;
    assert_eq!(
        first.expect("answered in the emulation").content,
        "first answer"
    );
    let (second, _) = run(config.clone(), &super::request()).await;
    assert_eq!(second.expect("answered").content, "second answer");
    let bodies = server.requests();
    let has_tools: Vec<bool> = bodies.iter().map(|b| b.get("tools").is_some()).collect();
    assert_eq!(
        has_tools,
        [true, false, false],
        "refused, then emulated twice"
    );
    assert!(!Llm::new(config).expect("config").uses_native_tools());
}

#[tokio::test]
async fn emulated_requests_carry_a_worked_example_and_the_one_call_reminder() {
    let example_marker = "<EXAMPLE>";
    let reminder = "each of your messages holds at most one <function=...> call";
    for wire in WIRES {
        for native in [false, true] {
            let server = ScriptedLlm::start(wire, vec![Reply::Text("ok".into())]);
            let config = LlmConfig {
                native_tool_calling: Some(native),
                ..server.config()
            };
            run(config, &history()).await.0.expect("answer");
            let body = &server.requests()[0];
            let system = system_text(wire, body);
            let whole = body.to_string();
            assert_eq!(
                (
                    whole.contains(example_marker),
                    system.contains("<function=execute_bash>\n<parameter=command>grep -c TODO"),
                    whole.contains(reminder),
                ),
                (!native, !native, !native),
                "{wire:?} native={native}: {body}"
            );
        }
    }
}
