//! VS Code end to end: the platform `.vsix` (with the `openhands-lsp` and `openhands-runtime` built here inside
//! it) installed into code-server 4.100.3 (VS Code 1.100.3), driven in headless Chromium by
//! `editors/vscode/test/e2e/drive.mjs`; only the model is scripted. `scripts/vscode-setup` installs code-server
//! and the extension's node modules.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::super::scripted_llm::{Reply, ScriptedLlm, Wire};

const EXT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/editors/vscode");

/// One code-server at a time: each is a browser, a workbench and an extension host on a 2-core machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn code_server() -> Option<PathBuf> {
    let path = std::env::var_os("OPENHANDS_CODE_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h)
                    .join(".cache/openhands-lsp/code-server-4.100.3/node_modules/.bin/code-server")
            })
        })?;
    path.exists().then_some(path)
}

/// What the test needs that `scripts/vscode-setup` installs; None (and a message saying why) when missing.
fn prerequisites() -> Option<PathBuf> {
    let missing = |what: &str| {
        eprintln!("skipped: {what} is not installed (run scripts/vscode-setup)");
        None
    };
    let Some(cs) = code_server() else {
        return missing("code-server 4.100.3 (~/.cache/openhands-lsp/code-server-4.100.3)");
    };
    if !Path::new("/usr/bin/chromium").exists() {
        return missing("chromium");
    }
    if !Path::new(EXT).join("node_modules/playwright-core").exists() {
        return missing("the extension's node modules (npm ci in editors/vscode)");
    }
    Some(cs)
}

/// `target/<profile>/vscode-e2e/<name>`: screenshots, the driver's report, the extension's trace.
fn output_dir(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_openhands-lsp"));
    let dir = bin.parent().unwrap().join("vscode-e2e").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The platform .vsix with this build's binaries, packaged once per test run.
fn vsix() -> &'static Path {
    static VSIX: OnceLock<PathBuf> = OnceLock::new();
    VSIX.get_or_init(|| {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_openhands-lsp"));
        let dir = bin.parent().unwrap();
        // Built by `cargo test --workspace`; the message says what to do otherwise.
        super::super::common::runtime_binary();
        let out = dir.join("vscode-e2e/openhands-lsp-linux-x64.vsix");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let status = Command::new("npm")
            .args(["run", "--silent", "package:platform"])
            .current_dir(EXT)
            .env("OPENHANDS_BIN_DIR", dir)
            .env("OPENHANDS_VSIX", &out)
            .stdout(Stdio::null())
            .status()
            .expect("run npm (is node installed?)");
        assert!(status.success(), "packaging the .vsix failed");
        out
    })
}

/// A code-server with the .vsix installed, in its own process group; killed (the group) on drop.
struct Editor {
    child: Child,
    url: String,
    settings: PathBuf,
    home: PathBuf,
    out: PathBuf,
}

