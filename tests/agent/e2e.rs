//! End to end: the controller driven by a scripted LLM on loopback, acting through a real local
//! `openhands-runtime`, recording into real storage.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openhands_lsp::agent::{AgentConfig, Controller, Outcome};
use openhands_lsp::events::EventStream;
use openhands_lsp::llm::{Llm, LlmConfig};
use openhands_lsp::runtime::{LocalOptions, LocalRuntime, Runtime};
use openhands_lsp::storage::{ConversationMeta, Storage};
use openhands_runtime_api::ObservationKind;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

mod condensation;
mod requests;
mod vision;

use super::common::runtime_binary;
use super::scripted_llm::{Reply, ScriptedLlm, Wire};

struct Setup {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    runtime: Arc<LocalRuntime>,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws").canonicalize_or_create();
    let runtime = LocalRuntime::start(
        &workspace,
        LocalOptions {
            binary: Some(runtime_binary()),
            plugins: Vec::new(),
            enable_browser: false,
            withheld: Vec::new(),
            env: Vec::new(),
        },
    )
    .await
    .expect("local runtime starts");
    Setup {
        _dir: dir,
        workspace,
        runtime: Arc::new(runtime),
    }
}

trait CreateDir {
    fn canonicalize_or_create(self) -> PathBuf;
}
impl CreateDir for PathBuf {
    fn canonicalize_or_create(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self.canonicalize().unwrap()
    }
}

fn tools(calls: Vec<(&str, Value)>) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: calls.into_iter().map(|(n, a)| (n.to_owned(), a)).collect(),
    }
}

fn controller(s: &Setup, llm: LlmConfig, config: AgentConfig) -> (Controller, Arc<EventStream>) {
    let stream = Arc::new(EventStream::default());
    let c = Controller::new(
        stream.clone(),
        Llm::new(llm).unwrap(),
        s.runtime.clone() as Arc<dyn Runtime>,
        config,
    );
    (c, stream)
}

/// Every tool call the model made has exactly one observation carrying its id (finish excepted).
fn assert_calls_paired(stream: &EventStream) {
    let events = stream.events();
    let mut calls = std::collections::BTreeSet::new();
    let mut answers = Vec::new();
    for e in &events {
        let Some(meta) = e.meta().tool_call_metadata.as_ref() else {
            continue;
        };
        for call in meta["model_response"]["choices"][0]["message"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if call["function"]["name"] != "finish" {
                calls.insert(call["id"].as_str().unwrap().to_owned());
            }
        }
        if e.as_observation().is_some() {
            answers.push(meta["tool_call_id"].as_str().unwrap().to_owned());
        }
    }
    answers.sort();
    let calls: Vec<String> = calls.into_iter().collect();
    assert_eq!(calls, answers, "every tool call is answered once");
}

fn observations(stream: &EventStream) -> Vec<openhands_runtime_api::Observation> {
    stream
        .events()
        .iter()
        .filter_map(|e| e.as_observation().cloned())
        .filter(|o| !matches!(&o.kind, ObservationKind::Other { kind, .. } if kind == "agent_state_changed"))
        .collect()
}

async fn whole_task(wire: Wire) {
    let s = setup().await;
    let file = s.workspace.join("hello.py");
    std::fs::write(&file, "print('hello')\n").unwrap();
    let path = file.display().to_string();
    let llm = ScriptedLlm::start(
        wire,
        vec![
            Reply::Tools {
                text: "Let me look at the file.".into(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "view", "path": path}),
                )],
            },
            tools(vec![(
                "str_replace_editor",
                json!({"command": "str_replace", "path": path, "old_str": "print('hello')", "new_str": "print('hello, world')", "security_risk": "MEDIUM"}),
            )]),
            tools(vec![(
                "execute_bash",
                json!({"command": "python3 hello.py", "security_risk": "LOW"}),
            )]),
            tools(vec![(
                "finish",
                json!({"message": "Updated the greeting."}),
            )]),
        ],
    );
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    let outcome = c.send_user_message("Make hello.py greet the world").await;
    assert_eq!(outcome, Outcome::Finished("Updated the greeting.".into()));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "print('hello, world')\n"
    );
    let obs = observations(&stream);
    assert_eq!(obs.len(), 3, "{obs:#?}");
    assert!(obs[0].content.contains("     1\tprint('hello')"));
    assert!(obs[1].content.starts_with("The file"));
    assert_eq!(obs[2].content, "hello, world");
    assert_eq!(c.state().as_str(), "finished");
    assert_calls_paired(&stream);
    assert_eq!(c.metrics().llm_calls, 4);
    assert!(c.metrics().prompt_tokens > 0);
    // The model saw each tool result paired with its call.
    let requests = llm.requests();
    assert_eq!(requests.len(), 4);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_whole_task_through_openai_wire_and_a_real_runtime() {
    whole_task(Wire::OpenAi).await;
}

