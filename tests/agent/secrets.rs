//! Credentials never reach the sandbox or what the user and the model see: the LLM key is not in any
//! command's environment, the runtime's own key is masked wherever a command finds it, and a secret typed
//! in a prompt is masked in the conversation's title. The user's named secrets reach the shell under their
//! names and nothing else, even when a command prints them.

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

/// A secret from `[secrets]` and one from `OPENHANDS_SECRET_<NAME>`.
pub const DEPLOY_TOKEN: &str = "deploy-value-6f1c2a";
pub const FROM_ENV: &str = "env-value-93b7d0";

/// Uses both secrets in the shell (their lengths prove the values are there), then prints the whole
/// environment.
pub const USE_SECRETS: &str =
    "echo ok-$DEPLOY_TOKEN | wc -c; echo ok-$FROM_ENV | wc -c; env | sort";

pub fn secrets_llm() -> ScriptedLlm {
    ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            super::scripted_llm::tool("execute_bash", json!({"command": USE_SECRETS})),
            super::scripted_llm::tool("finish", json!({"message": "done"})),
        ],
    )
}

/// Writes the user's config file with `[secrets]` under `config_home`.
pub fn write_secrets_config(config_home: &std::path::Path, body: &str) {
    let dir = config_home.join("openhands-lsp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), body).unwrap();
}

#[test]
fn named_secrets_reach_the_shell_and_nothing_else() {
    let llm = secrets_llm();
    let env = CliEnv::new();
    write_secrets_config(
        &env.dir.path().join("config"),
        &format!("[secrets]\nDEPLOY_TOKEN = \"{DEPLOY_TOKEN}\"\n"),
    );
    let out = env
        .run_cmd(&llm.base_url, &["deploy it"])
        .env("OPENHANDS_SECRET_FROM_ENV", FROM_ENV)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The shell has both values: `wc -c` counts "ok-VALUE\n".
    let lengths = format!("\n  {}\n  {}\n", DEPLOY_TOKEN.len() + 4, FROM_ENV.len() + 4);
    assert!(stderr.contains(&lengths), "{lengths:?} in {stderr}");
    let conv = std::fs::read_dir(env.data().join("conversations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read_to_string(conv.join("events.jsonl")).unwrap();
    let meta = std::fs::read_to_string(conv.join("meta.json")).unwrap();
    let requests = serde_json::to_string(&llm.requests()).unwrap();
    // `env` printed them, masked, under their names; the variable that brought one in is not there.
    assert!(
        requests.contains("DEPLOY_TOKEN=<secret_hidden>"),
        "{requests}"
    );
    assert!(requests.contains("FROM_ENV=<secret_hidden>"), "{requests}");
    assert!(!requests.contains("OPENHANDS_SECRET_"), "{requests}");
    for (what, text) in [
        ("the transcript", &stderr),
        ("stdout", &stdout),
        ("the stored log", &stored),
        ("meta.json", &meta),
        ("the LLM requests", &requests),
    ] {
        for value in [DEPLOY_TOKEN, FROM_ENV] {
            assert!(!text.contains(value), "{value} in {what}: {text}");
        }
    }
}

#[test]
fn a_bad_secret_is_a_clear_error_that_never_shows_its_value() {
    let llm = secrets_llm();
    for (config, var, expected) in [
        (
            "[secrets]\n\"MY-TOKEN\" = \"value-123456\"\n",
            None,
            "[secrets]: `MY-TOKEN` is not a shell variable name",
        ),
        (
            "[secrets]\nEMPTY = \"\"\n",
            None,
            "[secrets]: secret `EMPTY` is empty",
        ),
        (
            "[secrets]\nPATH = \"value-123456\"\n",
            None,
            "`PATH` is reserved",
        ),
        (
            "",
            Some(("OPENHANDS_SECRET_1X", "value-123456")),
            "OPENHANDS_SECRET_1X: `1X` is not a shell variable name",
        ),
        (
            "[secrets]\nSTOLEN = \"sk-test-secret\"\n",
            None,
            "secret `STOLEN` holds the LLM or runtime key",
        ),
    ] {
        let env = CliEnv::new();
        write_secrets_config(&env.dir.path().join("config"), config);
        let mut cmd = env.run_cmd(&llm.base_url, &["deploy it"]);
        if let Some((k, v)) = var {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(!stderr.contains("value-123456"), "{stderr}");
        assert!(!stderr.contains("sk-test-secret"), "{stderr}");
    }
    assert!(llm.requests().is_empty());
}

#[tokio::test]
async fn a_remote_runtime_gets_the_secrets_exported_without_a_trace() {
    let server = super::runtime::serve("remote-key-7c1e").await;
    let llm = secrets_llm();
    let env = CliEnv::new();
    write_secrets_config(
        &env.dir.path().join("config"),
        &format!("[secrets]\nDEPLOY_TOKEN = \"{DEPLOY_TOKEN}\"\n"),
    );
    let mut cmd = env.run_cmd(
        &llm.base_url,
        &[
            "--runtime",
            "remote",
            "--runtime-url",
            &server.url,
            "deploy it",
        ],
    );
    cmd.env("OPENHANDS_SECRET_FROM_ENV", FROM_ENV)
        .env("OPENHANDS_RUNTIME_API_KEY", "remote-key-7c1e");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lengths = format!("\n  {}\n  {}\n", DEPLOY_TOKEN.len() + 4, FROM_ENV.len() + 4);
    assert!(stderr.contains(&lengths), "{lengths:?} in {stderr}");
    let conv = std::fs::read_dir(env.data().join("conversations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read_to_string(conv.join("events.jsonl")).unwrap();
    let requests = serde_json::to_string(&llm.requests()).unwrap();
    assert!(
        requests.contains("DEPLOY_TOKEN=<secret_hidden>"),
        "{requests}"
    );
    // The export itself is no event, and no value shows anywhere.
    assert!(!stored.contains("export "), "{stored}");
    for text in [&stderr, &stored, &requests] {
        for value in [DEPLOY_TOKEN, FROM_ENV] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }
}
