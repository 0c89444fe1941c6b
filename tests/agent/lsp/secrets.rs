//! The LSP front end masks what the CLI masks (they share one session layer): the runtime's key found by a
//! command, and a key typed in the prompt, never reach a message, progress report, rich update or the title.

use serde_json::json;

use super::super::secrets::probe_llm;
use super::Editor;

#[test]
fn no_lsp_message_carries_a_secret() {
    let llm = probe_llm();
    let mut ed = Editor::start(&llm);
    ed.initialize_with(true, json!({"openhands": {"ui": "rich"}}));
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["probe with sk-test-secret"]}),
    );
    assert!(r.get("error").is_none(), "{r}");
    ed.wait_for("the end of the task", |m| {
        m["method"] == "openhands/taskState" && m["params"]["state"] == "finished"
    });
    let all = serde_json::to_string(&ed.seen).unwrap();
    assert!(!all.contains("sk-test-secret"), "{all}");
    assert!(!all.contains("terces-tset-ks"), "{all}");
    assert!(all.contains("SESSION_API_KEY=<secret_hidden>"), "{all}");
    assert!(all.contains("probe with <secret_hidden>"), "{all}");
    let list = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.conversation.list", "arguments": []}),
    );
    assert_eq!(
        list["result"][0]["title"],
        json!("probe with <secret_hidden>"),
        "{list}"
    );
    ed.shutdown();
}

#[test]
fn named_secrets_are_usable_and_no_lsp_message_carries_them() {
    use super::super::secrets::{DEPLOY_TOKEN, FROM_ENV, secrets_llm, write_secrets_config};
    let llm = secrets_llm();
    let mut ed = Editor::start_with_env(&llm, &[("OPENHANDS_SECRET_FROM_ENV", FROM_ENV)]);
    let home = ed.ws.parent().unwrap().to_owned();
    write_secrets_config(
        &home.join("config"),
        &format!("[secrets]\nDEPLOY_TOKEN = \"{DEPLOY_TOKEN}\"\n"),
    );
    ed.initialize_with(true, json!({"openhands": {"ui": "rich"}}));
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["deploy it"]}),
    );
    assert!(r.get("error").is_none(), "{r}");
    ed.wait_for("the end of the task", |m| {
        m["method"] == "openhands/taskState" && m["params"]["state"] == "finished"
    });
    let all = serde_json::to_string(&ed.seen).unwrap();
    // The shell had the values (`wc -c` of "ok-VALUE\n"), and `env` showed them masked.
    assert!(
        all.contains(&format!("{}\\n", DEPLOY_TOKEN.len() + 4)),
        "{all}"
    );
    assert!(all.contains(&format!("{}\\n", FROM_ENV.len() + 4)), "{all}");
    assert!(all.contains("DEPLOY_TOKEN=<secret_hidden>"), "{all}");
    let transcripts = ed.ws.join(".openhands/transcripts");
    let md = std::fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("a transcript");
    let md = std::fs::read_to_string(md).unwrap();
    let requests = serde_json::to_string(&llm.requests()).unwrap();
    for (what, text) in [
        ("an LSP message", &all),
        ("the transcript", &md),
        ("a request", &requests),
    ] {
        for value in [DEPLOY_TOKEN, FROM_ENV] {
            assert!(!text.contains(value), "{value} in {what}: {text}");
        }
    }
    ed.shutdown();
}