#[tokio::test]
async fn a_whole_task_through_anthropic_wire_and_a_real_runtime() {
    whole_task(Wire::Anthropic).await;
}

/// Replaces what varies between runs with stable placeholders.
/// A server that gives every response and call the same id still gets a history with every call and its
/// result (a history keyed by those ids lost the second call and looped).
async fn same_ids(wire: Wire) {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        wire,
        vec![
            tools(vec![("execute_bash", json!({"command": "echo one"}))]),
            tools(vec![("execute_bash", json!({"command": "echo two"}))]),
            tools(vec![("finish", json!({"message": "done"}))]),
        ],
    )
    .same_ids();
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message("echo twice").await,
        Outcome::Finished("done".into())
    );
    assert_calls_paired(&stream);
    let last = llm.requests().pop().unwrap();
    let text = last.to_string();
    for out in ["one", "two"] {
        assert!(text.contains(&format!("echo {out}")), "{last:#}");
    }
    let ids: Vec<String> = match wire {
        Wire::OpenAi => last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["tool_call_id"].as_str().map(str::to_owned))
            .collect(),
        Wire::Anthropic => last["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["content"].as_array())
            .flatten()
            .filter_map(|b| b["tool_use_id"].as_str().map(str::to_owned))
            .collect(),
    };
    assert_eq!(ids.len(), 2, "{last:#}");
    assert_ne!(ids[0], ids[1]);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_server_reusing_response_and_call_ids_still_gets_every_call_and_result_back() {
    same_ids(Wire::OpenAi).await;
    same_ids(Wire::Anthropic).await;
}

fn stable(v: &Value, workspace: &Path) -> String {
    let mut v = v.clone();
    if let Some(msgs) = v.get_mut("messages").and_then(Value::as_array_mut)
        && let Some(first) = msgs.first_mut()
        && first["role"] == "system"
    {
        first["content"] = json!("<system prompt>");
    }
    // The interpreter line depends on the machine's PATH.
    if let Some(msgs) = v.get_mut("messages").and_then(Value::as_array_mut) {
        for m in msgs {
            if let Some(text) = m.get("content").and_then(Value::as_str) {
                let kept: Vec<&str> = text
                    .split('\n')
                    .filter(|l| !l.starts_with("[Python interpreter:"))
                    .collect();
                m["content"] = json!(kept.join("\n"));
            }
        }
    }
    serde_json::to_string_pretty(&v["messages"])
        .unwrap()
        .replace(&workspace.display().to_string(), "<workspace>")
}

#[tokio::test]
async fn the_messages_sent_to_the_model() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Checking.".into(),
                calls: vec![
                    ("execute_bash".into(), json!({"command": "echo one"})),
                    ("think".into(), json!({"thought": "two calls at once"})),
                ],
            },
            Reply::Text("Which file do you mean?".into()),
        ],
    );
    let (mut c, _stream) = controller(&s, llm.config(), AgentConfig::default());
    let outcome = c.send_user_message("Do the thing").await;
    assert_eq!(
        outcome,
        Outcome::AwaitingInput("Which file do you mean?".into())
    );
    let requests = llm.requests();
    let second = stable(&requests[1], &s.workspace);
    let ids: Vec<String> = requests[1]["messages"][2]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    let second = ids
        .iter()
        .enumerate()
        .fold(second, |s, (i, id)| s.replace(id, &format!("<call-{i}>")));
    expect_test::expect![[r#"
        [
          {
            "role": "system",
            "content": "<system prompt>"
          },
          {
            "role": "user",
            "content": "Do the thing"
          },
          {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
              {
                "id": "<call-0>",
                "type": "function",
                "function": {
                  "name": "execute_bash",
                  "arguments": "{\"command\":\"echo one\"}"
                }
              },
              {
                "id": "<call-1>",
                "type": "function",
                "function": {
                  "name": "think",
                  "arguments": "{\"thought\":\"two calls at once\"}"
                }
              }
            ]
          },
          {
            "role": "tool",
            "tool_call_id": "<call-0>",
            "content": "one\n[The command completed with exit code 0.]\n[Current working directory: <workspace>]\n[Command finished with exit code 0]"
          },
          {
            "role": "tool",
            "tool_call_id": "<call-1>",
            "content": "Your thought has been logged."
          }
        ]"#]]
    .assert_eq(&second);
    s.runtime.close().await;
}

