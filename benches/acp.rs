//! `cargo bench -p openhands-lsp --bench acp`: the ACP front end's overhead, each figure beside a baseline
//! from the same run: `session/prompt` to its first `session/update` with the scripted LLM answering at once,
//! whole, not streamed (beside the scripted LLM's own answer to the same request, timed by the bench, and a bare request round
//! trip: the difference is the agent's overhead), the idle RSS of `openhands-lsp acp` (beside the LSP server's), and a
//! 2,000-update `session/load` (beside reading the same conversation from storage in-process).

#[path = "../tests/agent/scripted_llm.rs"]
mod scripted_llm;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use openhands_lsp::events::{EventSource, EventStream, kinds};
use openhands_lsp::storage::{ConversationId, ConversationMeta, Storage};
use serde_json::{Value, json};

use scripted_llm::{ScriptedLlm, Wire, tool};

const PROMPTS: usize = 200;
const LOADED_EVENTS: usize = 2_000;

struct Agent {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: i64,
}

impl Agent {
    fn start(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, inbox) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        Self {
            stdin: child.stdin.take().unwrap(),
            child,
            inbox,
            next_id: 1,
        }
    }

    fn send(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin, "{line}").unwrap();
        id
    }

    fn next(&mut self) -> Value {
        self.inbox
            .recv_timeout(Duration::from_secs(60))
            .expect("the agent went quiet")
    }

    /// The response to request `id`, counting the notifications before it.
    fn response(&mut self, id: i64) -> (Value, usize) {
        let mut notes = 0;
        loop {
            let m = self.next();
            if m["id"] == json!(id) && m.get("method").is_none() {
                return (m, notes);
            }
            notes += 1;
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let (r, _) = self.response(id);
        assert!(r.get("error").is_none(), "{method}: {r}");
        r["result"].clone()
    }
}

/// The agent's settings: the scripted LLM answering each request whole (`stream = false`), at once, so the
/// time to the first update is the agent's own.
fn user_config(dir: &Path) {
    let config = dir.join("config/openhands-lsp");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[llm]\nstream = false\n").unwrap();
}

