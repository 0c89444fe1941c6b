//! MCP tools end to end: `openhands-lsp run` with `[mcp]` in the workspace's config, a scripted model, the
//! real runtime, and a real MCP server we did not write (npm `@modelcontextprotocol/server-everything`,
//! installed by `scripts/mcp-setup`) over stdio (run by the runtime in the sandbox) and over streamable HTTP.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::common::CliEnv;
use super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};

/// The everything server's entry point.
pub(crate) fn everything() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        p.exists(),
        "{} is missing: run scripts/mcp-setup (npm ci in tests/mcp)",
        p.display()
    );
    p
}

/// A unique marker for one test's stdio server (its environment carries it).
fn mark(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

fn write_config(env: &CliEnv, toml: &str) {
    let dir = env.ws().join(".openhands");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), toml).unwrap();
}

fn stdio_config(mark: &str) -> String {
    format!(
        "{{ name = \"everything\", command = \"node\", args = [{:?}, \"stdio\"], env = {{ OH_TEST_MCP_MARK = {mark:?} }} }}",
        everything().display().to_string()
    )
}

/// The text of the tool result answering call `n` (0-based) of the run, as the model read it.
fn tool_result(requests: &[Value], n: usize) -> String {
    let tools: Vec<&Value> = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .collect();
    let content = &tools.get(n).unwrap_or_else(|| panic!("no tool result {n}"))["content"];
    match content {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The tools offered in the first request, by name.
fn offered(requests: &[Value]) -> Vec<Value> {
    requests[0]["tools"].as_array().unwrap().clone()
}

fn run(env: &CliEnv, llm: &ScriptedLlm, task: &str) -> (i32, String) {
    let out = env.run_cmd(&llm.base_url, &[task]).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stdio_tools_run_in_the_sandbox_and_their_results_reach_the_model() {
    let env = CliEnv::new();
    let mark = mark("stdio");
    write_config(
        &env,
        &format!(
            "[mcp]\ntimeout = 2\nstdio_servers = [{}, {{ name = \"missing\", command = \"no-such-mcp-binary\" }}]\n",
            stdio_config(&mark)
        ),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("echo", json!({"message": "through the sandbox"})),
            tool("get-env", json!({})),
            tool("get-sum", json!({"a": "one", "b": 2})),
            tool(
                "trigger-long-running-operation",
                json!({"duration": 8, "steps": 2}),
            ),
            tool("execute_bash", json!({"command": "echo still here"})),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let (code, stderr) = run(&env, &llm, "use the MCP tools");
    assert_eq!(code, 0, "{stderr}");
    // The server whose command does not exist is reported and skipped; the task went on.
    assert!(
        stderr.contains("warning: MCP server missing: cannot start `no-such-mcp-binary`")
            && stderr.contains("not installed in the sandbox"),
        "{stderr}"
    );
    // The transcript shows each call and what it returned.
    for line in [
        "[mcp] echo {\"message\":\"through the sandbox\"}",
        "  Echo: through the sandbox",
        "  error: the MCP tool did not answer within 2 s",
    ] {
        assert!(stderr.contains(line), "{line} in:\n{stderr}");
    }
    let requests = llm.requests();
    assert_eq!(requests.len(), 6);
    // The tools are offered after ours with their schemas, as the server declares them.
    let tools = offered(&requests);
    let echo = tools
        .iter()
        .find(|t| t["function"]["name"] == "echo")
        .unwrap_or_else(|| panic!("no echo tool in {tools:?}"));
    assert_eq!(
        echo["function"]["description"],
        "Echoes back the input string"
    );
    assert_eq!(
        echo["function"]["parameters"]["properties"]["message"]["type"], "string",
        "{echo}"
    );
    assert_eq!(
        echo["function"]["parameters"]["required"],
        json!(["message"])
    );
    let names: Vec<&str> = tools
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert_eq!(names[0], "execute_bash", "{names:?}");
    assert!(
        names.contains(&"get-env") && names.contains(&"get-sum"),
        "{names:?}"
    );

    // The result of each call reaches the model in the next request.
    let first = tool_result(&requests[..2], 0);
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        first["content"],
        json!([{"type": "text", "text": "Echo: through the sandbox"}])
    );
    // The server's environment: its configured variable, none of our credentials (masking would show them
    // as <secret_hidden>; they are not there at all).
    let envs = tool_result(&requests, 1);
    assert!(
        envs.contains("OH_TEST_MCP_MARK") && envs.contains(&mark),
        "{envs}"
    );
    for absent in [
        "LLM_API_KEY",
        "SESSION_API_KEY",
        "sk-test-secret",
        "<secret_hidden>",
    ] {
        assert!(
            !envs.contains(absent),
            "{absent} in the MCP server's environment: {envs}"
        );
    }
    // Bad arguments and a timeout are error results the model reads.
    let bad: Value = serde_json::from_str(&tool_result(&requests, 2)).unwrap();
    assert_eq!(bad["isError"], true, "{bad}");
    let slow: Value = serde_json::from_str(&tool_result(&requests, 3)).unwrap();
    assert_eq!(slow["isError"], true, "{slow}");
    assert!(
        slow["error"]
            .as_str()
            .unwrap()
            .contains("did not answer within 2 s"),
        "{slow}"
    );
    assert!(tool_result(&requests, 4).contains("still here"));

    // The conversation records OpenHands' call_tool_mcp actions and mcp observations.
    let conv = std::fs::read_dir(env.data().join("conversations"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let events: Vec<Value> = std::fs::read_to_string(conv.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call = events
        .iter()
        .find(|e| e["action"] == "call_tool_mcp")
        .unwrap();
    assert_eq!(
        call["args"]["arguments"],
        json!({"message": "through the sandbox"}),
        "{call}"
    );
    assert_eq!(call["args"]["name"], "echo");
    let obs = events.iter().find(|e| e["observation"] == "mcp").unwrap();
    assert_eq!(
        obs["extras"],
        json!({"name": "echo", "arguments": {"message": "through the sandbox"}})
    );
}

/// The everything server over streamable HTTP on a free loopback port, killed when dropped.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new("node")
            .arg(everything())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on port") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20))
            .expect("the HTTP MCP server did not start");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn http_tools_are_called_directly_and_unreachable_servers_are_skipped() {
    let server = HttpServer::start();
    let env = CliEnv::new();
    write_config(
        &env,
        &format!(
            "[mcp]\nhttp_servers = [{{ name = \"web\", url = {:?} }}, {{ name = \"gone\", url = \"http://127.0.0.1:9/mcp\" }}]\n",
            server.url
        ),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("get-sum", json!({"a": 2, "b": 40})),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let (code, stderr) = run(&env, &llm, "add numbers");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "warning: MCP server gone (http://127.0.0.1:9/mcp): the MCP handshake failed: Client error: error sending request"
        ) && stderr.contains("(MCP server skipped)"),
        "{stderr}"
    );
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    let sum = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["function"]["name"] == "get-sum")
        .cloned()
        .unwrap_or_else(|| panic!("{}", requests[0]["tools"]));
    assert_eq!(
        sum["function"]["parameters"]["properties"]["a"]["type"], "number",
        "{sum}"
    );
    let last = requests[1]["messages"].to_string();
    assert!(last.contains("The sum of 2 and 40 is 42."), "{last}");
}

/// A shell command that kills the process whose environment carries `OH_TEST_MCP_MARK=<mark>`.
fn kill_marked(mark: &str) -> String {
    format!(
        "for p in /proc/[0-9]*; do if tr '\\0' '\\n' < $p/environ 2>/dev/null | grep -qx 'OH_TEST_MCP_MARK={mark}'; then kill -9 ${{p#/proc/}} && echo killed; fi; done 2>/dev/null; sleep 0.5"
    )
}

#[test]
fn a_stdio_server_killed_mid_task_is_restarted_once() {
    let env = CliEnv::new();
    let mark = mark("killed");
    write_config(
        &env,
        &format!("[mcp]\nstdio_servers = [{}]\n", stdio_config(&mark)),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("echo", json!({"message": "one"})),
            tool("execute_bash", json!({"command": kill_marked(&mark)})),
            tool("echo", json!({"message": "two"})),
            tool("execute_bash", json!({"command": kill_marked(&mark)})),
            tool("echo", json!({"message": "three"})),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let started = Instant::now();
    let (code, stderr) = run(&env, &llm, "survive a crash");
    assert_eq!(code, 0, "{stderr}");
    let requests = llm.requests();
    assert_eq!(requests.len(), 6, "{stderr}");
    assert!(tool_result(&requests, 0).contains("Echo: one"));
    assert!(
        tool_result(&requests, 1).contains("killed"),
        "{}",
        tool_result(&requests, 1)
    );
    assert!(
        tool_result(&requests, 2).contains("Echo: two"),
        "{}",
        tool_result(&requests, 2)
    );
    assert!(tool_result(&requests, 3).contains("killed"));
    let third: Value = serde_json::from_str(&tool_result(&requests, 4)).unwrap();
    assert_eq!(third["isError"], true, "{third}");
    assert!(
        third["error"]
            .as_str()
            .unwrap()
            .contains("already restarted once"),
        "{third}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// `openhands-lsp doctor` shows each `[mcp]` server (no env or header values) and warns about a stdio
/// command the local runtime cannot find; a bad entry is a configuration error naming it.
#[test]
fn doctor_shows_the_mcp_servers_and_bad_entries_are_named() {
    let env = CliEnv::new();
    write_config(
        &env,
        "[mcp]\ntimeout = 30\nstdio_servers = [{ name = \"everything\", command = \"node\", args = [\"x.js\", \"stdio\"], env = { API_TOKEN = \"tok-very-secret\" } }, { name = \"missing\", command = \"no-such-mcp-binary\" }]\nhttp_servers = [{ name = \"docs\", url = \"http://127.0.0.1:8931/mcp\", headers = { Authorization = \"Bearer hdr-very-secret\" } }]\n",
    );
    let out = env
        .cmd("http://127.0.0.1:9/v1")
        .arg("doctor")
        .arg("--workspace")
        .arg(env.ws())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "ok   mcp: everything: stdio `node x.js stdio` with env API_TOKEN, run by the local runtime inside its sandbox; tool timeout 30 s",
        "warn mcp: missing: stdio `no-such-mcp-binary`, run by the local runtime inside its sandbox; tool timeout 30 s; `no-such-mcp-binary` is not on PATH, so the server will be skipped",
        "ok   mcp: docs: streamable HTTP http://127.0.0.1:8931/mcp with headers Authorization; tool timeout 30 s",
    ] {
        assert!(stdout.contains(line), "{line}\nin:\n{stdout}");
    }
    assert!(!stdout.contains("very-secret"), "{stdout}");

    write_config(
        &env,
        "[mcp]\nstdio_servers = [{ name = \"bad name\", command = \"node\" }]\n",
    );
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![Reply::Text("unused".into())]);
    let (code, stderr) = run(&env, &llm, "x");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "config.toml: [mcp]: MCP server name \"bad name\" must be letters, digits, '_' or '-'"
        ),
        "{stderr}"
    );
    assert!(llm.requests().is_empty());
}

/// An MCP tool call goes through the same gate as any action: plan mode refuses it (its server may change
/// things), and the server never sees the call.
#[test]
fn plan_mode_refuses_mcp_tools() {
    let env = CliEnv::new();
    let mark = mark("plan");
    write_config(
        &env,
        &format!("[mcp]\nstdio_servers = [{}]\n", stdio_config(&mark)),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("echo", json!({"message": "should not run"})),
            tool("finish", json!({"message": "planned"})),
        ],
    );
    let out = env
        .run_cmd(&llm.base_url, &["--plan", "plan with the MCP tools"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let result = tool_result(&llm.requests(), 0);
    assert!(result.contains("Refused in plan mode"), "{result}");
    assert!(!result.contains("Echo: should not run"), "{result}");
}
