//! The jupyter plugin (`--plugins jupyter`): one IPython kernel per server, spoken to over the Jupyter
//! messaging protocol, answering `run_ipython` with OpenHands' observation texts.
//!
//! The kernel starts in the background so the server's own start is not delayed; the first cell waits
//! for it. A kernel that dies, or ignores an interrupt, is replaced and the agent is told. The kernel
//! follows the bash session's working directory as OpenHands' does, and never outlives the server.

mod cell;
mod client;
mod kernel;
mod text;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openhands_runtime_api::{IPythonRunCellAction, Observation};
use serde_json::{Value, json};

use cell::End;
use kernel::{KernelProcess, StartError};

/// How long the working-directory cell may take before the user's cell runs anyway.
const CHDIR_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the kernel comes from.
#[derive(Debug, Clone)]
pub(crate) struct JupyterOptions {
    /// The interpreter to run ipykernel with (`--python`, else `python3` on PATH).
    pub python: String,
    /// Run the kernel as this uid (root servers only), like the shell.
    pub user_id: Option<u32>,
}

pub(crate) struct Jupyter {
    options: JupyterOptions,
    slot: tokio::sync::Mutex<Slot>,
    board: Arc<Board>,
}

enum Slot {
    Starting(tokio::task::JoinHandle<Result<Kernel, StartError>>),
    Ready(Box<Kernel>),
    Failed(String),
}

struct Kernel {
    process: KernelProcess,
    channels: client::Channels,
    /// `sys.executable` of the kernel.
    executable: String,
    /// The directory the kernel was last moved to (or started in).
    cwd: PathBuf,
}

/// The plugin's state as `/server_info` reports it, readable while a cell runs.
#[derive(Default)]
struct Board(Mutex<BoardState>);

#[derive(Default)]
struct BoardState {
    status: &'static str,
    pid: Option<u32>,
    python: Option<String>,
    ipykernel: Option<String>,
    error: Option<String>,
    restarts: u32,
    stopped: bool,
}

impl Board {
    fn update(&self, f: impl FnOnce(&mut BoardState)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }

    fn stopped(&self) -> bool {
        self.0.lock().map(|s| s.stopped).unwrap_or(true)
    }
}

impl Jupyter {
    /// Starts the kernel in the background in `cwd`; returns at once.
    pub fn start(options: JupyterOptions, cwd: &Path) -> Self {
        let board = Arc::new(Board::default());
        board.update(|s| {
            s.status = "starting";
            s.python = Some(options.python.clone());
        });
        let slot = Slot::Starting(spawn_kernel(
            options.clone(),
            cwd.to_path_buf(),
            board.clone(),
        ));
        Self {
            options,
            slot: tokio::sync::Mutex::new(slot),
            board,
        }
    }

    /// The `jupyter` entry of `/server_info`.
    pub fn status(&self) -> Value {
        let Ok(s) = self.board.0.lock() else {
            return Value::Null;
        };
        json!({
            "status": s.status,
            "pid": s.pid,
            "python": s.python,
            "ipykernel": s.ipykernel,
            "restarts": s.restarts,
            "error": s.error,
        })
    }