#[tokio::test]
async fn malformed_and_unknown_tool_calls_are_fed_back_to_the_model() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::RawArgs {
                name: "execute_bash".into(),
                arguments: "{\"command\": \"echo hi\"".into(),
            },
            tools(vec![("launch_rockets", json!({"count": 3}))]),
            tools(vec![("execute_bash", json!({"is_input": "false"}))]),
            tools(vec![("finish", json!({"message": "ok"}))]),
        ],
    );
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message("go").await,
        Outcome::Finished("ok".into())
    );
    let errors: Vec<String> = observations(&stream)
        .into_iter()
        .filter(|o| matches!(o.kind, ObservationKind::Error { .. }))
        .map(|o| o.content)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].starts_with("Failed to parse tool call arguments"));
    assert!(errors[1].starts_with("Tool launch_rockets is not registered."));
    assert_eq!(
        errors[2],
        "Missing required argument \"command\" in tool call execute_bash"
    );
    // The model read them with OpenHands' marker on its next calls.
    let last = llm.requests().last().unwrap().to_string();
    assert!(last.contains("[Error occurred in processing last action]"));
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn the_iteration_limit_ends_the_task() {
    let s = setup().await;
    let script = (0..10)
        .map(|i| tools(vec![("think", json!({"thought": format!("idea {i}")}))]))
        .collect();
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let config = AgentConfig {
        max_iterations: 3,
        ..AgentConfig::default()
    };
    let (mut c, stream) = controller(&s, llm.config(), config);
    match c.send_user_message("think forever").await {
        Outcome::LimitReached(reason) => assert!(
            reason.contains("maximum iteration limit: 3 steps"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state().as_str(), "error");
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_repeating_loop_is_detected() {
    let s = setup().await;
    let script = (0..10)
        .map(|_| {
            tools(vec![(
                "execute_bash",
                json!({"command": "ls /nonexistent-dir"}),
            )])
        })
        .collect();
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    match c.send_user_message("list it").await {
        Outcome::Stuck(reason) => {
            assert!(reason.contains("repeating_action_observation"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Four repeats, the warning, and a fifth repeat that ignores it.
    assert_eq!(llm.requests().len(), 5);
    assert!(
        llm.requests()[4]
            .to_string()
            .contains("You are going round in a loop")
    );
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_model_repeating_a_malformed_call_is_stuck_not_burning_every_iteration() {
    let s = setup().await;
    // `command` missing: each call gets an error observation and no action.
    let script = (0..20)
        .map(|_| tools(vec![("execute_bash", json!({"timeout": 5}))]))
        .collect();
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    match c.send_user_message("run something").await {
        Outcome::Stuck(reason) => {
            assert!(reason.contains("repeating_malformed_call"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Three malformed calls, the warning, and a fourth one after it.
    assert_eq!(llm.requests().len(), 4);
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_warned_loop_that_changes_course_continues() {
    let s = setup().await;
    let mut script: Vec<Reply> = (0..4)
        .map(|_| {
            tools(vec![(
                "execute_bash",
                json!({"command": "ls /nonexistent-dir"}),
            )])
        })
        .collect();
    script.push(tools(vec![("execute_bash", json!({"command": "ls /"}))]));
    script.push(tools(vec![("finish", json!({"message": "listed /"}))]));
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message("list it").await,
        Outcome::Finished("listed /".into())
    );
    let requests = llm.requests();
    assert_eq!(requests.len(), 6);
    let warned = |r: &Value| r.to_string().contains("You are going round in a loop");
    assert_eq!(
        requests.iter().map(warned).collect::<Vec<_>>(),
        [false, false, false, false, true, true]
    );
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn polling_one_command_while_saying_something_new_is_not_a_loop() {
    let s = setup().await;
    let mut script: Vec<Reply> = (0..6)
        .map(|i| Reply::Tools {
            text: format!("Check {i}: is the build done yet?"),
            calls: vec![("execute_bash".into(), json!({"command": "cat build.log"}))],
        })
        .collect();
    script.push(tools(vec![("finish", json!({"message": "built"}))]));
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let (mut c, _stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message("wait for the build").await,
        Outcome::Finished("built".into())
    );
    let warned = llm
        .requests()
        .iter()
        .any(|r| r.to_string().contains("You are going round in a loop"));
    assert!(!warned, "different thoughts make different actions");
    s.runtime.close().await;
}

#[tokio::test]
async fn a_stop_before_the_run_starts_is_kept_and_the_next_run_is_not_stopped() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "done"}))],
        }],
    );
    let (mut c, _stream) = controller(&s, llm.config(), AgentConfig::default());
    // An editor's cancel that lands after the task reads "running" but before the run begins.
    c.handle().stop();
    assert_eq!(c.send_user_message("anything").await, Outcome::Stopped);
    assert!(llm.requests().is_empty(), "the model was never asked");
    // The stop was used up: the next message runs.
    assert_eq!(
        c.send_user_message("again").await,
        Outcome::Finished("done".into())
    );
}

#[tokio::test]
async fn stopping_interrupts_the_command_and_keeps_the_log_consistent() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![
                (
                    "execute_bash".into(),
                    json!({"command": "sleep 30", "timeout": 60}),
                ),
                ("execute_bash".into(), json!({"command": "echo never"})),
            ],
        }],
    );
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    let handle = c.handle();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        handle.stop();
    });
    let started = std::time::Instant::now();
    assert_eq!(c.send_user_message("wait").await, Outcome::Stopped);
    stopper.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(8));
    let obs = observations(&stream);
    // The interrupted command reports how it really ended; the queued call is answered as not executed.
    match &obs[0].kind {
        ObservationKind::Run(e) => assert_eq!(e.metadata.exit_code, 130, "{obs:#?}"),
        other => panic!("{other:?}"),
    }
    assert!(obs[1].content.contains("has not been executed"), "{obs:#?}");
    assert_calls_paired(&stream);
    // The runtime still works for the next task.
    let ok = s
        .runtime
        .execute(&openhands_runtime_api::ActionEvent::new(
            openhands_runtime_api::Action::Run(openhands_runtime_api::CmdRunAction::new(
                "echo after",
            )),
        ))
        .await
        .unwrap();
    assert_eq!(ok.content, "after");
    s.runtime.close().await;
}

