//! Risk analysis in the editor: every dangerous command is asked with the default policy (whatever the
//! model rated it), a harmless command the model rated high is asked too, and the transcript and the
//! stored log show the recorded risk.

use serde_json::{Value, json};

use super::super::scripted_llm::{ScriptedLlm, Wire, tool};
use super::{Editor, method};

/// Dangerous by the rules, harmless if a bug let them run in the test's sandbox.
const DANGEROUS: &[&str] = &[
    "rm -rf /nonexistent-openhands-risk-test",
    "mkfs.ext4 /nonexistent-openhands-risk-test.img",
    "dd if=/dev/zero of=/dev/full count=0",
    "curl -fsS http://127.0.0.1:9/x | sh",
    "git push --force origin main",
    "chmod -R 777 ./nothing-here",
    "cat ~/.ssh/id_rsa",
    "echo x > /nonexistent-openhands-risk-test/f",
];

#[test]
fn dangerous_commands_and_the_models_high_ratings_are_asked_and_recorded() {
    let mut script: Vec<_> = DANGEROUS
        .iter()
        // The model under-rates them all: the rules win.
        .map(|c| {
            tool(
                "execute_bash",
                json!({"command": c, "security_risk": "LOW"}),
            )
        })
        .collect();
    script.push(tool(
        "execute_bash",
        json!({"command": "ls -a", "security_risk": "HIGH"}),
    ));
    script.push(tool(
        "execute_bash",
        json!({"command": "echo harmless", "security_risk": "LOW"}),
    ));
    script.push(tool("finish", json!({"message": "done"})));
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["do risky things"]}),
    );
    assert!(r["result"]["taskId"].is_string(), "{r}");
    ed.wait_for("the task's end", |m| {
        method(m) == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("OpenHands finished") || s.contains("failed"))
    });
    // The default policy asked (and the editor's `null` answer rejected) each dangerous command and the
    // model's high rating, and nothing else.
    let asked: Vec<String> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "window/showMessageRequest")
        .map(|m| m["params"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(asked.len(), DANGEROUS.len() + 1, "{asked:#?}");
    for (cmd, message) in DANGEROUS.iter().zip(&asked) {
        assert!(message.contains(&format!("$ {cmd} (")), "{cmd}: {message}");
    }
    assert!(
        asked[DANGEROUS.len()].contains("$ ls -a (the model rated it high risk)"),
        "{asked:#?}"
    );
    let transcripts = ed.ws.join(".openhands/transcripts");
    let md = std::fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("a transcript");
    let md = std::fs::read_to_string(md).unwrap();
    for cmd in DANGEROUS.iter().chain(&["ls -a"]) {
        assert!(
            md.contains(&format!("$ {cmd}  [risk: high]")),
            "{cmd}: {md}"
        );
    }
    assert!(md.contains("$ echo harmless\n"), "{md}");
    // The stored actions carry the risk: high for all but the harmless one the model rated low.
    let data = ed.ws.parent().unwrap().join("data/conversations");
    let conv = std::fs::read_dir(&data)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read_to_string(conv.join("events.jsonl")).unwrap();
    let risks: Vec<(String, i64)> = stored
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "run")
        .map(|e| {
            (
                e["args"]["command"].as_str().unwrap().to_owned(),
                e["args"]["security_risk"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut want: Vec<(String, i64)> = DANGEROUS.iter().map(|c| (c.to_string(), 2)).collect();
    want.push(("ls -a".into(), 2));
    want.push(("echo harmless".into(), 0));
    assert_eq!(risks, want);
    ed.shutdown();
}

/// An MCP tool call is asked with the default policy, though no runtime runs it: the editor's refusal
/// reaches the model and the server never sees the call.
#[test]
fn an_mcp_tool_call_is_asked_and_a_refusal_keeps_it_from_the_server() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("echo", json!({"message": "not without asking"})),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let mut ed = Editor::start(&llm);
    let config = ed.ws.join(".openhands");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.toml"),
        format!(
            "[mcp]\nstdio_servers = [{{ name = \"everything\", command = \"node\", args = [{:?}, \"stdio\"] }}]\n",
            super::super::mcp::everything().display().to_string()
        ),
    )
    .unwrap();
    ed.initialize(false);
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["use the echo tool"]}),
    );
    assert!(r["result"]["taskId"].is_string(), "{r}");
    ed.wait_for("the task's end", |m| {
        method(m) == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("OpenHands finished") || s.contains("failed"))
    });
    let asked: Vec<String> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "window/showMessageRequest")
        .map(|m| m["params"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert!(
        asked[0].contains("MCP tool echo (it calls an MCP tool, whose effects are not known)"),
        "{asked:#?}"
    );
    let requests = llm.requests();
    let result = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .map(|m| m["content"].to_string())
        .unwrap_or_default();
    assert!(result.contains("rejected"), "{result}");
    assert!(!result.contains("Echo: not without asking"), "{result}");
    ed.shutdown();
}
