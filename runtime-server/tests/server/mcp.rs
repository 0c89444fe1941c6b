//! `POST /update_mcp_server` and the `/mcp` endpoint with a real MCP server we did not write (npm
//! `@modelcontextprotocol/server-everything`, installed by `scripts/mcp-setup`), spoken to as raw
//! JSON-RPC over streamable HTTP: bad bodies, the key, tools served, the environment, a death, a stop.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::common::{KEY, Server};

/// The everything server's entry point; `scripts/mcp-setup` installs it.
fn everything() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        p.exists(),
        "{} is missing: run scripts/mcp-setup (npm ci in tests/mcp)",
        p.display()
    );
    p
}

/// A stdio config of the everything server, marked so the test finds its process.
fn everything_config(name: &str, mark: &str) -> Value {
    json!({"name": name, "command": "node", "args": [everything(), "stdio"],
           "env": {"OH_TEST_MCP_MARK": mark}})
}

fn status_and_json(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// Pids of processes whose environment has `OH_TEST_MCP_MARK=<mark>`.
fn marked(mark: &str) -> Vec<i32> {
    let needle = format!("OH_TEST_MCP_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
                && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                    s.rsplit(')')
                        .next()
                        .is_some_and(|r| r.trim_start().starts_with('Z'))
                })
        })
        .collect()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A JSON-RPC session on `/mcp`, as an MCP client speaks it over streamable HTTP.
struct Mcp<'a> {
    srv: &'a Server,
    session: Option<String>,
    next: u64,
}

impl<'a> Mcp<'a> {
    fn connect(srv: &'a Server) -> Self {
        let mut mcp = Self {
            srv,
            session: None,
            next: 1,
        };
        let init = mcp.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "0"}}),
        );
        assert_eq!(
            init["result"]["serverInfo"]["name"], "openhands-runtime",
            "{init}"
        );
        mcp.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        mcp
    }

    fn post(&mut self, body: &Value) -> reqwest::blocking::Response {
        let mut rb = self
            .srv
            .client
            .post(self.srv.url("/mcp"))
            .header("X-Session-API-Key", KEY)
            .header("Accept", "application/json, text/event-stream")
            .json(body);
        if let Some(s) = &self.session {
            rb = rb.header("Mcp-Session-Id", s);
        }
        let resp = rb.send().unwrap();
        if let Some(s) = resp.headers().get("mcp-session-id") {
            self.session = Some(s.to_str().unwrap().to_owned());
        }
        resp
    }

    /// One request; the answer whether it comes as JSON or as an SSE event.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let resp =
            self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        assert_eq!(resp.status().as_u16(), 200);
        let text = resp.text().unwrap();
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            return v;
        }
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v["id"] == json!(id))
            .unwrap_or_else(|| panic!("no answer to {method} in {text}"))
    }

    fn tool_names(&mut self) -> Vec<String> {
        let list = self.request("tools/list", json!({}));
        list["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{list}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": name, "arguments": arguments}))
    }
}

fn update(srv: &Server, body: &Value) -> (u16, Value) {
    status_and_json(srv.post_json("/update_mcp_server", body))
}

#[test]
fn update_bodies_that_are_not_lists_get_openhands_400() {
    let srv = Server::start();
    for body in [
        json!({}),
        json!("x"),
        json!(null),
        json!({"name": "a", "command": "b"}),
    ] {
        assert_eq!(
            update(&srv, &body),
            (
                400,
                json!({"detail": "Request must be a list of MCP tools to sync"})
            ),
            "{body}"
        );
    }
    let (status, body) = status_and_json(srv.post_raw("/update_mcp_server", b"not json"));
    assert_eq!(
        (status, body["detail"].as_str()),
        (400, Some("Request must be a list of MCP tools to sync"))
    );
    // Entries that are not configs are refused with what is wrong (OpenHands gives a bare 500).
    for (entry, why) in [
        (json!({"name": "a"}), "missing field `command`"),
        (json!({"name": "a b", "command": "node"}), "letters, digits"),
        (
            json!({"name": "a", "command": "node server.js"}),
            "without spaces",
        ),
        (
            json!({"name": "a", "command": "node", "args": "x"}),
            "invalid type",
        ),
        (
            json!({"name": "a", "command": "node", "cwd": "/"}),
            "unknown field `cwd`",
        ),
    ] {
        let (status, body) = update(&srv, &json!([entry]));
        assert_eq!(status, 422, "{entry}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(why),
            "{entry}: {body}"
        );
    }
    let (status, body) = update(
        &srv,
        &json!([{"name": "a", "command": "x"}, {"name": "a", "command": "y"}]),
    );
    assert_eq!(
        (status, body["detail"].as_str()),
        (422, Some("MCP server name a is given twice"))
    );
    // An empty list is a valid update: no servers, no errors.
    assert_eq!(
        update(&srv, &json!([])),
        (
            200,
            json!({"detail": "MCP server updated successfully", "router_error_log": ""})
        )
    );
}

