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
