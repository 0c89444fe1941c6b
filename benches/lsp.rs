//! `cargo bench -p openhands-lsp --bench lsp`: the language server's responsiveness, each figure beside its
//! baseline from the same run: `executeCommand` latency while 4 tasks run, the delay to the first
//! `$/progress`, the `applyEdit` computation for a one-line change in a 100,000-line buffer, and idle RSS.
//! Needs the release runtime: `cargo build --release -p openhands-runtime`.

#[path = "../tests/agent/lsp_frames.rs"]
mod lsp_frames;
#[path = "../tests/agent/scripted_llm.rs"]
mod scripted_llm;

use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use openhands_lsp::lsp::documents::{Documents, Encoding};
use openhands_lsp::lsp::edits::minimal_edits;
use ropey::Rope;
use serde_json::{Value, json};

use lsp_frames::{read_frames, write_frame};
use scripted_llm::{Reply, ScriptedLlm, Wire};

const RUNNING: usize = 4;
const STARTS: usize = 20;
const SAMPLES: usize = 300;

struct Client {
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn send(&mut self, msg: &Value) {
        write_frame(&mut self.stdin, msg);
    }

    /// The next message; the server's requests are answered at once, as a quick editor would.
    fn next(&mut self) -> Value {
        let msg = self
            .inbox
            .recv_timeout(Duration::from_secs(30))
            .expect("the server went quiet");
        if msg.get("method").is_some() && msg.get("id").is_some() {
            self.send(&json!({"jsonrpc": "2.0", "id": msg["id"], "result": null}));
        }
        msg
    }

    fn request(&mut self, method: &str, params: Value) -> (Value, Duration) {
        let id = self.next_id;
        self.next_id += 1;
        let t = Instant::now();
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.next();
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return (msg, t.elapsed());
            }
        }
    }

    fn wait(&mut self, f: impl Fn(&Value) -> bool) -> Value {
        loop {
            let msg = self.next();
            if f(&msg) {
                return msg;
            }
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
    (p(0.5), p(0.99))
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn status(c: &mut Client) -> Duration {
    c.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    )
    .1
}

fn main() {
    let mut script: Vec<Reply> = (0..RUNNING)
        .map(|_| Reply::Tools {
            text: String::new(),
            calls: vec![(
                "execute_bash".into(),
                json!({"command": "sleep 60", "timeout": 120}),
            )],
        })
        .collect();
    script.extend((0..STARTS).map(|_| Reply::Tools {
        text: String::new(),
        calls: vec![("finish".into(), json!({"message": "done"}))],
    }));
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"))
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("OPENHANDS_DATA_DIR", dir.path().join("data"))
        .env("LLM_MODEL", "scripted-model")
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_API_KEY", "sk-bench")
        .env("LLM_NATIVE_TOOL_CALLING", "true")
        .env("LLM_NUM_RETRIES", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut c = Client {
        stdin: child.stdin.take().unwrap(),
        inbox: read_frames(child.stdout.take().unwrap()),
        next_id: 1,
    };
    c.request(
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", ws.display()),
               "capabilities": {"window": {"workDoneProgress": true}}}),
    );
    c.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    std::thread::sleep(Duration::from_millis(300));
    let idle = rss_mib(pid);

    let quiet: Vec<Duration> = (0..SAMPLES).map(|_| status(&mut c)).collect();
    for i in 0..RUNNING {
        c.request(
            "workspace/executeCommand",
            json!({"command": "openhands.task.start", "arguments": [format!("wait {i}")]}),
        );
        c.wait(|m| {
            m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("$ sleep 60"))
        });
    }
    let busy: Vec<Duration> = (0..SAMPLES).map(|_| status(&mut c)).collect();

    // From the command to its task's `$/progress` begin (the editor answers the token request at once).
    let mut first = Vec::new();
    for _ in 0..STARTS {
        let t = Instant::now();
        let (r, _) = c.request(
            "workspace/executeCommand",
            json!({"command": "openhands.task.start", "arguments": ["quick"]}),
        );
        let token = format!("openhands/task/{}", r["result"]["taskId"].as_str().unwrap());
        c.wait(|m| m["method"] == "$/progress" && m["params"]["token"] == token.as_str());
        first.push(t.elapsed());
        c.wait(|m| {
            m["method"] == "window/showMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("OpenHands finished"))
        });
    }
    let loaded = rss_mib(pid);
    c.request("shutdown", Value::Null);
    c.send(&json!({"jsonrpc": "2.0", "method": "exit", "params": null}));
    let _ = child.wait();

    // applyEdit for a one-line change in a 100,000-line buffer, beside a line diff of the whole text.
    let old: String = (0..100_000)
        .map(|i| format!("    let value_{i} = compute({i});\n"))
        .collect();
    let new = old.replace(
        "    let value_50000 = compute(50000);\n",
        "    let value_50000 = compute(50000) + 1;\n",
    );
    let rope = Rope::from_str(&old);
    let docs = Documents::new(Encoding::Utf16);
    let edit_times: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let e = minimal_edits(&docs, &rope, &old, &new);
            let d = t.elapsed();
            assert_eq!(e.len(), 1);
            d
        })
        .collect();
    let naive_times: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            let d = similar::TextDiff::from_lines(old.as_str(), new.as_str());
            std::hint::black_box(d.ops().len());
            t.elapsed()
        })
        .collect();

    let (q50, q99) = stats(quiet);
    let (b50, b99) = stats(busy);
    let (f50, f99) = stats(first);
    let (e50, e99) = stats(edit_times);
    let (n50, _) = stats(naive_times);
    println!("openhands-lsp benchmark ({RUNNING} running tasks, {SAMPLES} samples)");
    println!(
        "executeCommand with {RUNNING} tasks running: median {b50:.3} ms, p99 {b99:.3} ms (target p99 < 10 ms); baseline with none running: median {q50:.3} ms, p99 {q99:.3} ms"
    );
    println!(
        "command to first $/progress: median {f50:.3} ms, p99 {f99:.3} ms (target < 20 ms); baseline command round trip: median {q50:.3} ms"
    );
    println!(
        "applyEdit for a 1-line change in a 100,000-line buffer: median {e50:.3} ms, p99 {e99:.3} ms (target < 1 ms); baseline whole-text line diff: median {n50:.3} ms"
    );
    println!(
        "RSS of openhands-lsp: idle {idle:.1} MiB (target < 20 MiB); after {} tasks {loaded:.1} MiB",
        RUNNING + STARTS
    );
}
