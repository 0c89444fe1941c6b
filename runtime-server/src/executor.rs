//! Runs decoded actions: bash commands on the persistent session, file actions on the file tools, IPython
//! cells on the jupyter plugin's kernel, browser actions on the browser.
//!
//! The main bash session is behind its own lock, so actions on it are strictly serialised (OpenHands
//! semantics: one command at a time), while file actions and `is_static` commands do not wait for a
//! long-running command.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use openhands_runtime_api::{Action, ActionEvent, Observation};

use crate::ServerConfig;
use crate::bash::{
    BashOptions, BashSession, Keyboard, Reaper, SharedCwd, interrupt_note, run_static,
};
use crate::files::FileOps;
use crate::jupyter::{Jupyter, JupyterOptions};

/// Why an action produced no observation.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    /// A known action type that only the agent side handles (`think`, `finish`, ...).
    #[error("action '{0}' is not executed by the runtime")]
    NotRunnable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub(crate) struct Executor {
    bash: tokio::sync::Mutex<BashSession>,
    /// Not behind a lock: file actions run side by side (see [`FileOps`]).
    files: Arc<FileOps>,
    bash_options: BashOptions,
    cwd: SharedCwd,
    browser: crate::browser::Browser,
    last_action: Mutex<Instant>,
    /// Lets `C-c` reach the shell while another action holds `bash`; refreshed after every bash action.
    keyboard: Mutex<Option<Keyboard>>,
    /// The IPython kernel, when the jupyter plugin is enabled.
    jupyter: Option<Jupyter>,
}

impl Executor {
    pub async fn start(config: &ServerConfig) -> anyhow::Result<Self> {
        let bash_options = BashOptions {
            working_dir: config.working_dir.clone(),
            user_id: config.user_id,
            no_change_timeout: config.no_change_timeout,
            reaper: Reaper::new(config.user_id),
        };
        let cwd = SharedCwd::new(config.working_dir.clone());
        let bash = BashSession::start(bash_options.clone(), cwd.clone()).await?;
        let keyboard = Mutex::new(Some(bash.keyboard()));
        let jupyter = config.plugins.iter().any(|p| p == "jupyter").then(|| {
            let options = JupyterOptions {
                python: config.python.as_ref().map_or_else(
                    || "python3".to_owned(),
                    |p| p.to_string_lossy().into_owned(),
                ),
                user_id: config.user_id,
            };
            Jupyter::start(options, &config.working_dir)
        });
        Ok(Self {
            jupyter,
            keyboard,
            cwd,
            bash: tokio::sync::Mutex::new(bash),
            files: Arc::new(FileOps::new(
                config.working_dir.clone(),
                config.confine_files,
            )),
            bash_options,
            browser: crate::browser::Browser::new(config.browser_enabled.then(|| {
                crate::browser::BrowserSettings {
                    executable: config.chromium_path.clone(),
                    no_sandbox: config.chromium_no_sandbox,
                    working_dir: config.working_dir.clone(),
                }
            })),
            last_action: Mutex::new(Instant::now()),
        })
    }

    /// Seconds since the last action started.
    pub fn idle_time(&self) -> f64 {
        self.last_action
            .lock()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or_default()
    }

