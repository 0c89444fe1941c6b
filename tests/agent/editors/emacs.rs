//! Emacs 29+ with `editors/emacs/openhands.el` over its built-in Eglot (`scripts/emacs-setup` installs it):
//! the file byte-compiles without warnings, and in `emacs --batch` a task started with `openhands-task`
//! edits the open buffer without Emacs asking anything, leaving it unsaved, and approvals are answered
//! through openhands.el's own functions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Emacs 29 or later on PATH (or `OPENHANDS_EMACS`); None, after saying why, when there is none.
fn emacs() -> Option<String> {
    let emacs = std::env::var("OPENHANDS_EMACS").unwrap_or_else(|_| "emacs".into());
    let major = Command::new(&emacs)
        .args(["-Q", "--batch", "--eval", "(princ emacs-major-version)"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.trim().parse::<u32>().ok());
    match major {
        Some(v) if v >= 29 => Some(emacs),
        Some(v) => {
            eprintln!(
                "skipped: Emacs {v} is too old for openhands.el (scripts/emacs-setup installs 30)"
            );
            None
        }
        None => {
            eprintln!(
                "skipped: no Emacs (scripts/emacs-setup installs it, or set OPENHANDS_EMACS)"
            );
            None
        }
    }
}

#[test]
fn openhands_el_byte_compiles_without_warnings() {
    let Some(emacs) = emacs() else { return };
    let dir = tempfile::tempdir().unwrap();
    let el = dir.path().join("openhands.el");
    std::fs::copy(Path::new(REPO).join("editors/emacs/openhands.el"), &el).unwrap();
    let out = Command::new(&emacs)
        .args([
            "-Q",
            "--batch",
            "--eval",
            "(setq byte-compile-error-on-warn t)",
        ])
        .args(["-f", "batch-byte-compile"])
        .arg(&el)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "byte-compile failed:\n{log}");
    assert_eq!(log, "", "the compiler said something");
    assert!(dir.path().join("openhands.elc").exists());
    // The documentation strings follow Emacs' conventions, so the package reads well in C-h f.
    let out = Command::new(&emacs)
        .args(["-Q", "--batch", "--eval"])
        .arg(format!("(checkdoc-file {:?})", el.display().to_string()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "checkdoc");
}

/// A workspace with `notes.txt` open in batch Emacs running `emacs_task.el` against `llm`, with
/// `openhands-confirm-edits` set or not; what the driver saw, and the workspace.
struct Run {
    seen: Value,
    log: String,
    ws: PathBuf,
    /// Holds the workspace; bind it by name, or it is deleted at once.
    _dir: tempfile::TempDir,
}

fn run(emacs: &str, llm: &ScriptedLlm, confirm: bool) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().canonicalize().unwrap();
    let ws = home.join("ws");
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    let file = ws.join("notes.txt");
    std::fs::write(&file, "first line\nsecond line\n").unwrap();
    std::fs::write(ws.join("a.txt"), "a").unwrap();
    std::fs::write(ws.join("b.txt"), "b").unwrap();
    let out = home.join("out.json");
    let mut child = Command::new(emacs)
        .args(["-Q", "--batch", "-l"])
        .arg(Path::new(REPO).join("tests/agent/editors/emacs_task.el"))
        .current_dir(&ws)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("OPENHANDS_DATA_DIR", home.join("data"))
        .env("LLM_MODEL", "scripted-model")
        .env("LLM_BASE_URL", &llm.base_url)
        .env("LLM_API_KEY", "sk-test-secret")
        .env("LLM_NATIVE_TOOL_CALLING", "true")
        .env("LLM_NUM_RETRIES", "0")
        .env(
            "OPENHANDS_EL",
            Path::new(REPO).join("editors/emacs/openhands.el"),
        )
        .env("OPENHANDS_LSP", env!("CARGO_BIN_EXE_openhands-lsp"))
        .env("OPENHANDS_TEST_FILE", &file)
        .env("OPENHANDS_TEST_OUT", &out)
        .env("OPENHANDS_TEST_LLM_WAITING", home.join("llm-waiting"))
        .env("OPENHANDS_TEST_CONFIRM", if confirm { "1" } else { "0" })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second approval's answer, typed into batch Emacs' minibuffer.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Allow once\n")
        .unwrap();
    // The driver stops the last task once the model holds its request (the eighth).
    let waiting = home.join("llm-waiting");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if llm.requests().len() >= 8 && !waiting.exists() {
            std::fs::write(&waiting, "").unwrap();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let log = format!(
        "emacs stdout:\n{}\nemacs stderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = serde_json::from_str(
        &std::fs::read_to_string(&out).unwrap_or_else(|_| panic!("no {}\n{log}", out.display())),
    )
    .unwrap();
    Run {
        seen,
        log,
        ws,
        _dir: dir,
    }
}

fn requests_text(llm: &ScriptedLlm, n: usize) -> String {
    llm.requests()
        .get(n)
        .map(|r| r.to_string())
        .unwrap_or_default()
}

fn finished(seen: &Value) -> Vec<&Value> {
    seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.as_str().unwrap().starts_with("OpenHands finished"))
        .collect()
}

const EDITED: &str = "first line, edited by the agent\nsecond line\n";

fn edit_then_finish() -> Vec<Reply> {
    vec![
        tool(
            "str_replace_editor",
            json!({"command": "str_replace", "path": "notes.txt",
                   "old_str": "first line", "new_str": "first line, edited by the agent"}),
        ),
        tool("finish", json!({"message": "edited"})),
    ]
}