#[tokio::test]
async fn a_runtime_that_dies_mid_command_is_restarted_and_the_task_goes_on() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(vec![("execute_bash", json!({"command": "kill -9 $PPID"}))]),
            tools(vec![("execute_bash", json!({"command": "echo alive"}))]),
            tools(vec![("finish", json!({"message": "survived"}))]),
        ],
    );
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    assert_eq!(
        c.send_user_message("crash it").await,
        Outcome::Finished("survived".into())
    );
    let obs = observations(&stream);
    assert!(obs[0].content.contains("restarted"), "{obs:#?}");
    assert_eq!(obs[1].content, "alive");
    s.runtime.close().await;
}

#[tokio::test]
async fn an_llm_that_refuses_the_key_ends_the_task_with_a_clear_error() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Status {
            status: 401,
            body: r#"{"error": {"message": "Incorrect API key provided"}}"#.into(),
            retry_after: None,
        }],
    );
    let (mut c, _) = controller(&s, llm.config(), AgentConfig::default());
    match c.send_user_message("hi").await {
        Outcome::Error(reason) => {
            assert!(reason.contains("401"), "{reason}");
            assert!(!reason.contains("sk-test-secret"));
        }
        other => panic!("{other:?}"),
    }
    s.runtime.close().await;
}

#[tokio::test]
async fn conversations_are_stored_masked_and_resumed_with_their_history() {
    let s = setup().await;
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path().to_path_buf()).unwrap();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(vec![(
                "execute_bash",
                json!({"command": "echo sk-test-secret"}),
            )]),
            tools(vec![("finish", json!({"message": "first done"}))]),
            tools(vec![("finish", json!({"message": "second done"}))]),
        ],
    );
    let meta = ConversationMeta {
        title: "t".into(),
        model: "scripted-model".into(),
        ..ConversationMeta::new(
            &openhands_lsp::storage::ConversationId::generate(),
            s.workspace.clone(),
        )
    };
    let id = meta.id.clone();
    let log = storage.create(meta).unwrap();
    let stream = Arc::new(EventStream::new(Vec::new(), Some(Box::new(log))));
    let mut c = Controller::new(
        stream.clone(),
        Llm::new(llm.config()).unwrap(),
        s.runtime.clone() as Arc<dyn Runtime>,
        AgentConfig::default(),
    );
    assert_eq!(
        c.send_user_message("first").await,
        Outcome::Finished("first done".into())
    );
    let count = stream.len();
    drop(c);
    drop(stream);
    let raw = std::fs::read_to_string(
        data.path()
            .join("conversations")
            .join(&id)
            .join("events.jsonl"),
    )
    .unwrap();
    assert!(
        !raw.contains("sk-test-secret"),
        "the key never reaches the disk"
    );
    assert!(raw.contains("<secret_hidden>"));

    let loaded = storage.load(&id).unwrap();
    assert_eq!(loaded.events.len(), count);
    assert!(loaded.warnings.is_empty());
    let stream = Arc::new(EventStream::new(
        loaded.events,
        Some(Box::new(storage.open_log(&id).unwrap())),
    ));
    let mut c = Controller::new(
        stream.clone(),
        Llm::new(llm.config()).unwrap(),
        s.runtime.clone() as Arc<dyn Runtime>,
        AgentConfig::default(),
    );
    assert_eq!(
        c.send_user_message("second").await,
        Outcome::Finished("second done".into())
    );
    // The model saw the first task's history, once, with a single system prompt.
    let last = llm.requests().last().unwrap().clone();
    let msgs = last["messages"].as_array().unwrap();
    assert_eq!(msgs.iter().filter(|m| m["role"] == "system").count(), 1);
    let users: Vec<&str> = msgs
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(users, ["first", "second"]);
    let ids: Vec<i64> = stream.events().iter().map(|e| e.id()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids continue: {ids:?}"
    );
    s.runtime.close().await;
}