impl Editor {
    fn start(
        cs: &Path,
        home: &Path,
        ws: &Path,
        out: &Path,
        settings: Value,
        env: &[(&str, &str)],
    ) -> Self {
        let user = home.join("ud/User");
        std::fs::create_dir_all(&user).unwrap();
        let mut all = json!({
            "workbench.startupEditor": "none",
            "workbench.tips.enabled": false,
            "telemetry.telemetryLevel": "off",
            "update.mode": "none",
            "extensions.autoUpdate": false,
            "extensions.autoCheckUpdates": false,
            "security.workspace.trust.enabled": false,
            "files.hotExit": "onExitAndWindowClose",
            // Desktop VS Code's default; VS Code in a browser saves a second after each change, which would
            // save the agent's edit before the test sees it unsaved.
            "files.autoSave": "off",
            // The driver edits settings.json as typed text: nothing may be added to it.
            "editor.autoClosingBrackets": "never",
            "editor.autoClosingQuotes": "never",
            "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
        });
        // A null puts VS Code's own default back (the key is left out).
        for (k, v) in settings.as_object().unwrap() {
            match v {
                Value::Null => all.as_object_mut().unwrap().remove(k),
                v => all.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        let settings = user.join("settings.json");
        std::fs::write(&settings, serde_json::to_string_pretty(&all).unwrap()).unwrap();
        let dirs = [
            "--user-data-dir".to_owned(),
            home.join("ud").display().to_string(),
            "--extensions-dir".to_owned(),
            home.join("ext").display().to_string(),
        ];
        let base = |c: &mut Command| {
            c.env_clear()
                .env("PATH", path_without_our_binaries())
                .env("HOME", home)
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_DATA_HOME", home.join("share"))
                .env("XDG_CACHE_HOME", home.join("cache"))
                .env("OPENHANDS_DATA_DIR", home.join("data"))
                .args(&dirs);
        };
        let mut install = Command::new(cs);
        base(&mut install);
        let installed = install
            .arg("--install-extension")
            .arg(vsix())
            .output()
            .unwrap();
        assert!(
            installed.status.success(),
            "installing the .vsix: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(cs);
        base(&mut cmd);
        use std::os::unix::process::CommandExt;
        cmd.envs(env.iter().copied())
            .args([
                "--bind-addr",
                &format!("127.0.0.1:{port}"),
                "--auth",
                "none",
            ])
            .args([
                "--disable-telemetry",
                "--disable-update-check",
                "--disable-workspace-trust",
                "--disable-getting-started-override",
            ])
            .arg(ws)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(home.join("code-server.log")).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(home.join("code-server.err")).unwrap(),
            ))
            .process_group(0);
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "code-server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/?folder={}", ws.display()),
            settings,
            home: home.to_owned(),
            out: out.to_owned(),
        }
    }

    /// Runs the driver; its report (`report.json` in `out`).
    fn drive(&self, mode: &str, out: &Path, expect: Value, screenshot: Option<&Path>) -> Value {
        let mut cmd = Command::new("node");
        cmd.arg("test/e2e/drive.mjs")
            .current_dir(EXT)
            .env("CS_URL", &self.url)
            .env("OUT", out)
            .env("MODE", mode)
            .env("EXPECT", expect.to_string())
            .env("SETTINGS", &self.settings);
        if let Some(s) = screenshot {
            cmd.env("SCREENSHOT", s);
        }
        let status = cmd.status().expect("run node");
        let report: Value = std::fs::read_to_string(out.join("report.json"))
            .ok()
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_else(|| panic!("the driver wrote no report ({status})"));
        report
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        // The whole group: code-server, its extension host, our server and its runtime.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
        // VS Code's logs (the OpenHands output channel among them) outlive the temporary home.
        let _ = Command::new("cp")
            .arg("-r")
            .arg(self.home.join("ud/logs"))
            .arg(self.home.join("code-server.err"))
            .arg(&self.out)
            .status();
    }
}