#[test]
fn a_task_edits_the_open_buffer_without_a_question_and_approvals_are_asked() {
    let Some(emacs) = emacs() else { return };
    let mut script = edit_then_finish();
    script.extend([
        tool("execute_bash", json!({"command": "rm a.txt"})),
        tool("execute_bash", json!({"command": "rm b.txt"})),
        tool("finish", json!({"message": "cleaned up"})),
        Reply::Text("Which notes should I look at?".into()),
        tool("finish", json!({"message": "answered"})),
        Reply::Hang(Duration::from_secs(30)),
    ]);
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let Run {
        seen,
        log,
        ws,
        _dir,
    } = run(&emacs, &llm, false);
    let titles = json!(["Allow once", "Allow for this conversation", "Reject"]);
    // The server's own one-line status races openhands-status' list; it is checked on its own.
    let status = "OpenHands: 2 task(s); last t2 is finished";
    let messages: Vec<&Value> = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| *m != status)
        .collect();
    assert!(
        seen["messages"]
            .as_array()
            .unwrap()
            .contains(&json!(status))
    );
    assert_eq!(
        json!({
            "failure": seen["failure"],
            "questions": seen["questions"],
            "messages": messages,
            "approvals": seen["approvals"],
            "buffer": seen["buffer"],
            "modified": seen["modified"],
            "saved": seen["saved"],
        }),
        json!({
            "failure": null,
            "questions": [],
            "messages": [
                "OpenHands is on it (task t1)",
                "OpenHands finished: edited",
                "OpenHands is on it (task t2)",
                "OpenHands finished: cleaned up",
                "t1 finished: say on this line that the agent edited it\n\
                 t2 finished: remove the scratch files",
                "OpenHands is on it (task t3)",
                // In full: the server's status line cuts it at 70 characters.
                "OpenHands asks (answer with M-x openhands-reply): Which notes should I look at?",
                "OpenHands continues (task t4)",
                "OpenHands finished: answered",
                "OpenHands is on it (task t5)",
                "OpenHands: cancelling task t5",
                "OpenHands: task cancelled",
            ],
            "approvals": [
                ["OpenHands wants to run: $ rm a.txt (it deletes files)  [#a1]", titles, "Reject"],
                ["OpenHands wants to run: $ rm b.txt (it deletes files)  [#a2]", titles, "Allow once"],
            ],
            "buffer": EDITED,
            "modified": true,
            "saved": EDITED,
        }),
        "{log}"
    );
    // What the user read in the echo area: the command and the keys that answer.
    assert!(
        log.contains(
            "OpenHands wants to run: $ rm a.txt (it deletes files)  [#a1]\n \
             ([Y]es, once, [A]lways in this conversation, [N]o, [?]): "
        ),
        "{log}"
    );
    let transcript = seen["transcript"][0].as_str().unwrap();
    assert!(
        transcript.starts_with(".openhands/transcripts/")
            && transcript.ends_with(".md")
            && seen["transcript"][1] == json!(true),
        "openhands-transcript opened the conversation's transcript: {}",
        seen["transcript"]
    );
    let reply = requests_text(&llm, 6);
    assert!(
        reply.contains("Which notes should I look at?") && reply.contains("notes.txt, please"),
        "the reply continued the conversation: {reply}"
    );
    // Eglot's mode-line indicator followed each task to its end.
    let progress: Vec<&str> = seen["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        progress.iter().all(|p| p.starts_with("OpenHands "))
            && progress
                .iter()
                .any(|p| p.ends_with("OpenHands finished: edited"))
            && progress
                .iter()
                .any(|p| p.ends_with("OpenHands finished: cleaned up")),
        "{progress:#?}"
    );
    let requests = llm.requests();
    let first = requests[0].to_string();
    assert!(
        first.contains("say on this line that the agent edited it")
            && first.contains("notes.txt, lines 1-1)"),
        "the region's file and lines went with the prompt: {first}"
    );
    let after_first_rm = requests[3].to_string();
    assert!(
        after_first_rm.contains("Action has been rejected by the user!"),
        "the rejection reached the agent: {after_first_rm}"
    );
    assert!(ws.join("a.txt").exists(), "the rejected rm did not run");
    assert!(!ws.join("b.txt").exists(), "the allowed rm ran");
}

#[test]
fn with_openhands_confirm_edits_the_edit_is_asked_first_and_unsaved_typing_reaches_the_agent() {
    let Some(emacs) = emacs() else { return };
    let llm = ScriptedLlm::start(Wire::OpenAi, edit_then_finish());
    let Run {
        seen,
        log,
        ws,
        _dir,
    } = run(&emacs, &llm, true);
    let file = ws.join("notes.txt").display().to_string();
    assert_eq!(
        json!({
            "failure": seen["failure"],
            "questions": seen["questions"],
            "finished": finished(&seen),
            "buffer": seen["buffer"],
            "modified": seen["modified"],
        }),
        json!({
            "failure": null,
            "questions": [format!(
                "y-or-n-p (\"[eglot] Server wants to edit:\n  {file} (1 change)\nProceed? \")"
            )],
            "finished": ["OpenHands finished: edited"],
            "buffer": format!("{EDITED}third line typed by the user\n"),
            "modified": true,
        }),
        "{log}"
    );
    let seen_by_agent = requests_text(&llm, 1);
    assert!(
        seen_by_agent.contains("third line typed by the user"),
        "the agent's edit saw the unsaved line: {seen_by_agent}"
    );
}