    /// Runs one `run_ipython` action with the bash session's current directory `cwd`.
    pub async fn run(
        &self,
        action: &IPythonRunCellAction,
        timeout: Option<f64>,
        cwd: &Path,
    ) -> Observation {
        let mut slot = self.slot.lock().await;
        let (k, before) = match self.kernel(&mut slot, cwd).await {
            Ok(ready) => ready,
            Err(why) => return Observation::error(text::unavailable(&why)),
        };
        if k.cwd != cwd {
            // OpenHands' own cell; its outcome is not the agent's business unless the kernel dies of it.
            let chdir = text::chdir_cell(cwd);
            let moved = cell::run(
                &mut k.channels,
                &mut k.process,
                &chdir,
                true,
                Some(CHDIR_TIMEOUT),
            );
            if moved.await.is_ok_and(|c| c.end == End::Completed) {
                k.cwd = cwd.to_path_buf();
            }
        }
        self.board.update(|s| s.status = "busy");
        let secs = timeout.filter(|t| t.is_finite() && *t > 0.0);
        let limit = secs.and_then(|s| Duration::try_from_secs_f64(s).ok());
        let outcome = cell::run(&mut k.channels, &mut k.process, &action.code, false, limit).await;
        let executable = k.executable.clone();
        let c = match outcome {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "lost the IPython kernel; restarting it");
                *slot = self.restart(cwd);
                return Observation::error(format!(
                    "The IPython kernel could not run the cell ({e:#}); it is being restarted and {}.",
                    text::STATE_LOST
                ));
            }
        };
        match c.end {
            End::Completed | End::TimedOut => self.board.update(|s| s.status = "ready"),
            End::Stuck | End::Died(_) => *slot = self.restart(cwd),
        }
        let mut content = before + &cell_text(c.output, c.end, secs);
        content.truncate(content.trim_end().len());
        if action.include_extra {
            content.push_str(&text::footer(cwd, &executable));
        }
        let images = (!c.images.is_empty()).then_some(c.images);
        Observation::ipython(content, action.code.clone(), images)
    }

    /// A live kernel, waiting for one to start if need be, with a note for the agent if the previous one
    /// had died; or why there is none.
    async fn kernel<'a>(
        &self,
        slot: &'a mut Slot,
        cwd: &Path,
    ) -> Result<(&'a mut Kernel, String), String> {
        let mut note = String::new();
        if let Slot::Ready(k) = &*slot
            && let Some(status) = k.process.exit_status()
        {
            note = format!(
                "[The IPython kernel had died ({}) and was restarted before this cell; {}.]\n",
                kernel::describe(status),
                text::STATE_LOST
            );
            *slot = self.restart(cwd);
        }
        if matches!(slot, Slot::Failed(_)) {
            // Perhaps ipykernel was installed since: try again.
            *slot = Slot::Starting(spawn_kernel(
                self.options.clone(),
                cwd.to_path_buf(),
                self.board.clone(),
            ));
        }
        if let Slot::Starting(handle) = slot {
            *slot = match handle.await {
                Ok(Ok(k)) => Slot::Ready(Box::new(k)),
                Ok(Err(e)) => Slot::Failed(e.to_string()),
                Err(e) => Slot::Failed(format!("the kernel start-up task failed: {e}")),
            };
        }
        match slot {
            Slot::Ready(k) => Ok((k, note)),
            Slot::Failed(why) => Err(why.clone()),
            Slot::Starting(_) => Err("the kernel is not running".to_owned()),
        }
    }

    /// A slot whose new kernel starts in the background; assigning it drops, and so kills, the old kernel.
    fn restart(&self, cwd: &Path) -> Slot {
        self.board.update(|s| {
            s.restarts += 1;
            s.status = "restarting";
        });
        Slot::Starting(spawn_kernel(
            self.options.clone(),
            cwd.to_path_buf(),
            self.board.clone(),
        ))
    }

    /// Kills the kernel's process group now, even while a cell runs or the kernel is still starting.
    pub fn shutdown(&self) {
        let pid = self.board.0.lock().ok().and_then(|mut s| {
            s.stopped = true;
            s.status = "stopped";
            s.pid.take()
        });
        if let Some(pid) = pid {
            kernel::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The cell's text before OpenHands' `rstrip` and footer.
fn cell_text(output: text::Output, end: End, timeout: Option<f64>) -> String {
    let empty = output.is_empty();
    let mut body = output.finish();
    let mut note = |line: String| {
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        body.push_str(&line);
    };
    match end {
        End::Completed if empty => body = text::NO_OUTPUT.to_owned(),
        End::Completed => {}
        End::TimedOut => note(text::timed_out(timeout.unwrap_or_default())),
        End::Stuck => {
            note(text::timed_out(timeout.unwrap_or_default()));
            note(format!(
                "[The IPython kernel did not stop when interrupted and was restarted; {}.]",
                text::STATE_LOST
            ));
        }
        End::Died(status) => note(format!(
            "[The IPython kernel died while running this cell ({}) and was restarted; {}.]",
            kernel::describe(status),
            text::STATE_LOST
        )),
    }
    body
}

/// Starts a kernel in a task; the board follows it.
fn spawn_kernel(
    options: JupyterOptions,
    cwd: PathBuf,
    board: Arc<Board>,
) -> tokio::task::JoinHandle<Result<Kernel, StartError>> {
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let on_spawn = |pid| board.update(|s| s.pid = Some(pid));
        let watcher = board.clone();
        let on_exit = move |pid, status| {
            watcher.update(|s| {
                if s.pid == Some(pid) && s.status != "starting" {
                    s.status = "dead";
                    s.error = Some(format!(
                        "the kernel died ({}); the next cell starts a new one",
                        kernel::describe(status)
                    ));
                }
            })
        };
        let result = async {
            let (mut process, conn, ready) =
                KernelProcess::start(&options.python, options.user_id, &cwd, on_spawn, on_exit)
                    .await?;
            let session = wire::hex(&kernel::random_bytes(16).map_err(anyhow::Error::from)?);
            let connect = tokio::time::timeout(
                kernel::START_TIMEOUT,
                client::Channels::connect(&conn, session),
            );
            let channels = tokio::select! {
                c = connect => c.map_err(|_| StartError::TimedOut { python: options.python.clone() })??,
                status = process.exited() => return Err(StartError::Exited {
                    python: options.python.clone(),
                    status: kernel::describe(status),
                    stderr: String::new(),
                }),
            };
            Ok::<_, StartError>((process, channels, ready))
        }
        .await;
        match result {
            Ok((process, channels, ready)) => {
                if board.stopped() {
                    process.kill();
                    return Err(StartError::Setup(anyhow::anyhow!(
                        "the server is shutting down"
                    )));
                }
                tracing::info!(
                    pid = process.pid(),
                    python = %ready.executable,
                    ipykernel = %ready.ipykernel,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "IPython kernel ready"
                );
                board.update(|s| {
                    s.status = "ready";
                    s.pid = Some(process.pid());
                    s.python = Some(ready.executable.clone());
                    s.ipykernel = Some(ready.ipykernel.clone());
                    s.error = None;
                });
                Ok(Kernel {
                    process,
                    channels,
                    executable: ready.executable,
                    cwd,
                })
            }
            Err(e) => {
                tracing::error!("jupyter plugin: {e}");
                board.update(|s| {
                    s.status = if s.stopped { "stopped" } else { "unavailable" };
                    s.pid = None;
                    s.error = Some(e.to_string());
                });
                Err(e)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn output(pieces: &[&str]) -> text::Output {
        let mut o = text::Output::default();
        for p in pieces {
            o.push(p);
        }
        o
    }

    #[test]
    fn texts_for_each_way_a_cell_ends() {
        use std::os::unix::process::ExitStatusExt as _;
        use std::process::ExitStatus;
        assert_eq!(
            cell_text(output(&[]), End::Completed, Some(3.0)),
            "[Code executed successfully with no output]"
        );
        assert_eq!(
            cell_text(output(&["a\n", "b\n", "42"]), End::Completed, None),
            "a\nb\n42"
        );
        assert_eq!(
            cell_text(output(&[]), End::TimedOut, Some(3.0)),
            "[Execution timed out (3.0 seconds).]"
        );
        assert_eq!(
            cell_text(output(&["step 1"]), End::TimedOut, Some(2.5)),
            "step 1\n[Execution timed out (2.5 seconds).]"
        );
        assert_eq!(
            cell_text(output(&["x\n"]), End::Died(ExitStatus::from_raw(9)), None),
            "x\n[The IPython kernel died while running this cell (killed by signal SIGKILL) and was restarted; variables, imports and other state from earlier cells are lost.]"
        );
        assert_eq!(
            cell_text(output(&[]), End::Stuck, Some(1.0)),
            "[Execution timed out (1.0 seconds).]\n[The IPython kernel did not stop when interrupted and was restarted; variables, imports and other state from earlier cells are lost.]"
        );
    }
}
