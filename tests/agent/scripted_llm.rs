//! A scripted LLM server on loopback: real HTTP, speaking OpenAI chat completions or Anthropic
//! Messages, whole or streamed (chunked SSE) as each request asks, answering from a list of replies.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use openhands_lsp::llm::{LlmConfig, Provider};
use serde_json::{Value, json};

use render::{Plan, anthropic_events, anthropic_whole, openai_events, openai_whole};

/// Response bodies and SSE events of both wire formats.
#[path = "scripted_llm/render.rs"]
mod render;
/// Token counts and prompt caching as providers report them.
#[path = "scripted_llm/usage.rs"]
pub mod usage;

pub use usage::Reported;

/// Usage every successful reply reports.
pub const PROMPT_TOKENS: u64 = 100;
pub const COMPLETION_TOKENS: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
}

/// A reply that makes one native tool call and says nothing else: what most scripted steps are.
pub fn tool(name: &str, args: Value) -> Reply {
    Reply::Tools {
        text: String::new(),
        calls: vec![(name.into(), args)],
    }
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// An assistant message without tool calls.
    Text(String),
    /// Tool calls (name, args); args serialized to JSON text and streamed in several pieces.
    Tools {
        text: String,
        calls: Vec<(String, Value)>,
    },
    /// One tool call with raw (possibly invalid) arguments text.
    RawArgs { name: String, arguments: String },
    Status {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// Accept, read, answer nothing for this long, then close.
    Hang(Duration),
    /// Start an SSE stream with this text, then drop the connection in the middle of a chunk.
    CutStream(String),
    /// A 200 with no choices / no content blocks.
    Empty,
    /// Extra: a stream with this text that closes cleanly but never sends its end marker.
    Truncated(String),
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Reply>,
    requests: Vec<Value>,
    headers: Vec<Vec<(String, String)>>,
    /// `Some`: usage counted from each request with prompt caching; `None`: fixed usage.
    cache: Option<usage::Cache>,
    usages: Vec<Reported>,
    /// Answers requests that offer no tools (the condenser's summariser) instead of the script; gets
    /// the body and how many such requests came before.
    untooled: Option<Untooled>,
    untooled_seen: usize,
    /// Every response and tool call has the same id, as some OpenAI-compatible servers answer.
    same_ids: bool,
}

/// How the server answers a request that offers no tools.
pub type Untooled = fn(&Value, usize) -> Reply;

pub struct ScriptedLlm {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    wire: Wire,
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ScriptedLlm {
    /// When the script is exhausted, every request gets a 500 "script exhausted".
    pub fn start(wire: Wire, script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the scripted LLM server");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Shared {
            script: script.into(),
            ..Shared::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_shared, thread_stop) = (shared.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = thread_shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, wire, &shared);
                });
            }
        });
        Self {
            base_url: format!("http://{addr}/v1"),
            wire,
            addr,
            shared,
            stop,
        }
    }

    /// Every JSON request body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared).requests.clone()
    }

    /// Reports usage as a provider would: prompt tokens from each request's size, and the cached prefix
    /// (see `usage`), instead of the fixed `PROMPT_TOKENS`.
    pub fn count_tokens(self) -> Self {
        lock(&self.shared).cache = Some(usage::Cache::default());
        self
    }

    /// Requests that offer no tools (the summariser's) are answered by `f`, not from the script.
    pub fn answer_untooled(self, f: Untooled) -> Self {
        lock(&self.shared).untooled = Some(f);
        self
    }

    /// Answers every request with the same response id and tool-call ids (`chatcmpl-0`, `call_0_0`), as
    /// some OpenAI-compatible servers do.
    pub fn same_ids(self) -> Self {
        lock(&self.shared).same_ids = true;
        self
    }

    /// The usage reported for every answered request, in order.
    pub fn usages(&self) -> Vec<Reported> {
        lock(&self.shared).usages.clone()
    }

    /// Adds replies at the end of the script.
    pub fn push(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared).script.extend(replies);
    }

    /// The headers of every request (names lowercased), in order.
    pub fn request_headers(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.shared).headers.clone()
    }

    /// A config pointing here: native tools, fast retries, a 5 s timeout, streaming.
    pub fn config(&self) -> LlmConfig {
        LlmConfig {
            model: "scripted-model".into(),
            provider: match self.wire {
                Wire::OpenAi => Provider::OpenAi,
                Wire::Anthropic => Provider::Anthropic,
            },
            api_key: Some("sk-test-secret".into()),
            base_url: self.base_url.clone(),
            native_tool_calling: Some(true),
            temperature: None,
            reasoning_effort: None,
            max_output_tokens: None,
            timeout: Duration::from_secs(5),
            num_retries: 3,
            retry_min_wait: Duration::from_millis(10),
            retry_max_wait: Duration::from_millis(50),
            retry_multiplier: 2.0,
            input_cost_per_token: None,
            output_cost_per_token: None,
            cache_read_cost_per_token: None,
            cache_write_cost_per_token: None,
            max_input_tokens: None,
            stream: true,
            vision: None,
        }
    }
}