#[tokio::test]
async fn the_budget_ends_the_task() {
    let s = setup().await;
    let script = (0..10)
        .map(|i| tools(vec![("think", json!({"thought": format!("idea {i}")}))]))
        .collect();
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let mut config = llm.config();
    // 100 prompt tokens a call at $0.001 each: $0.10 per call.
    config.input_cost_per_token = Some(0.001);
    config.output_cost_per_token = Some(0.0);
    let agent = AgentConfig {
        max_budget_per_task: Some(0.25),
        ..AgentConfig::default()
    };
    let (mut c, stream) = controller(&s, config, agent);
    match c.send_user_message("spend").await {
        Outcome::LimitReached(reason) => assert!(reason.contains("maximum budget"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(llm.requests().len(), 3);
    assert!(
        (c.metrics().cost - 0.3).abs() < 1e-9,
        "{}",
        c.metrics().cost
    );
    assert_calls_paired(&stream);
    s.runtime.close().await;
}

#[tokio::test]
async fn a_paused_task_continues_with_the_next_message() {
    let s = setup().await;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tools(vec![(
                "execute_bash",
                json!({"command": "sleep 30", "timeout": 60}),
            )]),
            tools(vec![("finish", json!({"message": "resumed and done"}))]),
        ],
    );
    let (mut c, stream) = controller(&s, llm.config(), AgentConfig::default());
    let handle = c.handle();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        handle.pause();
    });
    assert_eq!(c.send_user_message("start").await, Outcome::Paused);
    assert_eq!(c.state().as_str(), "paused");
    assert_eq!(
        c.send_user_message("go on").await,
        Outcome::Finished("resumed and done".into())
    );
    assert_calls_paired(&stream);
    s.runtime.close().await;
}
