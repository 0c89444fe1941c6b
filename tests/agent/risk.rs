//! The CLI has no approvals: a high-risk action runs, and its transcript and stored log say it was high.

use serde_json::{Value, json};

use super::common::CliEnv;
use super::scripted_llm::{ScriptedLlm, Wire, tool};

#[test]
fn the_cli_runs_a_high_risk_action_and_marks_it() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "execute_bash",
                json!({"command": "mkdir -p open && chmod -R 777 open && stat -c %a open", "security_risk": "LOW"}),
            ),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let env = CliEnv::new();
    let out = env
        .run_cmd(&llm.base_url, &["open it up"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "$ mkdir -p open && chmod -R 777 open && stat -c %a open  [risk: high]\n  777\n"
        ),
        "{stderr}"
    );
    let conv = std::fs::read_dir(env.data().join("conversations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read_to_string(conv.join("events.jsonl")).unwrap();
    let run: Value = stored
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["action"] == "run")
        .unwrap();
    assert_eq!(run["args"]["security_risk"], 2, "{run}");
}