/// PATH without any directory holding an `openhands-lsp`: the extension must use the binary it bundles.
fn path_without_our_binaries() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| !d.join("openhands-lsp").exists())
        .collect();
    std::env::join_paths(dirs)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn trace(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The agent panel runs a task: the prompt typed in the panel, the agent's message, a command that asks for
/// approval (answered in the panel) with its output, an edit shown as a diff and delivered to the open buffer
/// (unsaved), the final message; a reloaded webview gets the conversation again from the extension host, and
/// after a window reload (a new extension host and server) the panel shows it from the server's history.
#[test]
fn vscode_panel_runs_a_task_and_replays_it_after_a_reload() {
    let Some(cs) = prerequisites() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Reading the notes, then tidying up.".into(),
                calls: vec![(
                    "execute_bash".into(),
                    json!({"command": "cat notes.txt && rm -f scratch.txt && echo $((6*7)) done"}),
                )],
            },
            Reply::Tools {
                text: "Editing the first line.".into(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "str_replace", "path": "notes.txt",
                           "old_str": "first line", "new_str": "first line, edited"}),
                )],
            },
            // A question ends the turn; the user answers it in the panel's prompt box.
            Reply::Text("Shall I tidy the other files too?".into()),
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "Edited the notes."}))],
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("notes.txt"), "first line\n").unwrap();
    std::fs::write(ws.join("scratch.txt"), "scratch\n").unwrap();
    let out = output_dir("task");
    let trace_file = out.join("trace.jsonl");
    let started = Instant::now();
    let editor = Editor::start(
        &cs,
        dir.path(),
        &ws,
        &out,
        json!({"openhands.approvals": "risky", "openhands.maxIterations": 20}),
        &[
            ("OPENHANDS_VSCODE_TRACE", trace_file.to_str().unwrap()),
            ("LLM_MODEL", "scripted-model"),
            ("LLM_BASE_URL", &llm.base_url),
            ("LLM_NATIVE_TOOL_CALLING", "true"),
            ("LLM_NUM_RETRIES", "0"),
        ],
    );
    let docs_image = std::env::var_os("OPENHANDS_UPDATE_SCREENSHOTS")
        .map(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/images/vscode-panel.png"));
    if let Some(p) = &docs_image {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    }
    let report = editor.drive(
        "task",
        &out,
        json!({
            "apiKey": "sk-from-secret-storage",
            "file": "notes.txt",
            "before": "first line",
            "prompt": "tidy up and edit the first line of notes.txt",
            "agentMessage": "Reading the notes, then tidying up.",
            "command": "rm -f scratch.txt",
            "output": "42 done",
            "after": "first line, edited",
            "question": "Shall I tidy the other files too?",
            "reply": "No, only the notes.",
            "final": "Edited the notes.",
        }),
        docs_image.as_deref(),
    );
    drop(editor);
    // The edit is in the buffer only: the file keeps what the user saved.
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "first line\n"
    );
    let events = trace(&trace_file);
    assert_eq!(report["ok"], true, "{report:#}\nsee {}", out.display());
    eprintln!(
        "code-server session: {:.1} s (driver {} s); screenshots in {}",
        started.elapsed().as_secs_f64(),
        report["seconds"],
        out.display()
    );

    let status = report["statusAtApproval"].as_str().unwrap();
    assert!(
        status.starts_with("OpenHands ") && status.ends_with("/20: approve?"),
        "{status}"
    );
    // The command ran once it was allowed, with its output sent back to the model.
    assert!(!ws.join("scratch.txt").exists(), "the approved rm ran");
    for headers in llm.request_headers() {
        assert!(
            headers.contains(&(
                "authorization".to_owned(),
                "Bearer sk-from-secret-storage".to_owned()
            )),
            "the key set with \"OpenHands: Set API key\" reached the model: {headers:?}"
        );
    }
    let requests = llm.requests();
    assert_eq!(requests.len(), 4, "no model call after the reload");
    // The reply typed in the panel continued the same conversation (openhands.task.reply).
    let last = requests[3].to_string();
    assert!(
        last.contains("No, only the notes.") && last.contains("Shall I tidy the other files too?"),
        "{last}"
    );
    assert!(
        requests[1].to_string().contains("42 done"),
        "{:#}",
        requests[1]
    );
    // The panel sent the prompt and the approval; the bundled server ran (no openhands-lsp on PATH).
    let from_panel: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "fromPanel")
        .filter_map(|e| e["data"]["type"].as_str())
        .collect();
    assert!(
        from_panel.contains(&"prompt") && from_panel.contains(&"approve"),
        "{from_panel:?}"
    );
    // The panel said `ready` three times: at first, when its webview was reloaded (replayed by the extension
    // host), and in the reloaded window (replayed from the server's history).
    assert_eq!(
        from_panel.iter().filter(|t| **t == "ready").count(),
        3,
        "{from_panel:?}"
    );
    let started: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "client.started")
        .collect();
    assert_eq!(
        started.len(),
        3,
        "a server for the window, one restarted for the API key, one for the reloaded window: {events:#?}"
    );
    assert!(
        started.iter().all(|e| e["data"]["from"] == "bundled"),
        "{started:#?}"
    );
    // Activation (registrations, not the server's start) stays well under 100 ms.
    for (i, a) in events.iter().enumerate() {
        if a["event"] != "activated" {
            continue;
        }
        let s = events[i..]
            .iter()
            .find(|e| e["event"] == "client.started")
            .unwrap();
        let ms = a["data"]["ms"].as_f64().unwrap();
        eprintln!(
            "activation: {ms:.1} ms, bundle load {:.1} ms (not counted: the server's start, {:.1} ms)",
            a["data"]["load"].as_f64().unwrap_or(f64::NAN),
            s["data"]["ms"].as_f64().unwrap_or(f64::NAN)
        );
        assert!(ms < 100.0, "activation took {ms} ms");
    }
}