fn env(cmd: &mut Command, dir: &Path, llm: &ScriptedLlm) {
    cmd.env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("OPENHANDS_DATA_DIR", dir.join("data"))
        .env("LLM_MODEL", "scripted-model")
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_API_KEY", "sk-bench")
        .env("LLM_NATIVE_TOOL_CALLING", "true")
        .env("LLM_NUM_RETRIES", "0");
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

/// A stored conversation of `n` agent messages (one update each).
fn stored_conversation(data: &Path, ws: &Path, n: usize) -> String {
    let storage = Storage::open(data.to_path_buf()).unwrap();
    let id = ConversationId::generate();
    let meta = ConversationMeta {
        title: "a long one".into(),
        ..ConversationMeta::new(&id, ws.to_path_buf())
    };
    let log = storage.create(meta).unwrap();
    let stream = EventStream::new(Vec::new(), Some(Box::new(log)));
    stream
        .add(kinds::message("start", false), EventSource::User)
        .unwrap();
    for i in 1..n {
        let text = format!("step {i}: looked at the code and changed a line of it");
        stream
            .add(kinds::message(&text, false), EventSource::Agent)
            .unwrap();
    }
    id.to_string()
}

fn main() {
    // One answer per prompt, and one per direct request of the LLM-alone baseline.
    let script = (0..=2 * PROMPTS)
        .map(|_| tool("finish", json!({"message": "done"})))
        .collect();
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let dir = tempfile::tempdir().unwrap();
    user_config(dir.path());
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let ws = ws.canonicalize().unwrap();
    let bin = env!("CARGO_BIN_EXE_openhands-lsp");

    // Idle RSS: the ACP agent after initialize, beside the LSP server after initialize.
    let mut cmd = Command::new(bin);
    cmd.arg("acp");
    env(&mut cmd, dir.path(), &llm);
    let mut a = Agent::start(&mut cmd);
    a.request(
        "initialize",
        json!({"protocolVersion": 1, "clientCapabilities": {}}),
    );
    std::thread::sleep(Duration::from_millis(300));
    let idle = rss_mib(a.child.id());
    let mut lsp_cmd = Command::new(bin);
    env(&mut lsp_cmd, dir.path(), &llm);
    let mut lsp = lsp_cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                      "params": {"processId": null, "capabilities": {}}})
    .to_string();
    write!(
        lsp.stdin.as_mut().unwrap(),
        "Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let lsp_idle = rss_mib(lsp.id());
    let _ = lsp.kill();
    let _ = lsp.wait();

    // Prompt to first update: the first prompt starts the runtime (not measured); the next ones are the
    // agent's own overhead plus one loopback LLM answer.
    let s = a.request("session/new", json!({"cwd": ws, "mcpServers": []}));
    let sid = s["sessionId"].as_str().unwrap().to_owned();
    let prompt = |a: &mut Agent| {
        a.send(
            "session/prompt",
            json!({"sessionId": sid, "prompt": [{"type": "text", "text": "go"}]}),
        )
    };
    let id = prompt(&mut a);
    a.response(id);
    let mut first = Vec::new();
    let mut round_trip = Vec::new();
    let mut llm_alone = Vec::new();
    let addr = llm
        .base_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let body = json!({"model": "scripted-model", "stream": false,
                      "messages": [{"role": "user", "content": "go"}]})
    .to_string();
    for _ in 0..PROMPTS {
        // The scripted LLM's own answer, whole, as the agent's client would read it.
        let t = Instant::now();
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            conn,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut sink = Vec::new();
        std::io::Read::read_to_end(&mut conn, &mut sink).unwrap();
        llm_alone.push(t.elapsed());

        let t = Instant::now();
        let id = prompt(&mut a);
        loop {
            let m = a.next();
            if m["method"] == "session/update" {
                first.push(t.elapsed());
                break;
            }
        }
        a.response(id);
        let t = Instant::now();
        a.request(
            "session/set_mode",
            json!({"sessionId": sid, "modeId": "auto-edit"}),
        );
        round_trip.push(t.elapsed());
    }

    // A 2,000-update session/load, beside loading the same conversation from storage in-process.
    let data = dir.path().join("data");
    let long = stored_conversation(&data, &ws, LOADED_EVENTS);
    let mut loads = Vec::new();
    let mut updates = 0;
    for _ in 0..10 {
        let t = Instant::now();
        let id = a.send(
            "session/load",
            json!({"sessionId": long, "cwd": ws, "mcpServers": []}),
        );
        let (r, n) = a.response(id);
        loads.push(t.elapsed());
        assert!(r.get("error").is_none(), "{r}");
        updates = n;
    }
    let storage = Storage::open(data).unwrap();
    let reads: Vec<Duration> = (0..10)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(storage.load(&long).unwrap());
            t.elapsed()
        })
        .collect();
    drop(a.stdin);
    let _ = a.child.wait();

    let (f50, f99) = stats(first);
    let (r50, r99) = stats(round_trip);
    let (a50, a99) = stats(llm_alone);
    let (l50, l99) = stats(loads);
    let (s50, _) = stats(reads);
    println!("openhands-lsp acp benchmark ({PROMPTS} prompts)");
    println!(
        "session/prompt to first session/update: median {f50:.3} ms, p99 {f99:.3} ms (target p99 < 5 ms); baseline session/set_mode round trip: median {r50:.3} ms, p99 {r99:.3} ms"
    );
    println!(
        "  the scripted LLM alone (its whole answer at once, on a new connection): median {a50:.3} ms, p99 {a99:.3} ms; agent overhead (first update minus the LLM alone): median {:.3} ms, p99 {:.3} ms",
        f50 - a50,
        f99 - a99
    );
    println!(
        "RSS of openhands-lsp acp, idle: {idle:.1} MiB (target < 15 MiB); baseline the LSP server idle: {lsp_idle:.1} MiB"
    );
    println!(
        "session/load of {updates} updates: median {l50:.3} ms, p99 {l99:.3} ms (target < 100 ms); baseline loading it from storage in-process: median {s50:.3} ms"
    );
}
