//! Integration tests of the HTTP layer: open and keyed routes, error statuses and bodies, startup checks.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::*;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn status_and_json(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// Bad requests must not take the server down.
fn assert_alive(srv: &Server) {
    assert_eq!(
        status_and_json(srv.get("/alive")),
        (200, json!({"status": "ok"}))
    );
}

#[test]
fn alive_and_server_info_need_no_key() {
    let srv = Server::start();
    let alive = srv.client.get(srv.url("/alive")).send().unwrap();
    assert_eq!(status_and_json(alive), (200, json!({"status": "ok"})));
    let wrong_key = srv
        .client
        .get(srv.url("/alive"))
        .header("X-Session-API-Key", "wrong")
        .send()
        .unwrap();
    assert_eq!(status_and_json(wrong_key), (200, json!({"status": "ok"})));

    let (status, info) = status_and_json(srv.client.get(srv.url("/server_info")).send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(keys(&info), ["uptime", "idle_time", "resources", "browser"]);
    assert_eq!(info["browser"]["status"], "disabled", "{info}");
    assert!(info["uptime"].as_f64().unwrap() >= 0.0, "{info}");
    assert!(info["idle_time"].as_f64().unwrap() >= 0.0, "{info}");
    let res = &info["resources"];
    assert_eq!(keys(res), ["cpu_percent", "memory", "disk", "io"]);
    assert!(res["cpu_percent"].as_f64().unwrap() >= 0.0, "{info}");

    let mem = &res["memory"];
    assert_eq!(keys(mem), ["rss", "vms", "percent"]);
    let rss = mem["rss"].as_u64().expect("rss is an integer");
    assert!(rss > 0 && mem["vms"].as_u64().unwrap() >= rss, "{info}");
    let percent = mem["percent"].as_f64().unwrap();
    assert!(percent > 0.0 && percent <= 100.0, "{info}");

    let disk = &res["disk"];
    assert_eq!(keys(disk), ["total", "used", "free", "percent"]);
    let total = disk["total"].as_u64().expect("total is an integer");
    let used = disk["used"].as_u64().unwrap();
    let free = disk["free"].as_u64().unwrap();
    assert!(total > 0 && used + free <= total, "{info}");
    let percent = disk["percent"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&percent), "{info}");

    let io = &res["io"];
    assert_eq!(keys(io), ["read_bytes", "write_bytes"]);
    assert!(
        io["read_bytes"].is_u64() && io["write_bytes"].is_u64(),
        "{info}"
    );
}

#[test]
fn idle_time_restarts_with_each_action() {
    let srv = Server::start();
    std::thread::sleep(std::time::Duration::from_millis(600));
    let before = srv.get("/server_info").json::<Value>().unwrap();
    assert!(before["idle_time"].as_f64().unwrap() >= 0.5, "{before}");
    // Any action counts, even one the runtime refuses to run.
    srv.exec_status(json!({"action": "browse", "args": {"url": "http://127.0.0.1:1/"}}));
    let after = srv.get("/server_info").json::<Value>().unwrap();
    assert!(after["idle_time"].as_f64().unwrap() < 0.5, "{after}");
    assert!(after["uptime"].as_f64().unwrap() >= 0.5, "{after}");
}