/// A broken set-up says what to do: `openhands.server.path` pointing nowhere gets a notification naming the
/// setting, a server that dies at once one that says so (both offer a restart); once the path is cleared the
/// bundled server starts and reports an invalid setting, which VS Code shows.
#[test]
fn vscode_shows_a_missing_server_and_an_invalid_setting() {
    let Some(cs) = prerequisites() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    let out = output_dir("faults");
    let crashing = dir.path().join("crashing-server");
    std::fs::write(
        &crashing,
        "#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &crashing,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let editor = Editor::start(
        &cs,
        dir.path(),
        &ws,
        &out,
        json!({"openhands.server.path": "/nonexistent/openhands-lsp"}),
        &[],
    );
    let report = editor.drive(
        "faults",
        &out,
        json!({
            "missing": "/nonexistent/openhands-lsp (setting openhands.server.path) does not exist",
            "crashingServer": crashing,
            "crash": format!("The OpenHands server {} did not start", crashing.display()),
            "invalidSettings": {"openhands.maxIterations": 0},
            "invalid": "openhands.maxIterations must be a positive integer, got 0",
        }),
        None,
    );
    drop(editor);
    assert_eq!(report["ok"], true, "{report:#}\nsee {}", out.display());
    for toast in ["missing", "crashed"] {
        assert!(
            report[toast].as_str().unwrap().contains("Restart server"),
            "the notification offers a restart: {report:#}"
        );
    }
}

/// A task's changes reviewed in the panel, with VS Code's default settings (code-server saves a second after each
/// change, the server's default approvals): the task edits two open files and a closed one and asks before a
/// risky command; meanwhile the Changes section lists the edits so far; after it, the server's list with each
/// file's counts. Revert on one open file puts its text back in the buffer (and, saved, on disk) and drops it
/// from the list; the user types over the task's change in the other and its revert is refused with the
/// server's words and its diff opens as the server's document; the closed file's opens in VS Code's diff editor,
/// and Keep drops it from the list with the task's content kept.
#[test]
fn vscode_panel_reviews_a_tasks_changes() {
    let Some(cs) = prerequisites() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let replace = |path: &str, old: &str, new: &str| Reply::Tools {
        text: format!("Editing {path}."),
        calls: vec![(
            "str_replace_editor".into(),
            json!({"command": "str_replace", "path": path, "old_str": old, "new_str": new}),
        )],
    };
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            replace("a.txt", "beta", "BETA"),
            replace("b.txt", "one", "one\ntwo\nthree"),
            Reply::Tools {
                text: "Cleaning up.".into(),
                calls: vec![(
                    "execute_bash".into(),
                    json!({"command": "rm -f scratch.txt"}),
                )],
            },
            replace("c.txt", "gamma", "GAMMA"),
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "Three files edited."}))],
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("a.txt"), "alpha\nbeta\n").unwrap();
    std::fs::write(ws.join("b.txt"), "one\n").unwrap();
    std::fs::write(ws.join("c.txt"), "gamma\ndelta\n").unwrap();
    std::fs::write(ws.join("scratch.txt"), "scratch\n").unwrap();
    let out = output_dir("review");
    let trace_file = out.join("trace.jsonl");
    // Nothing of ours set, and VS Code in a browser's own auto save.
    let editor = Editor::start(
        &cs,
        dir.path(),
        &ws,
        &out,
        json!({"files.autoSave": null}),
        &[
            ("OPENHANDS_VSCODE_TRACE", trace_file.to_str().unwrap()),
            ("LLM_MODEL", "scripted-model"),
            ("LLM_BASE_URL", &llm.base_url),
            ("LLM_API_KEY", "sk-test"),
            ("LLM_NATIVE_TOOL_CALLING", "true"),
            ("LLM_NUM_RETRIES", "0"),
        ],
    );
    let report = editor.drive(
        "review",
        &out,
        json!({
            "open": [["a.txt", "beta"], ["c.txt", "gamma"]],
            "prompt": "edit the three files",
            "command": "rm -f scratch.txt",
            "live": ["a.txt", "b.txt"],
            "final": "Three files edited.",
            "review": [
                {"path": "a.txt", "added": 1, "removed": 1},
                {"path": "b.txt", "added": 2, "removed": 0},
                {"path": "c.txt", "added": 1, "removed": 1},
                {"path": "scratch.txt", "added": 0, "removed": 1},
            ],
            "revert": {"path": "a.txt", "restored": "beta"},
            "refused": {
                "path": "c.txt",
                "before": "GAMMA",
                "typed": "X",
                "message": "c.txt was edited since the task on the lines the task changed; nothing was reverted",
                "diffLine": "+GAMMA",
            },
            "keep": {"path": "b.txt", "diffLine": "three"},
            "allReviewed": "all reviewed (3 kept, 1 reverted)",
        }),
        None,
    );
    drop(editor);
    assert_eq!(report["ok"], true, "{report:#}\nsee {}", out.display());
    eprintln!(
        "review session: driver {} s; screenshots in {}",
        report["seconds"],
        out.display()
    );
    // The counts the panel showed, during the task and after it.
    assert_eq!(
        report["live"],
        json!([
            {"path": "a.txt", "added": 1, "removed": 1},
            {"path": "b.txt", "added": 2, "removed": 0},
        ])
    );
    assert_eq!(
        report["rows"],
        json!([
            {"path": "a.txt", "added": 1, "removed": 1},
            {"path": "b.txt", "added": 2, "removed": 0},
            {"path": "c.txt", "added": 1, "removed": 1},
            // The command's deletion is the task's change too.
            {"path": "scratch.txt", "added": 0, "removed": 1},
        ])
    );
    assert!(
        report["refusal"]
            .as_str()
            .unwrap()
            .contains("nothing was reverted"),
        "{report:#}"
    );
    // On disk (auto-saved): a.txt as before the task, b.txt with the task's change kept, c.txt with the task's
    // change and the user's typing.
    let read = |f: &str| std::fs::read_to_string(ws.join(f)).unwrap();
    assert_eq!(read("a.txt"), "alpha\nbeta\n");
    assert_eq!(read("b.txt"), "one\ntwo\nthree\n");
    assert_eq!(read("c.txt"), "XGAMMA\ndelta\n");
    assert!(!ws.join("scratch.txt").exists(), "the approved rm ran");
    // What the server recorded: one run, each file settled as the panel said.
    let conversations = dir.path().join("data/conversations");
    let conv = std::fs::read_dir(&conversations)
        .unwrap()
        .next()
        .expect("a conversation")
        .unwrap()
        .path();
    let tasks: Value =
        serde_json::from_str(&std::fs::read_to_string(conv.join("tasks.json")).unwrap()).unwrap();
    assert_eq!(
        tasks[0]["settled"],
        json!({"a.txt": "reverted", "b.txt": "kept", "c.txt": "kept", "scratch.txt": "kept"}),
        "{tasks:#}"
    );
    // The panel asked for each action and the list after each.
    let events = trace(&trace_file);
    let from_panel: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "fromPanel")
        .filter_map(|e| e["data"]["type"].as_str().map(str::to_owned))
        .collect();
    for t in ["changeRevert", "changeKeep", "changeDiff"] {
        assert!(from_panel.iter().any(|x| x == t), "{from_panel:?}");
    }
}

