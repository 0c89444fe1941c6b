//! Starts a real server process per test and offers small HTTP helpers around it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

pub const KEY: &str = "test-key";

pub struct ServerBuilder {
    key: Option<String>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    workdir: Option<PathBuf>,
    under_parent: bool,
}

impl ServerBuilder {
    pub fn no_key(mut self) -> Self {
        self.key = None;
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }
    /// Leaves the browser enabled (the builder disables it by default: most tests need no Chromium).
    pub fn with_browser(mut self) -> Self {
        self.args.retain(|a| a != "--no-enable-browser");
        self
    }
    pub fn workdir(mut self, dir: &Path) -> Self {
        self.workdir = Some(dir.to_path_buf());
        self
    }
    /// Starts the server from an intermediate `sh` (then `child`), as an editor or the CLI would be its
    /// parent: killing `child` is the parent's death. The server's own pid is `runtime_pid`.
    pub fn under_parent(mut self) -> Self {
        self.under_parent = true;
        self
    }

    pub fn start(self) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let workdir = match self.workdir {
            Some(d) => d,
            None => {
                let d = tmp.path().join("workspace");
                std::fs::create_dir_all(&d).unwrap();
                d.canonicalize().unwrap()
            }
        };
        let mut cmd = if self.under_parent {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(r#""$0" "$@" & echo "runtime pid $!" >&2; wait"#)
                .arg(env!("CARGO_BIN_EXE_openhands-runtime"));
            sh
        } else {
            Command::new(env!("CARGO_BIN_EXE_openhands-runtime"))
        };
        cmd.arg("0")
            .arg("--working-dir")
            .arg(&workdir)
            .args(&self.args)
            .env_remove("SESSION_API_KEY")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(k) = &self.key {
            cmd.env("SESSION_API_KEY", k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn openhands-runtime");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("openhands-runtime listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.to_owned());
                }
                log2.lock().unwrap().push_str(&line);
                log2.lock().unwrap().push('\n');
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; stderr:\n{}", log.lock().unwrap());
            }
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let runtime_pid = if self.under_parent {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                let log = log.lock().unwrap().clone();
                if let Some(pid) = log
                    .lines()
                    .find_map(|l| l.strip_prefix("runtime pid "))
                    .and_then(|p| p.trim().parse().ok())
                {
                    break pid;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "no runtime pid: {log}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        } else {
            child.id()
        };
        Server {
            runtime_pid,
            child,
            base,
            key: self.key,
            workdir,
            _tmp: tmp,
            client,
            log,
        }
    }
}

pub struct Server {
    /// The server process, or its parent `sh` when started `under_parent`.
    pub child: Child,
    /// The server process itself.
    pub runtime_pid: u32,
    pub base: String,
    pub key: Option<String>,
    pub workdir: PathBuf,
    _tmp: tempfile::TempDir,
    pub client: Client,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            key: Some(KEY.into()),
            env: Vec::new(),
            args: vec!["--no-enable-browser".into()],
            workdir: None,
            under_parent: false,
        }
    }

    pub fn start() -> Server {
        Self::builder().start()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn authed(&self, rb: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.key {
            Some(k) => rb.header("X-Session-API-Key", k),
            None => rb,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.authed(self.client.get(self.url(path))).send().unwrap()
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.authed(self.client.post(self.url(path)).json(body))
            .send()
            .unwrap()
    }

    pub fn post_raw(&self, path: &str, body: &'static [u8]) -> Response {
        self.authed(
            self.client
                .post(self.url(path))
                .header("content-type", "application/json")
                .body(body),
        )
        .send()
        .unwrap()
    }

    /// POSTs `{"action": action}` and returns (status, body).
    pub fn exec_status(&self, action: Value) -> (u16, Value) {
        let resp = self.post_json("/execute_action", &json!({ "action": action }));
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// POSTs an action that must succeed with HTTP 200; returns the observation.
    pub fn exec(&self, action: Value) -> Value {
        let (status, body) = self.exec_status(action.clone());
        assert_eq!(status, 200, "action {action} gave {status}: {body}");
        body
    }

    /// The canonical client body OpenHands sends for a command: blocking false, hard timeout 120 s.
    pub fn run(&self, command: &str) -> Value {
        self.exec(run_action(command, false, Some(120.0)))
    }

    pub fn stderr_log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `run` action dict as OpenHands' client serializes it.
pub fn run_action(command: &str, is_input: bool, timeout: Option<f64>) -> Value {
    let mut v = json!({
        "message": format!("Running command: {command}"),
        "action": "run",
        "args": {
            "command": command, "is_input": is_input, "thought": "", "blocking": false,
            "is_static": false, "cwd": null, "hidden": false,
            "confirmation_state": "confirmed", "security_risk": -1
        }
    });
    if let Some(t) = timeout {
        v["timeout"] = json!(t);
    }
    v
}

/// A `read` action dict.
pub fn read_action(path: &str) -> Value {
    json!({"action": "read", "args": {"path": path, "start": 0, "end": -1, "thought": "",
        "security_risk": -1, "impl_source": "default", "view_range": null}, "timeout": 120.0})
}

/// A `write` action dict.
pub fn write_action(path: &str, content: &str) -> Value {
    json!({"action": "write", "args": {"path": path, "content": content, "start": 0, "end": -1,
        "thought": "", "security_risk": -1}, "timeout": 120.0})
}

/// An `edit` action dict; `extra` fields (old_str, new_str, ...) are merged into `args`.
pub fn edit_action(path: &str, command: &str, extra: Value) -> Value {
    let mut args = json!({"path": path, "command": command, "file_text": null, "old_str": null,
        "new_str": null, "insert_line": null, "content": "", "start": 1, "end": -1, "thought": "",
        "security_risk": -1, "impl_source": "oh_aci"});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            args[k] = v;
        }
    }
    json!({"message": "", "action": "edit", "args": args, "timeout": 120.0})
}