#[test]
fn a_missing_or_wrong_key_is_refused_everywhere_else() {
    let srv = Server::start();
    let action = json!({"action": {"action": "run", "args": {"command": "echo hi"}}});
    for key in [None, Some("wrong"), Some("")] {
        let requests = [
            srv.client.post(srv.url("/execute_action")).json(&action),
            srv.client.post(srv.url("/list_files")).json(&json!({})),
            srv.client.get(srv.url("/nonexistent")),
            srv.client.get(srv.url("/download_files?path=/etc")),
            srv.client.get(srv.url("/vscode/connection_token")),
        ];
        for rb in requests {
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
    assert_alive(&srv);
}

#[test]
fn without_a_configured_key_every_route_is_open() {
    let srv = Server::builder().no_key().start();
    let listed = srv
        .client
        .post(srv.url("/list_files"))
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(status_and_json(listed), (200, json!([])));
    let token = srv
        .client
        .get(srv.url("/vscode/connection_token"))
        .header("X-Session-API-Key", "anything")
        .send()
        .unwrap();
    assert_eq!(status_and_json(token), (200, json!({"token": null})));
}

#[test]
fn unknown_routes_and_wrong_methods_answer_json() {
    let srv = Server::start();
    assert_eq!(
        status_and_json(srv.get("/nope")),
        (404, json!({"detail": "Not Found"}))
    );
    assert_eq!(
        status_and_json(srv.post_json("/alive", &json!({}))),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    assert_eq!(
        status_and_json(srv.get("/execute_action")),
        (405, json!({"detail": "Method Not Allowed"}))
    );
    assert_alive(&srv);
}

#[test]
fn the_vscode_token_is_null_without_the_plugin() {
    let srv = Server::start();
    assert_eq!(
        status_and_json(srv.get("/vscode/connection_token")),
        (200, json!({"token": null}))
    );
}

#[test]
fn malformed_execute_bodies_are_422() {
    let srv = Server::start();
    for body in [&b"{not json"[..], b"", b"[1, 2]", br#"{"foo": 1}"#] {
        let resp = srv.post_raw("/execute_action", body);
        let (status, detail) = status_and_json(resp);
        assert_eq!(status, 422, "{}: {detail}", String::from_utf8_lossy(body));
        assert!(detail["detail"].is_string(), "{detail}");
        assert_alive(&srv);
    }
}

#[test]
fn undecodable_actions_are_400_naming_the_problem() {
    let srv = Server::start();
    let cases = [
        (
            json!({"action": "does_not_exist", "args": {}}),
            "does_not_exist",
        ),
        (json!({"action": "run", "args": {}}), "command"),
        (
            json!({"action": "run", "args": {"command": 5}}),
            "wrong arguments for action 'run': `command`: invalid type: integer `5`, expected a string",
        ),
        (json!({"action": "read", "args": {"path": ["a"]}}), "`path`"),
        (json!({"action": "run", "args": "echo hi"}), "args"),
        (
            json!({"action": "run", "args": {"command": "true"}, "timeout": "soon"}),
            "timeout",
        ),
    ];
    for (action, named) in cases {
        let (status, body) = srv.exec_status(action.clone());
        assert_eq!(status, 400, "{action}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "{action}: {detail}");
        assert_alive(&srv);
    }
}

#[test]
fn actions_the_runtime_does_not_run_are_400() {
    let srv = Server::start();
    for kind in ["think", "finish", "message", "null"] {
        let (status, body) = srv.exec_status(json!({"action": kind, "args": {}}));
        assert_eq!(status, 400, "{kind}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(kind), "{kind}: {detail}");
        assert_alive(&srv);
    }
}

#[test]
fn ipython_without_jupyter_is_an_error_observation() {
    let srv = Server::start();
    let action = json!({"message": "Running Python code interactively: print(1)", "action": "run_ipython",
        "args": {"code": "print(1)", "thought": "", "include_extra": true, "confirmation_state": "confirmed",
            "security_risk": -1, "kernel_init_code": ""}, "timeout": 120});
    let text = "JupyterRequirement not found. Unable to run IPython action.";
    assert_eq!(
        srv.exec(action),
        json!({"message": text, "observation": "error", "content": text, "extras": {"error_id": ""}})
    );
}

#[test]
fn browsing_is_an_error_observation() {
    let srv = Server::start();
    let text = "Browser functionality is not supported or disabled.";
    let expected = json!({"message": text, "observation": "error", "content": text, "extras": {"error_id": ""}});
    let browse = json!({"message": "I am browsing the URL: http://127.0.0.1:1/", "action": "browse",
        "args": {"url": "http://127.0.0.1:1/", "thought": "", "security_risk": -1, "return_axtree": false},
        "timeout": 120});
    assert_eq!(srv.exec(browse), expected);
    let interactive = json!({"action": "browse_interactive",
        "args": {"browser_actions": "goto('http://127.0.0.1:1/')", "thought": "", "browsergym_send_msg_to_user": "",
            "return_axtree": false}});
    assert_eq!(srv.exec(interactive), expected);
}

#[test]
fn the_server_binds_loopback_by_default() {
    let srv = Server::start();
    assert!(srv.base.starts_with("http://127.0.0.1:"), "{}", srv.base);
}

/// Runs the server without a key with `args` until it exits by itself; its output and stderr.
fn start_without_key(args: &[&str]) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_openhands-runtime"))
        .arg("0")
        .arg("--working-dir")
        .arg(dir.path())
        .args(args)
        .env_remove("SESSION_API_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn an_unknown_plugin_stops_startup_with_code_2() {
    let (out, stderr) = start_without_key(&["--plugins", "agent_skills", "foo"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'foo'"), "{stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}

/// `Duration::from_secs_f64(1e308)` used to panic the action's task: a 500. Now a 400 naming the problem.
#[test]
fn absurd_timeouts_are_400_naming_the_problem() {
    let srv = Server::start();
    for (timeout, shown) in [
        (json!(1e308), "1e308"),
        (json!(-1), "-1"),
        (json!(1e20), "1e20"),
    ] {
        let mut action = run_action("echo hi", false, None);
        action["timeout"] = timeout;
        assert_eq!(
            srv.exec_status(action),
            (
                400,
                json!({"detail": format!(
                    "`timeout` must be a number of seconds between 0 and 31536000 (a year), got {shown}"
                )})
            ),
            "{shown}"
        );
    }
    let mut noop =
        json!({"action": "browse_interactive", "args": {"browser_actions": "noop(1e308)"}});
    noop["timeout"] = json!(1e308);
    assert_eq!(srv.exec_status(noop).0, 400);
    assert_eq!(srv.run("echo fine")["content"], "fine");
    assert_alive(&srv);
}

/// The POST a web page can make without a preflight (text/plain, a form), a foreign Origin, and DNS
/// rebinding (a foreign Host) are refused by a keyless server, and nothing runs.
#[test]
fn a_keyless_server_refuses_web_pages() {
    let srv = Server::builder().no_key().start();
    let port = srv.base.rsplit(':').next().unwrap().to_owned();
    let body = json!({"action": run_action("touch ran", false, Some(10.0))}).to_string();
    let post = |path: &str, headers: &[(&str, &str)], body: String| {
        let mut rb = srv.client.post(srv.url(path)).body(body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        status_and_json(rb.send().unwrap())
    };
    let text_plain = post(
        "/execute_action",
        &[("content-type", "text/plain")],
        body.clone(),
    );
    assert_eq!(
        text_plain,
        (
            415,
            json!({"detail": "The body must be JSON sent with `Content-Type: application/json`, got 'text/plain'"})
        )
    );
    let form = post(
        "/execute_action",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.clone(),
    );
    assert_eq!(form.0, 415, "{form:?}");
    let foreign = post(
        "/execute_action",
        &[
            ("content-type", "application/json"),
            ("origin", "http://evil.example"),
        ],
        body.clone(),
    );
    assert_eq!(
        foreign,
        (
            403,
            json!({"detail": "Cross-origin request refused: Origin 'http://evil.example' is not this server; a runtime without SESSION_API_KEY only answers local clients, not web pages"})
        )
    );
    let rebound = post(
        "/execute_action",
        &[
            ("content-type", "application/json"),
            ("host", &format!("evil.example:{port}")),
        ],
        body.clone(),
    );
    assert_eq!(rebound.0, 421, "{rebound:?}");
    assert_eq!(
        rebound.1["detail"],
        format!(
            "Host 'evil.example:{port}' does not name this server: a runtime without SESSION_API_KEY only answers requests for 127.0.0.1:{port}, localhost:{port}, [::1]:{port} (set SESSION_API_KEY to serve it under other names)"
        )
    );
    let info = srv
        .client
        .get(srv.url("/server_info"))
        .header("host", format!("evil.example:{port}"))
        .send()
        .unwrap();
    assert_eq!(info.status().as_u16(), 421);
    let upload = srv
        .client
        .post(srv.url("/upload_file?destination=/tmp"))
        .header("origin", "http://evil.example")
        .multipart(reqwest::blocking::multipart::Form::new().text("file", "x"))
        .send()
        .unwrap();
    assert_eq!(upload.status().as_u16(), 403);
    assert!(!srv.workdir.join("ran").exists(), "a refused action ran");

    // Our own clients: JSON, our own origin, any of our names; list_files with an empty body.
    let own = post(
        "/execute_action",
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("origin", &format!("http://localhost:{port}")),
            ("host", &format!("localhost:{port}")),
        ],
        body,
    );
    assert_eq!(own.0, 200, "{own:?}");
    assert!(srv.workdir.join("ran").exists());
    assert_eq!(
        post("/list_files", &[], String::new()),
        (200, json!(["ran"]))
    );
    assert_eq!(
        post(
            "/list_files",
            &[("content-type", "text/plain")],
            "{}".into()
        )
        .0,
        415
    );
}

/// The Docker runtime reaches a keyed server on 0.0.0.0 through a mapped port, so the Host it sends is
/// not the server's own: a keyed server leaves Host and Origin to its key.
#[test]
fn a_keyed_server_accepts_other_hosts_with_the_key() {
    let srv = Server::start();
    let listed = srv
        .client
        .post(srv.url("/list_files"))
        .header("X-Session-API-Key", KEY)
        .header("host", "127.0.0.1:49999")
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(status_and_json(listed), (200, json!([])));
}

#[test]
fn a_keyless_server_refuses_to_listen_beyond_loopback() {
    let (out, stderr) = start_without_key(&["--host", "0.0.0.0", "--no-enable-browser"]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        "openhands-runtime: refusing to listen on 0.0.0.0 without SESSION_API_KEY: anyone who can reach that address could run commands. Set SESSION_API_KEY (clients then send it as X-Session-API-Key), or keep the default --host 127.0.0.1"
    );
}
