//! `openhands-lsp acp` driven by a real ACP client we did not write: the official TypeScript SDK
//! (`tests/acp/driver.mjs`, installed by scripts/acp-setup), with the real binaries and the scripted LLM; and
//! the raw protocol's faults (malformed JSON, unknown methods) on the agent's stdin.

mod rust_client;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};

/// A workspace and data directory for the agent, with the scripted LLM's settings.
pub struct AcpEnv {
    dir: tempfile::TempDir,
    pub ws: PathBuf,
}

impl AcpEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let ws = ws.canonicalize().unwrap();
        Self { dir, ws }
    }

    /// The agent's environment: nothing of ours leaks in, the LLM is the scripted one.
    pub fn apply(&self, cmd: &mut Command, llm: &ScriptedLlm) {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("OPENHANDS_DATA_DIR", self.dir.path().join("data"))
            .env("LLM_MODEL", "scripted-model")
            .env("LLM_BASE_URL", &llm.base_url)
            .env("LLM_API_KEY", "sk-test-secret")
            .env("LLM_NATIVE_TOOL_CALLING", "true")
            .env("LLM_NUM_RETRIES", "0");
    }
}

fn driver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/acp")
}

/// Why the SDK cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("skipped: node is not installed (apt-get install nodejs npm)".into());
    }
    if !driver_dir()
        .join("node_modules/@agentclientprotocol/sdk")
        .exists()
    {
        return Some("skipped: the ACP SDK is not installed (run scripts/acp-setup)".into());
    }
    None
}

/// Runs one driver scenario against the real binaries; its JSON report.
fn drive(
    env: &AcpEnv,
    llm: &ScriptedLlm,
    scenario: &str,
    extra: &[(&str, &str)],
    session: Option<&str>,
) -> Value {
    let mut cmd = Command::new("node");
    cmd.current_dir(driver_dir())
        .arg("driver.mjs")
        .arg(scenario)
        .arg(env!("CARGO_BIN_EXE_openhands-lsp"))
        .arg(&env.ws);
    if let Some(s) = session {
        cmd.arg(s);
    }
    env.apply(&mut cmd, llm);
    cmd.envs(extra.iter().copied());
    let out = cmd.stderr(Stdio::inherit()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("the driver's report is not JSON ({e}): {text}"));
    assert!(report.get("error").is_none(), "{report:#}");
    report
}

fn kinds(report: &Value) -> Vec<String> {
    report["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let k = u["sessionUpdate"].as_str().unwrap_or("?");
            match (k, u["status"].as_str()) {
                ("tool_call" | "tool_call_update", Some(s)) => format!("{k}:{s}"),
                ("(prompt response)", _) => format!("=> {}", u["stopReason"].as_str().unwrap()),
                _ => k.to_owned(),
            }
        })
        .collect()
}

fn last_observation(llm: &ScriptedLlm) -> String {
    let requests = llm.requests();
    let last = requests.last().unwrap();
    let messages = last["messages"].as_array().unwrap();
    messages.last().unwrap().to_string()
}

