//! `openhands-lsp acp` driven by a real ACP client we did not write: the official TypeScript SDK
//! (`tests/acp/driver.mjs`, installed by scripts/acp-setup), with the real binaries and the scripted LLM; and
//! the raw protocol's faults (malformed JSON, unknown methods) on the agent's stdin.

mod rust_client;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::scripted_llm::{COMPLETION_TOKENS, PROMPT_TOKENS, Reply, ScriptedLlm, Wire, tool};

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

    /// Writes the user's configuration file (`$XDG_CONFIG_HOME/openhands-lsp/config.toml`).
    pub fn user_config(&self, text: &str) {
        let dir = self.dir.path().join("config/openhands-lsp");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
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
    // A known context window and prices, for the usage updates.
    env.user_config(
        "[llm]\nmax_input_tokens = 32768\ninput_cost_per_token = 0.001\noutput_cost_per_token = 0.002\n",
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
    // Usage: the tokens in the context now (the last call's prompt and answer, not the turn's sum) out of the
    // context window, and the conversation's cost so far (each call: 100 prompt and 20 completion tokens).
    let per_call = PROMPT_TOKENS as f64 * 0.001 + COMPLETION_TOKENS as f64 * 0.002;
    for (i, calls) in [(8, 4.0), (11, 5.0)] {
        assert_eq!(
            ups[i]["used"],
            PROMPT_TOKENS + COMPLETION_TOKENS,
            "{}",
            ups[i]
        );
        assert_eq!(ups[i]["size"], 32768, "{}", ups[i]);
        let cost = ups[i]["cost"]["amount"].as_f64().unwrap();
        assert!((cost - calls * per_call).abs() < 1e-9, "{}", ups[i]);
        assert_eq!(ups[i]["cost"]["currency"], "USD");
    }
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
fn plan_mode_refuses_changes_ends_with_the_plan_and_acting_continues_with_all_tools() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    let notes = env.ws.join("notes.txt");
    let create = tool(
        "str_replace_editor",
        json!({"command": "create", "path": notes, "file_text": "the notes\n"}),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            create.clone(),
            tool("execute_bash", json!({"command": "ls -a"})),
            tool(
                "task_tracker",
                json!({"command": "plan", "task_list": [{"id": "1", "title": "write the notes", "status": "todo"}]}),
            ),
            tool("finish", json!({"message": "plan ready"})),
            create,
            tool("finish", json!({"message": "written"})),
        ],
    );
    let report = drive(&env, &llm, "plan", &[], None);
    let expected = [
        "available_commands_update",
        "current_mode_update",
        "session_info_update",
        "tool_call:in_progress",
        "tool_call_update:failed",
        "tool_call:in_progress",
        "tool_call_update:completed",
        "plan",
        "agent_message_chunk",
        "plan",
        "usage_update",
        "=> end_turn",
        "current_mode_update",
        "tool_call:in_progress",
        "tool_call_update:completed",
        "agent_message_chunk",
        "usage_update",
        "=> end_turn",
    ];
    assert_eq!(kinds(&report), expected, "{report:#}");
    let ups = report["updates"].as_array().unwrap();
    assert_eq!(ups[1]["currentModeId"], "plan");
    let modes = &report["results"]["new"]["modes"]["availableModes"];
    assert!(
        modes.as_array().unwrap().iter().any(|m| m["id"] == "plan"),
        "{modes}"
    );
    let requests = llm.requests();
    // The plan turn: the message asks for a plan, the write is refused by the tools (nothing reached the
    // client or the disk), the read-only command ran, and the turn closes with the recorded plan.
    assert!(requests[0].to_string().contains("[Plan mode]"));
    assert!(requests[1].to_string().contains("Refused in plan mode"));
    assert_eq!(report["results"]["writesAfterPlan"], 0, "{report:#}");
    assert_eq!(report["results"]["notesAfterPlan"], false, "{report:#}");
    assert_eq!(ups[9]["entries"][0]["content"], "write the notes");
    assert_eq!(ups[9], ups[7]);
    // Acting: the same conversation (the model sees the plan turn) with all tools, told plan mode is over.
    let user_said = |r: &Value| -> String {
        let messages = r["messages"].as_array().unwrap();
        let last = messages.iter().rev().find(|m| m["role"] == "user").unwrap();
        last["content"].to_string()
    };
    let act = user_said(&requests[4]);
    assert!(act.contains("[Act]") && act.contains("go ahead"), "{act}");
    assert!(!act.contains("[Plan mode]"), "{act}");
    assert!(requests[4].to_string().contains("plan ready"));
    assert_eq!(ups[12]["currentModeId"], "auto-edit");
    assert_eq!(report["writes"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "the notes\n");
}

#[test]
fn commands_run_in_the_clients_terminal_when_the_user_chose_it() {
    if let Some(why) = skip_reason() {
        eprintln!("{why}");
        return;
    }
    let env = AcpEnv::new();
    let script = || {
        vec![
            tool(
                "execute_bash",
                json!({"command": "echo from-the-client; pwd; exit 3"}),
            ),
            tool("execute_bash", json!({"command": "sleep 30"})),
            tool("finish", json!({"message": "ran"})),
        ]
    };
    let llm = ScriptedLlm::start(Wire::OpenAi, script());
    let chosen = [
        ("OPENHANDS_ACP_CLIENT_TERMINAL", "1"),
        ("OPENHANDS_ACP_TERMINAL_TIMEOUT", "2"),
    ];
    let report = drive(&env, &llm, "terminal", &chosen, None);
    assert_eq!(
        report["results"]["first"]["stopReason"], "end_turn",
        "{report:#}"
    );
    // Both commands ran in the client's terminals, in the session's directory.
    let terms = report["terminals"].as_array().unwrap();
    assert_eq!(terms.len(), 2, "{report:#}");
    assert_eq!(terms[0]["command"], "bash");
    assert_eq!(
        terms[0]["args"],
        json!(["-c", "echo from-the-client; pwd; exit 3"])
    );
    assert_eq!(terms[0]["cwd"], env.ws.display().to_string());
    // The tool call showed the terminal while it ran and still does once it completed.
    let ups = report["updates"].as_array().unwrap();
    let first_call = ups
        .iter()
        .find(|u| u["sessionUpdate"] == "tool_call")
        .unwrap()["toolCallId"]
        .clone();
    let of_call: Vec<&Value> = ups
        .iter()
        .filter(|u| u["toolCallId"] == first_call && u["sessionUpdate"] == "tool_call_update")
        .collect();
    assert_eq!(of_call.len(), 2, "{of_call:#?}");
    let term = json!([{"type": "terminal", "terminalId": "term-1"}]);
    assert_eq!(of_call[0]["content"], term);
    assert_eq!(of_call[1]["status"], "completed");
    assert_eq!(of_call[1]["content"], term);
    assert_eq!(of_call[1]["rawOutput"]["exitCode"], 3);
    // The agent got the output and the exit code; the command past its deadline was killed and said so.
    let requests = llm.requests();
    let seen = requests[1]["messages"].to_string();
    assert!(seen.contains("from-the-client"), "{seen}");
    assert!(seen.contains(&env.ws.display().to_string()), "{seen}");
    assert!(seen.contains("exit code 3"), "{seen}");
    let seen = requests[2]["messages"].to_string();
    assert!(
        seen.contains("did not finish within 2 s and was killed"),
        "{seen}"
    );
    assert_eq!(report["kills"], json!(["term-2"]));
    assert_eq!(report["releases"], json!(["term-1", "term-2"]));
    assert_eq!(report["results"]["leftRunning"], 0);

    // Not chosen: the same client's commands run in the runtime's shell.
    let mut quick = script();
    quick.remove(1);
    let llm = ScriptedLlm::start(Wire::OpenAi, quick);
    let report = drive(
        &env,
        &llm,
        "terminal",
        &[("OPENHANDS_ACP_TERMINAL_TIMEOUT", "2")],
        None,
    );
    assert_eq!(report["terminals"], json!([]), "{report:#}");
    assert!(
        llm.requests()[1]["messages"]
            .to_string()
            .contains("from-the-client")
    );

    // A client that never answers terminal/create: the agent is told, and the turn goes on.
    let llm = ScriptedLlm::start(Wire::OpenAi, script());
    let report = drive(
        &env,
        &llm,
        "terminal",
        &[
            chosen[0],
            ("DRIVER_TERMINAL", "never"),
            ("OPENHANDS_ACP_FS_TIMEOUT", "1"),
        ],
        None,
    );
    assert_eq!(
        report["results"]["first"]["stopReason"], "end_turn",
        "{report:#}"
    );
    let seen = llm.requests()[1]["messages"].to_string();
    assert!(
        seen.contains("did not answer terminal/create within 1 s"),
        "{seen}"
    );

    // session/cancel while a command runs in the client's terminal: killed, released, the turn cancelled.
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "sleep 30"})),
            tool("finish", json!({"message": "never reached"})),
        ],
    );
    let report = drive(
        &env,
        &llm,
        "terminal",
        &[chosen[0], ("DRIVER_TERMINAL", "cancel")],
        None,
    );
    assert_eq!(
        report["results"]["first"]["stopReason"], "cancelled",
        "{report:#}"
    );
    let took = report["results"]["cancelTookMs"].as_u64().unwrap();
    assert!(took < 10_000, "the cancel took {took} ms");
    assert_eq!(report["kills"], json!(["term-1"]), "{report:#}");
    assert_eq!(report["releases"], json!(["term-1"]), "{report:#}");
    assert_eq!(report["results"]["leftRunning"], 0);
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