    pub async fn run(&self, event: ActionEvent) -> Result<Observation, ExecError> {
        if let Ok(mut t) = self.last_action.lock() {
            *t = Instant::now();
        }
        let timeout = event.timeout;
        match event.action {
            Action::Run(run) if run.is_input && special_key(&run.command) == Some(3) => {
                // A C-c must reach a command that is still running; the action holding the session
                // then completes (exit 130) and answers its own request.
                match self.bash.try_lock() {
                    Ok(mut bash) => Ok(bash.execute(&run, timeout).await?),
                    Err(_) => {
                        let done =
                            self.keyboard().await?.interrupt().await.map_err(|e| {
                                anyhow::anyhow!("cannot type C-c into the shell: {e}")
                            })?;
                        Ok(interrupt_sent(interrupt_note(done)))
                    }
                }
            }
            Action::Run(run) if run.is_static => {
                Ok(run_static(&self.bash_options, &run, timeout).await?)
            }
            Action::Run(run) => {
                let mut bash = self.bash.lock().await;
                // The shell may have been restarted by the previous action: refresh the keyboard first.
                if let Ok(mut slot) = self.keyboard.lock() {
                    *slot = Some(bash.keyboard());
                }
                let obs = bash.execute(&run, timeout).await?;
                if let Ok(mut slot) = self.keyboard.lock() {
                    *slot = Some(bash.keyboard());
                }
                Ok(obs)
            }
            Action::Read(read) => {
                let cwd = self.cwd.get();
                self.with_files(move |f| f.read(&read, &cwd)).await
            }
            Action::Write(write) => {
                let cwd = self.cwd.get();
                self.with_files(move |f| f.write(&write, &cwd)).await
            }
            Action::Edit(edit) => {
                let cwd = self.cwd.get();
                self.with_files(move |f| f.edit(&edit, &cwd)).await
            }
            Action::RunIpython(cell) => match &self.jupyter {
                Some(jupyter) => Ok(jupyter.run(&cell, timeout, &self.cwd.get()).await),
                None => Ok(Observation::error(
                    "JupyterRequirement not found. Unable to run IPython action.",
                )),
            },
            Action::Browse(browse) => Ok(self.browser.browse(&browse, timeout).await),
            Action::BrowseInteractive(interactive) => {
                Ok(self.browser.interact(&interactive, timeout).await)
            }
            Action::Other { kind, .. } => Err(ExecError::NotRunnable(kind)),
        }
    }

    /// Runs a file action on a blocking thread; none waits for another.
    async fn with_files<F>(&self, f: F) -> Result<Observation, ExecError>
    where
        F: FnOnce(&FileOps) -> Observation + Send + 'static,
    {
        let files = self.files.clone();
        let obs = tokio::task::spawn_blocking(move || f(&files))
            .await
            .map_err(|e| anyhow::anyhow!("file action task failed: {e}"))?;
        Ok(obs)
    }

    /// The keyboard of the current shell, fetched when the session was last free.
    async fn keyboard(&self) -> anyhow::Result<Keyboard> {
        self.keyboard
            .lock()
            .map_err(|_| anyhow::anyhow!("the keyboard handle was poisoned"))?
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the shell has no keyboard yet"))
    }

    /// The `jupyter` entry of `/server_info`, when the plugin is enabled.
    pub fn jupyter_status(&self) -> Option<serde_json::Value> {
        self.jupyter.as_ref().map(Jupyter::status)
    }

    /// The browser's state for `/server_info`.
    pub fn browser_status(&self) -> serde_json::Value {
        self.browser.status()
    }

    /// What kills every shell and the processes they started without taking the session, which a running
    /// command holds.
    pub fn reaper(&self) -> Reaper {
        self.bash_options.reaper.clone()
    }

    pub async fn shutdown(&self) {
        if let Some(jupyter) = &self.jupyter {
            jupyter.shutdown();
        }
        let reaper = self.reaper();
        let _ = tokio::task::spawn_blocking(move || reaper.close_and_kill()).await;
        // A request that still holds the session has already lost its shell to the reaper.
        if let Ok(mut bash) = self.bash.try_lock() {
            bash.close();
        }
        self.browser.shutdown().await;
    }
}

fn special_key(command: &str) -> Option<u8> {
    let c = command.trim();
    (c.len() == 3 && c.starts_with("C-")).then(|| c.as_bytes()[2].to_ascii_lowercase() & 0x1f)
}

/// The answer to a `C-c` delivered to a command another request is waiting on.
fn interrupt_sent(kill_note: Option<&str>) -> Observation {
    let meta = openhands_runtime_api::CmdOutputMetadata {
        prefix: kill_note.map(|n| format!("{n}\n")).unwrap_or_default(),
        suffix: "\n[CTRL+C was sent to the command that is still running; the request that started it receives how it ended.]".to_owned(),
        ..Default::default()
    };
    Observation::cmd_output(String::new(), "C-c".to_owned(), meta, false)
}