#[test]
fn a_whole_task_through_the_official_sdk_then_a_second_prompt_and_a_load() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    std::fs::write(env.ws.join("gone.txt"), "old\n").unwrap();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "execute_bash",
                json!({"command": "rm -f gone.txt && echo removed"}),
            ),
            tool(
                "str_replace_editor",
                json!({"command": "create", "path": env.ws.join("notes.txt"), "file_text": "hello notes\n"}),
            ),
            tool(
                "task_tracker",
                json!({"command": "plan", "task_list": [{"id": "1", "title": "clean up", "status": "done"},
                                                         {"id": "2", "title": "write notes", "status": "in_progress"}]}),
            ),
            tool("finish", json!({"message": "all done"})),
            Reply::Text("nothing else to do".into()),
            tool("finish", json!({"message": "loaded and finished"})),
        ],
    );
    let report = drive(&env, &llm, "task", &[], None);
    let got = kinds(&report);
    let expected = [
        "available_commands_update",
        "session_info_update",
        "tool_call:in_progress",
        "tool_call_update:completed",
        "tool_call:in_progress",
        "tool_call_update:completed",
        "plan",
        "agent_message_chunk",
        "usage_update",
        "=> end_turn",
        "agent_message_chunk",
        "usage_update",
        "=> end_turn",
    ];
    assert_eq!(got, expected, "{report:#}");
    let ups = report["updates"].as_array().unwrap();
    // The command: its real text in the title, the output in the update.
    assert_eq!(ups[2]["kind"], "execute");
    assert!(
        ups[2]["title"].as_str().unwrap().contains("rm -f gone.txt"),
        "{}",
        ups[2]
    );
    assert!(
        ups[3]["content"].to_string().contains("removed"),
        "{}",
        ups[3]
    );
    assert_eq!(ups[3]["rawOutput"]["exitCode"], 0);
    // The risky command was asked about once, with its tool call, and allowed.
    let perms = report["permissions"].as_array().unwrap();
    assert_eq!(perms.len(), 1, "{perms:#?}");
    assert_eq!(perms[0]["toolCall"]["toolCallId"], ups[2]["toolCallId"]);
    assert!(
        perms[0]["toolCall"]["title"]
            .as_str()
            .unwrap()
            .contains("deletes files")
    );
    assert!(!env.ws.join("gone.txt").exists());
    // The edit: a diff and the file's location on its tool call, landed through fs/write_text_file.
    assert_eq!(ups[4]["kind"], "edit");
    assert_eq!(ups[4]["content"][0]["type"], "diff");
    assert_eq!(
        ups[4]["locations"][0]["path"],
        env.ws.join("notes.txt").display().to_string()
    );
    let writes = report["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0]["content"], "hello notes\n");
    assert_eq!(
        std::fs::read_to_string(env.ws.join("notes.txt")).unwrap(),
        "hello notes\n"
    );
    // The plan from task_tracker.
    assert_eq!(ups[6]["entries"][0]["status"], "completed");
    assert_eq!(ups[6]["entries"][1]["content"], "write notes");
    assert_eq!(ups[7]["content"]["text"], "all done");
    // The second prompt continued the same conversation: the model saw the first.
    assert!(llm.requests()[4].to_string().contains("all done"));
    assert_eq!(ups[10]["content"]["text"], "nothing else to do");
    // Secrets: the key never reaches the client.
    assert!(!report.to_string().contains("sk-test-secret"));

    // A new process lists the stored session, replays it and continues it.
    let id = report["results"]["new"]["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let loaded = drive(&env, &llm, "load", &[], Some(&id));
    let list = loaded["results"]["list"]["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:#?}");
    assert_eq!(list[0]["sessionId"], id.as_str());
    assert_eq!(list[0]["title"], "clean up and write the notes");
    let replay = kinds(&loaded);
    let end = replay.iter().position(|k| k == "(load response)").unwrap();
    assert_eq!(
        replay[..end],
        [
            "user_message_chunk",
            "tool_call:in_progress",
            "tool_call_update:completed",
            "tool_call:in_progress",
            "tool_call_update:completed",
            "plan",
            "agent_message_chunk",
            "user_message_chunk",
            "agent_message_chunk",
            "available_commands_update",
        ],
        "{loaded:#}"
    );
    assert_eq!(replay.last().unwrap(), "=> end_turn");
    assert!(llm.requests()[5].to_string().contains("one more thing"));
}

#[test]
fn cancel_in_the_middle_of_a_command_stops_it_and_the_session_goes_on() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "sleep 30"})),
            tool("finish", json!({"message": "resumed"})),
        ],
    );
    let report = drive(&env, &llm, "cancel", &[], None);
    assert_eq!(
        report["results"]["first"]["stopReason"], "cancelled",
        "{report:#}"
    );
    let took = report["results"]["cancelTookMs"].as_u64().unwrap();
    assert!(took < 10_000, "the cancel took {took} ms");
    assert_eq!(
        report["results"]["second"]["stopReason"], "end_turn",
        "{report:#}"
    );
}

#[test]
fn a_client_that_never_answers_a_permission_or_a_write_does_not_hang_the_agent() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "echo asked"})),
            tool("finish", json!({"message": "gave up"})),
        ],
    );
    let report = drive(
        &env,
        &llm,
        "silent",
        &[
            ("OPENHANDS_ACP_PERMISSION_TIMEOUT", "1"),
            ("OPENHANDS_ACP_FS_TIMEOUT", "1"),
        ],
        None,
    );
    assert_eq!(
        report["results"]["first"]["stopReason"], "end_turn",
        "{report:#}"
    );
    assert_eq!(report["permissions"].as_array().unwrap().len(), 1);
    let seen = llm.requests()[1].to_string();
    assert!(
        seen.contains("did not answer the permission request"),
        "{seen}"
    );
    assert!(seen.contains("rejected by the user"), "{seen}");

    // A write the client refuses, or never confirms, is an error observation, and the new file is not left.
    for (how, said) in [
        ("refuse", "refused the write"),
        ("never", "did not confirm the write within 1 s"),
    ] {
        let llm = ScriptedLlm::start(
            Wire::OpenAi,
            vec![
                tool(
                    "str_replace_editor",
                    json!({"command": "create", "path": env.ws.join("silent.txt"), "file_text": "x\n"}),
                ),
                tool("finish", json!({"message": "ok"})),
            ],
        );
        let report = drive(
            &env,
            &llm,
            "refuse",
            &[("OPENHANDS_ACP_FS_TIMEOUT", "1"), ("DRIVER_WRITE", how)],
            None,
        );
        assert_eq!(
            report["results"]["first"]["stopReason"], "end_turn",
            "{report:#}"
        );
        let obs = last_observation(&llm);
        assert!(
            obs.contains("NOT applied") && obs.contains(said),
            "{how}: {obs}"
        );
        assert!(
            !env.ws.join("silent.txt").exists(),
            "{how}: a refused new file was left behind"
        );
    }
}