impl Drop for ScriptedLlm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut conn: TcpStream, wire: Wire, shared: &Mutex<Shared>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    conn.set_nodelay(true)?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            headers.push((name, value));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let expected = match wire {
        Wire::OpenAi => "/v1/chat/completions",
        Wire::Anthropic => "/v1/messages",
    };
    if path != expected {
        return write_status(&mut conn, 404, &format!("no route {path}"), None);
    }
    let streaming = body["stream"] == json!(true);
    let (reply, n, usage) = {
        let mut shared = lock(shared);
        let usage = match shared.cache.as_mut() {
            Some(cache) => cache.report(wire, &body, COMPLETION_TOKENS),
            None => Reported {
                prompt: PROMPT_TOKENS,
                completion: COMPLETION_TOKENS,
                ..Reported::default()
            },
        };
        let untooled = shared
            .untooled
            .filter(|_| body["tools"].as_array().is_none_or(Vec::is_empty));
        let reply = match untooled {
            Some(f) => {
                shared.untooled_seen += 1;
                Some(f(&body, shared.untooled_seen - 1))
            }
            None => shared.script.pop_front(),
        };
        shared.requests.push(body);
        shared.headers.push(headers);
        if matches!(
            reply,
            Some(Reply::Text(_) | Reply::Tools { .. } | Reply::RawArgs { .. })
        ) {
            shared.usages.push(usage);
        }
        let n = if shared.same_ids {
            0
        } else {
            shared.requests.len()
        };
        (reply, n, usage)
    };
    let reply = reply.unwrap_or(Reply::Status {
        status: 500,
        body: "script exhausted".into(),
        retry_after: None,
    });
    let plan = match reply {
        Reply::Status {
            status,
            body,
            retry_after,
        } => return write_status(&mut conn, status, &body, retry_after),
        Reply::Hang(duration) => {
            std::thread::sleep(duration);
            return Ok(());
        }
        Reply::CutStream(text) => return write_cut(&mut conn, wire, n, &text, true),
        Reply::Truncated(text) => return write_cut(&mut conn, wire, n, &text, false),
        Reply::Text(text) => Plan {
            text,
            calls: Vec::new(),
        },
        Reply::Tools { text, calls } => Plan {
            text,
            calls: calls
                .into_iter()
                .map(|(name, args)| (name, args.to_string()))
                .collect(),
        },
        Reply::RawArgs { name, arguments } => Plan {
            text: String::new(),
            calls: vec![(name, arguments)],
        },
        Reply::Empty => Plan {
            text: String::new(),
            calls: Vec::new(),
        },
    };
    match (wire, streaming) {
        (Wire::OpenAi, false) => write_json(&mut conn, &openai_whole(&plan, n, usage)),
        (Wire::Anthropic, false) => write_json(&mut conn, &anthropic_whole(&plan, n, usage)),
        (Wire::OpenAi, true) => write_sse(&mut conn, &openai_events(&plan, n, usage), true),
        (Wire::Anthropic, true) => write_sse(&mut conn, &anthropic_events(&plan, n, usage), true),
    }
}

fn write_status(
    conn: &mut TcpStream,
    status: u16,
    body: &str,
    retry_after: Option<u64>,
) -> std::io::Result<()> {
    let retry = retry_after
        .map(|s| format!("Retry-After: {s}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())?;
    conn.flush()
}

fn write_json(conn: &mut TcpStream, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())?;
    conn.flush()
}

/// One SSE event per HTTP chunk, a moment apart so the client sees them arrive separately.
fn write_sse(
    conn: &mut TcpStream,
    events: &[(Option<&str>, String)],
    terminate: bool,
) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    conn.write_all(head.as_bytes())?;
    for (name, data) in events {
        let event = match name {
            Some(name) => format!("event: {name}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        conn.write_all(format!("{:x}\r\n{event}\r\n", event.len()).as_bytes())?;
        conn.flush()?;
        std::thread::sleep(Duration::from_millis(2));
    }
    if terminate {
        conn.write_all(b"0\r\n\r\n")?;
    }
    conn.flush()
}

/// The opening events of a text reply; `cut` then announces a chunk and drops the connection inside it.
fn write_cut(
    conn: &mut TcpStream,
    wire: Wire,
    n: usize,
    text: &str,
    cut: bool,
) -> std::io::Result<()> {
    let plan = Plan {
        text: text.to_string(),
        calls: Vec::new(),
    };
    let usage = Reported {
        prompt: PROMPT_TOKENS,
        completion: COMPLETION_TOKENS,
        ..Reported::default()
    };
    let mut events = match wire {
        Wire::OpenAi => openai_events(&plan, n, usage),
        Wire::Anthropic => anthropic_events(&plan, n, usage),
    };
    // Keep the text, drop the finish and end events.
    events.truncate(events.len().saturating_sub(3));
    write_sse(conn, &events, !cut)?;
    if cut {
        conn.write_all(b"40\r\ndata: {\"choi")?;
        conn.flush()?;
        conn.shutdown(std::net::Shutdown::Both)?;
    }
    Ok(())
}
