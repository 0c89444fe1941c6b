//! Credentials never reach the sandbox or what the user and the model see: the LLM key is not in any
//! command's environment, the runtime's own key is masked wherever a command finds it, and a secret typed
//! in a prompt is masked in the conversation's title.

use serde_json::json;

use super::common::CliEnv;
use super::scripted_llm::{Reply, ScriptedLlm, Wire};

/// Prints what a command in the sandbox can find: the key variables, reversed past any masking, and the
/// runtime's environment through /proc.
pub const PROBE: &str = "echo \"llm=[$LLM_API_KEY]\" | rev; env | grep -cE '^(LLM_|OPENHANDS_|ANTHROPIC_API_KEY|SESSION_API_KEY)' ; tr '\\0' '\\n' </proc/$PPID/environ | grep -E '^SESSION_API_KEY=' | head -1";

/// A model that runs [`PROBE`], then finishes.
pub fn probe_llm() -> ScriptedLlm {
    ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: String::new(),
                calls: vec![("execute_bash".into(), json!({"command": PROBE}))],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "done"}))],
            },
        ],
    )
}

#[test]
fn no_credential_reaches_a_command_and_the_runtime_key_is_masked() {
    let llm = probe_llm();
    let env = CliEnv::new();
    let data = env.data();
    let out = env
        .run_cmd(
            &llm.base_url,
            &["probe the sandbox with key sk-test-secret"],
        )
        .env("ANTHROPIC_API_KEY", "sk-ant-other")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The LLM key is not in the command's environment at all, and no variable of ours is.
    assert!(stderr.contains("][=mll"), "{stderr}");
    assert!(!stderr.contains("terces-tset-ks"), "{stderr}");
    assert!(
        stderr.contains("\n  0\n"),
        "credential variables in the sandbox:\n{stderr}"
    );
    // The runtime's own key is there for the server, but masked wherever it shows.
    assert!(
        stderr.contains("SESSION_API_KEY=<secret_hidden>"),
        "{stderr}"
    );
    let requests = llm.requests();
    let observation = requests.last().unwrap().to_string();
    assert!(
        observation.contains("SESSION_API_KEY=<secret_hidden>"),
        "{observation}"
    );
    assert!(observation.contains("][=mll"), "{observation}");
    let conversations = data.join("conversations");
    let conv = std::fs::read_dir(&conversations)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read_to_string(conv.join("events.jsonl")).unwrap();
    assert!(stored.contains("SESSION_API_KEY=<secret_hidden>"));
    assert!(!stored.contains("sk-test-secret"));
    let meta = std::fs::read_to_string(conv.join("meta.json")).unwrap();
    assert!(!meta.contains("sk-test-secret"), "{meta}");
    assert!(
        meta.contains("probe the sandbox with key <secret_hidden>"),
        "{meta}"
    );
    let list = env
        .cmd(&llm.base_url)
        .arg("conversations")
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains("key <secret_hidden>"), "{listing}");
    assert!(!listing.contains("sk-test-secret"), "{listing}");
}