#[test]
fn protocol_errors_are_answered_and_the_agent_keeps_serving() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let report = drive(&env, &llm, "errors", &[], None);
    let e = &report["results"]["errors"];
    assert_eq!(e["unknownSession"]["code"], -32002, "{e:#}");
    assert_eq!(e["relativeCwd"]["code"], -32602, "{e:#}");
    assert_eq!(e["loadMissing"]["code"], -32002, "{e:#}");
    assert_eq!(e["badMode"]["code"], -32602, "{e:#}");
    assert_eq!(e["image"]["code"], -32602, "{e:#}");
    assert_eq!(e["unknownMethod"]["code"], -32601, "{e:#}");
    assert!(report["results"]["stillServing"]["sessions"].is_array());
}

/// Malformed JSON and unknown methods straight on stdin: JSON-RPC errors, and the agent still answers.
#[test]
fn malformed_lines_get_parse_errors_and_the_agent_lives_on() {
    let env = AcpEnv::new();
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"));
    cmd.arg("acp");
    env.apply(&mut cmd, &llm);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut read = || {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    writeln!(stdin, "{{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ").unwrap();
    assert_eq!(read()["error"]["code"], -32700);
    writeln!(stdin, "{}", json!({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"protocolVersion": "one"}})).unwrap();
    assert_eq!(read()["error"]["code"], -32602);
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 4, "method": "initialize",
        "params": {"protocolVersion": 7, "clientCapabilities": {}}})
    )
    .unwrap();
    let r = read();
    // A client asking for a later version is offered the one this agent speaks.
    assert_eq!(r["result"]["protocolVersion"], 1, "{r}");
    assert_eq!(r["result"]["agentCapabilities"]["loadSession"], true);
    assert_eq!(
        r["result"]["agentCapabilities"]["promptCapabilities"]["embeddedContext"],
        true
    );
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 5, "method": "no/such", "params": {}})
    )
    .unwrap();
    assert_eq!(read()["error"]["code"], -32601);
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 6, "method": "session/new", "params": {"cwd": 42}})
    )
    .unwrap();
    assert_eq!(read()["error"]["code"], -32602);
    writeln!(
        stdin,
        "{}",
        json!({"jsonrpc": "2.0", "id": 7, "method": "session/list", "params": {}})
    )
    .unwrap();
    assert!(read()["result"]["sessions"].is_array());
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

/// The agent's binary path, for the Rust client test.
pub fn agent_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_openhands-lsp"))
}

/// The editor set-ups (Zed, JetBrains, agent-shell, CodeCompanion) cannot run here: their files are checked
/// for format, and for starting exactly the command this binary serves ACP with.
#[test]
fn the_editor_setups_start_openhands_lsp_acp() {
    let editors = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors");
    for (file, typed) in [("zed/settings.json", true), ("jetbrains/acp.json", false)] {
        let text = std::fs::read_to_string(editors.join(file)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let server = &v["agent_servers"]["OpenHands"];
        assert_eq!(server["command"], "openhands-lsp", "{file}");
        assert_eq!(server["args"], json!(["acp"]), "{file}");
        assert!(server["env"].is_object(), "{file}");
        if typed {
            assert_eq!(server["type"], "custom", "{file}: Zed needs `type: custom`");
        }
    }
    let el = std::fs::read_to_string(editors.join("acp/openhands-agent-shell.el")).unwrap();
    assert!(el.contains("'(\"openhands-lsp\" \"acp\")"));
    assert_eq!(
        el.matches('(').count(),
        el.matches(')').count(),
        "unbalanced elisp"
    );
    let lua = std::fs::read_to_string(editors.join("acp/codecompanion.lua")).unwrap();
    assert!(lua.contains("{ \"openhands-lsp\", \"acp\" }"));
    // The subcommand they start exists.
    let help = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"))
        .args(["acp", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Agent Client Protocol"));
}