/// The editor's diagnostics reach the agent, with VS Code's default settings: an agent edit that breaks a
/// TypeScript file open in code-server gets the new error from VS Code's own TypeScript server in its
/// observation (`openhands/diagnostics` from `src/diagnostics.ts`), not the error that was there before, and
/// the finish is held back once while it remains.
#[test]
fn vscode_sends_the_editors_diagnostics_to_the_agent() {
    let Some(cs) = prerequisites() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Changing the count.".into(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "str_replace", "path": "calc.ts",
                           "old_str": "count: number = 1", "new_str": "count: number = \"one\""}),
                )],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "Changed it."}))],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![(
                    "finish".into(),
                    json!({"message": "Changed it, type error and all."}),
                )],
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(
        ws.join("calc.ts"),
        "export const count: number = 1;\nexport const label: string = 2;\n",
    )
    .unwrap();
    let out = output_dir("diagnostics");
    let editor = Editor::start(
        &cs,
        dir.path(),
        &ws,
        &out,
        json!({"files.autoSave": null}),
        &[
            ("LLM_MODEL", "scripted-model"),
            ("LLM_BASE_URL", &llm.base_url),
            ("LLM_API_KEY", "sk-test"),
            ("LLM_NATIVE_TOOL_CALLING", "true"),
            ("LLM_NUM_RETRIES", "0"),
        ],
    );
    let report = editor.drive(
        "diagnostics",
        &out,
        json!({
            "file": "calc.ts",
            "before": "count: number = 1",
            "prompt": "make the count a word",
            "final": "Changed it, type error and all.",
        }),
        None,
    );
    drop(editor);
    assert_eq!(report["ok"], true, "{report:#}\nsee {}", out.display());
    let requests = llm.requests();
    assert_eq!(requests.len(), 3, "the first finish was held back");
    // The edit's observation, as the model read it.
    let observed = requests[1].to_string();
    assert!(
        observed.contains("The editor reports new problems in")
            && observed.contains("is not assignable to type 'number'"),
        "{observed}"
    );
    assert!(
        !observed.contains("not assignable to type 'string'"),
        "the error that was there before is not new: {observed}"
    );
    eprintln!(
        "problems before {}, after {}",
        report["before"], report["after"]
    );
}
