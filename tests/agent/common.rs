//! Shared helpers: locating the `openhands-runtime` binary built by this workspace, and the environment a
//! test runs the `openhands-lsp` binary in (its own home, config and data directories, a scripted LLM).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/openhands-runtime`, next to this test's `deps/` directory.
pub fn runtime_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("openhands-runtime");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p openhands-runtime` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

/// A temporary home with a workspace `ws/` and data directory `data/`, for running `openhands-lsp`.
pub struct CliEnv {
    pub dir: tempfile::TempDir,
}

impl CliEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        Self { dir }
    }
    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws").canonicalize().unwrap()
    }
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    /// `openhands-lsp` with nothing of the test's environment but PATH, talking to the LLM at `llm_url`.
    pub fn cmd(&self, llm_url: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_openhands-lsp"));
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("OPENHANDS_DATA_DIR", self.data())
            .env("LLM_MODEL", "scripted-model")
            .env("LLM_BASE_URL", llm_url)
            .env("LLM_API_KEY", "sk-test-secret")
            .env("LLM_NATIVE_TOOL_CALLING", "true")
            .env("LLM_NUM_RETRIES", "0");
        c
    }
    /// `openhands-lsp run --workspace ws ARGS...`, not started.
    pub fn run_cmd(&self, llm_url: &str, args: &[&str]) -> Command {
        let mut c = self.cmd(llm_url);
        c.arg("run").arg("--workspace").arg(self.ws()).args(args);
        c
    }
}
