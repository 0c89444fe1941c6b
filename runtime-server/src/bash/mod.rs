//! The persistent bash session on a PTY, with OpenHands' command state machine.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use openhands_runtime_api::{CmdRunAction, Observation};

/// How to start a shell.
#[derive(Debug, Clone)]
pub(crate) struct BashOptions {
    pub working_dir: PathBuf,
    pub user_id: Option<u32>,
    pub no_change_timeout: Duration,
}

/// The session's current directory, published after every prompt for file actions to resolve against.
#[derive(Debug, Clone)]
pub(crate) struct SharedCwd(Arc<RwLock<PathBuf>>);

impl SharedCwd {
    pub fn new(dir: PathBuf) -> Self {
        Self(Arc::new(RwLock::new(dir)))
    }
    pub fn get(&self) -> PathBuf {
        self.0.read().map(|p| p.clone()).unwrap_or_default()
    }
    pub fn set(&self, dir: PathBuf) {
        if let Ok(mut p) = self.0.write() {
            *p = dir;
        }
    }
}

pub(crate) struct BashSession {
    options: BashOptions,
    cwd: SharedCwd,
}

impl BashSession {
    pub async fn start(options: BashOptions, cwd: SharedCwd) -> anyhow::Result<Self> {
        Ok(Self { options, cwd })
    }

    pub async fn execute(
        &mut self,
        action: &CmdRunAction,
        timeout: Option<f64>,
    ) -> anyhow::Result<Observation> {
        let _ = (action, timeout, &self.options, &self.cwd);
        Ok(Observation::error("not yet"))
    }

    pub fn close(&mut self) {}
}

/// Runs an `is_static` command in a fresh shell, leaving the main session untouched.
pub(crate) async fn run_static(
    options: &BashOptions,
    action: &CmdRunAction,
    timeout: Option<f64>,
) -> anyhow::Result<Observation> {
    let _ = (options, action, timeout);
    Ok(Observation::error("not yet"))
}