#[test]
fn mcp_routes_need_the_key() {
    let srv = Server::start();
    for key in [None, Some("wrong")] {
        for rb in [
            srv.client
                .post(srv.url("/update_mcp_server"))
                .json(&json!([])),
            srv.client
                .post(srv.url("/mcp"))
                .header("Accept", "application/json, text/event-stream")
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})),
        ] {
            let rb = match key {
                Some(k) => rb.header("X-Session-API-Key", k),
                None => rb,
            };
            assert_eq!(
                status_and_json(rb.send().unwrap()),
                (403, json!({"detail": "Invalid API Key"})),
                "key {key:?}"
            );
        }
    }
}

#[test]
fn stdio_servers_run_in_the_sandbox_and_their_tools_are_served() {
    let srv = Server::builder()
        .env("OH_TEST_OUR_CREDENTIAL", "host-only")
        .start();
    let mark = format!("served-{}", std::process::id());
    let (status, body) = update(
        &srv,
        &json!([everything_config("everything", &mark),
                {"name": "missing", "command": "no-such-mcp-server-binary", "args": []}]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detail"], "MCP server updated successfully");
    let log = body["router_error_log"].as_str().unwrap();
    assert!(
        log.contains("MCP server missing: cannot start `no-such-mcp-server-binary`")
            && log.contains("not installed in the sandbox"),
        "{log}"
    );
    assert_eq!(
        log.lines().count(),
        1,
        "only the missing server failed: {log}"
    );

    let mut mcp = Mcp::connect(&srv);
    let names = mcp.tool_names();
    for t in [
        "echo",
        "get-env",
        "get-sum",
        "trigger-long-running-operation",
    ] {
        assert!(names.iter().any(|n| n == t), "{t} not in {names:?}");
    }
    let echo = mcp.call("echo", json!({"message": "hello from the sandbox"}));
    assert_eq!(
        echo["result"]["content"],
        json!([{"type": "text", "text": "Echo: hello from the sandbox"}])
    );
    // Bad arguments come back as the server's error, not a dead session.
    let bad = mcp.call("get-sum", json!({"a": "one"}));
    assert!(
        bad["result"]["isError"] == json!(true) || bad["error"].is_object(),
        "{bad}"
    );

    // The server runs as a child of the runtime, in the workspace, without the session key.
    let pids = marked(&mark);
    assert_eq!(pids.len(), 1, "{pids:?}");
    let pid = pids[0];
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(cwd, srv.workdir);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(ppid, srv.runtime_pid);
    let env = mcp.call("get-env", json!({}));
    let env: Value =
        serde_json::from_str(env["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(env["OH_TEST_MCP_MARK"], mark.as_str());
    assert!(env.get("SESSION_API_KEY").is_none(), "{env}");
    assert!(
        !env.to_string().contains(KEY),
        "the session key leaked: {env}"
    );

    // A new update replaces the servers: the old one is killed.
    assert_eq!(update(&srv, &json!([])).0, 200);
    wait_until("the replaced server is gone", || marked(&mark).is_empty());
    let mut mcp = Mcp::connect(&srv);
    assert_eq!(mcp.tool_names(), Vec::<String>::new());
}

#[test]
fn a_server_that_dies_is_restarted_once() {
    let srv = Server::start();
    let mark = format!("dies-{}", std::process::id());
    let (status, body) = update(&srv, &json!([everything_config("everything", &mark)]));
    assert_eq!(
        (status, body["router_error_log"].as_str()),
        (200, Some("")),
        "{body}"
    );
    let mut mcp = Mcp::connect(&srv);
    let kill = |mark: &str| {
        let pids = marked(mark);
        assert_eq!(pids.len(), 1, "{pids:?}");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pids[0]),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        wait_until("the killed server is gone", || marked(mark).is_empty());
        pids[0]
    };
    let first = kill(&mark);
    let echo = mcp.call("echo", json!({"message": "again"}));
    assert_eq!(
        echo["result"]["content"][0]["text"], "Echo: again",
        "{echo}"
    );
    let second = marked(&mark);
    assert!(second.len() == 1 && second[0] != first, "{second:?}");
    kill(&mark);
    let dead = mcp.call("echo", json!({"message": "once more"}));
    let text = dead.to_string();
    assert!(text.contains("already restarted once"), "{dead}");
    assert!(marked(&mark).is_empty());
}

#[test]
fn stopping_the_server_kills_its_mcp_servers() {
    let srv = Server::start();
    let mark = format!("stop-{}", std::process::id());
    assert_eq!(
        update(&srv, &json!([everything_config("everything", &mark)])).0,
        200
    );
    assert_eq!(marked(&mark).len(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(srv.runtime_pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    wait_until("the MCP server is gone with the runtime", || {
        marked(&mark).is_empty()
    });
}
