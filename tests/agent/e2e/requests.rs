//! Snapshots of the exact request bodies the model receives for one small task (system prompt, tools,
//! a command and its result) on each wire and with emulated tool calls, so that every change to what
//! the model sees shows up as a reviewed diff. Dates and temporary paths are masked.

use std::path::Path;

use expect_test::{ExpectFile, expect_file};
use openhands_lsp::agent::{AgentConfig, Outcome};
use openhands_lsp::llm::LlmConfig;
use openhands_lsp::runtime::Runtime;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::{controller, setup, tools};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

const TASK: &str = "Say hello in the shell, then finish.";

/// The second request of the task (everything the model has seen by then), pretty, with the
/// workspace, its temporary parent, today's date and this machine's Python masked.
async fn second_request(wire: Wire, native: bool) -> String {
    let s = setup().await;
    let script = if native {
        vec![
            Reply::Tools {
                text: "I'll echo it.".into(),
                calls: vec![("execute_bash".into(), json!({"command": "echo hello"}))],
            },
            tools(vec![("finish", json!({"message": "Said hello."}))]),
        ]
    } else {
        vec![
            Reply::Text(
                "I'll echo it.\n<function=execute_bash>\n<parameter=command>echo hello</parameter>\n</function>".into(),
            ),
            Reply::Text(
                "<function=finish>\n<parameter=message>Said hello.</parameter>\n</function>"
                    .into(),
            ),
        ]
    };
    let llm = ScriptedLlm::start(wire, script);
    let config = LlmConfig {
        native_tool_calling: Some(native),
        temperature: Some(0.0),
        ..llm.config()
    };
    let (mut c, _stream) = controller(&s, config, AgentConfig::default());
    assert_eq!(
        c.send_user_message(TASK).await,
        Outcome::Finished("Said hello.".into())
    );
    s.runtime.close().await;
    let body = serde_json::to_string_pretty(&llm.requests()[1]).expect("JSON");
    let parent = s.workspace.parent().unwrap_or(Path::new("/"));
    let today = &openhands_lsp::events::now_iso()[..10];
    let body = body
        .replace(&s.workspace.display().to_string(), "[WORKSPACE]")
        .replace(&parent.display().to_string(), "[TMP]")
        .replace(today, "[TODAY]");
    mask_python(&body)
}

/// `[Python interpreter: PATH]` as the runtime reports it, with the path masked.
fn mask_python(body: &str) -> String {
    const LABEL: &str = "[Python interpreter: ";
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(LABEL) {
        let start = at + LABEL.len();
        out.push_str(&rest[..start]);
        out.push_str("[PYTHON]");
        rest = &rest[start..];
        rest = &rest[rest.find(']').unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

async fn check(wire: Wire, native: bool, snapshot: ExpectFile) {
    snapshot.assert_eq(&second_request(wire, native).await);
}

#[tokio::test]
async fn openai_native_request() {
    check(
        Wire::OpenAi,
        true,
        expect_file!["requests/openai_native.json"],
    )
    .await;
}

#[tokio::test]
async fn anthropic_native_request() {
    check(
        Wire::Anthropic,
        true,
        expect_file!["requests/anthropic_native.json"],
    )
    .await;
}

#[tokio::test]
async fn openai_emulated_request() {
    check(
        Wire::OpenAi,
        false,
        expect_file!["requests/openai_emulated.json"],
    )
    .await;
}

/// The first request of a task in a workspace with instructions and a skill, without the system prompt
/// and tools (the snapshots above hold those): what the context adds and where.
async fn first_request_with_context(wire: Wire) -> String {
    use openhands_lsp::agent::context::Context;
    let s = setup().await;
    let write = |rel: &str, text: &str| {
        let path = s.workspace.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("AGENTS.md", "Run `cargo test` before finishing.");
    write("src/AGENTS.md", "Code under src/ has no `unwrap`.");
    write("src/lib.rs", "");
    write(
        ".agents/skills/deploy.md",
        "---\ntriggers: [deploy]\n---\nDeploy with `./deploy.sh staging`.",
    );
    let (context, warnings) = Context::load(&s.workspace, None, vec!["DEPLOY_TOKEN".into()]);
    assert_eq!(warnings, Vec::<String>::new());
    let llm = ScriptedLlm::start(
        wire,
        vec![tools(vec![("finish", json!({"message": "Done."}))])],
    );
    let config = LlmConfig {
        temperature: Some(0.0),
        ..llm.config()
    };
    let (c, _stream) = controller(&s, config, AgentConfig::default());
    let mut c = c.with_context(context);
    assert_eq!(
        c.send_user_message("Fix src/lib.rs, then deploy.").await,
        Outcome::Finished("Done.".into())
    );
    s.runtime.close().await;
    let mut body = llm.requests()[0].clone();
    let messages: Vec<serde_json::Value> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .cloned()
        .collect();
    body = json!({ "messages": messages });
    let body = serde_json::to_string_pretty(&body).expect("JSON");
    let today = &openhands_lsp::events::now_iso()[..10];
    body.replace(&s.workspace.display().to_string(), "[WORKSPACE]")
        .replace(today, "[TODAY]")
}

#[tokio::test]
async fn openai_request_with_context() {
    expect_file!["requests/openai_context.json"]
        .assert_eq(&first_request_with_context(Wire::OpenAi).await);
}

#[tokio::test]
async fn anthropic_request_with_context() {
    expect_file!["requests/anthropic_context.json"]
        .assert_eq(&first_request_with_context(Wire::Anthropic).await);
}
