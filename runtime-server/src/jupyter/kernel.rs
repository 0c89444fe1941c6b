//! The kernel process: connection file, `ipykernel` started through our launcher in its own process group,
//! its readiness line, interrupt, kill, and how it ended.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::watch;

/// Python run with `-c`: reports readiness on stdout and kills its process group when stdin closes.
const LAUNCHER: &str = include_str!("launcher.py");
const READY: &str = "openhands-kernel-ready ";
const MISSING: &str = "openhands-kernel-missing ";
/// Importing IPython on a busy 2-core machine can take seconds; a kernel that needs more is broken.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of the kernel's stderr kept to explain a failed start.
const STDERR_LINES: usize = 20;

/// Why no kernel could be started; every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(
        "the Python interpreter '{python}' cannot be run ({source}); install Python 3 with ipykernel, or point --python (OPENHANDS_PYTHON) at an interpreter that has it"
    )]
    NoInterpreter {
        python: String,
        source: std::io::Error,
    },
    #[error(
        "ipykernel is not installed for {python} ({detail}); install it with `{python} -m pip install ipykernel` and run the cell again"
    )]
    NotInstalled { python: String, detail: String },
    #[error("the IPython kernel ({python}) exited while starting ({status}){stderr}")]
    Exited {
        python: String,
        status: String,
        stderr: String,
    },
    #[error("the IPython kernel ({python}) did not start within {} seconds", START_TIMEOUT.as_secs())]
    TimedOut { python: String },
    #[error("cannot start the IPython kernel: {0:#}")]
    Setup(#[from] anyhow::Error),
}

/// The ports and key written to the connection file, for the client side.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The HMAC key as written in the file (hex text, used as bytes).
    pub key: String,
    pub shell: u16,
    pub iopub: u16,
}

/// What the launcher reported once the kernel's sockets were bound.
#[derive(Debug, Clone)]
pub(crate) struct Ready {
    pub ipykernel: String,
    /// `sys.executable` in the kernel: the footer's interpreter line.
    pub executable: String,
}

/// A running kernel process. Dropping it kills the process group.
pub(crate) struct KernelProcess {
    pid: u32,
    exit: watch::Receiver<Option<ExitStatus>>,
    /// Our end of the kernel's stdin; the launcher kills its group when it closes.
    _lifeline: ChildStdin,
    _dir: tempfile::TempDir,
}

impl KernelProcess {
    /// Starts `python` with the launcher in `cwd` and waits until the kernel listens. `on_spawn` learns the
    /// pid at once, so that a server shutting down during the start can kill it; `on_exit` hears how the
    /// process ended, whenever it does.
    pub async fn start(
        python: &str,
        user_id: Option<u32>,
        cwd: &Path,
        on_spawn: impl FnOnce(u32),
        on_exit: impl FnOnce(u32, ExitStatus) + Send + 'static,
    ) -> Result<(Self, Connection, Ready), StartError> {
        use anyhow::Context as _;
        let dir = tempfile::Builder::new()
            .prefix("openhands-kernel-")
            .tempdir()
            .context("cannot create a directory for the connection file")?;
        let conn = Connection {
            key: super::wire::hex(
                &random_bytes(32).context("cannot read random bytes for the kernel key")?,
            ),
            shell: 0,
            iopub: 0,
        };
        let (conn, file) = write_connection_file(dir.path(), conn, user_id)?;
        let mut cmd = std::process::Command::new(python);
        cmd.arg("-c")
            .arg(LAUNCHER)
            .arg(&file)
            .current_dir(cwd)
            .env_remove("SESSION_API_KEY")
            .env_remove("OPENHANDS_EXIT_WITH_PARENT")
            .env_remove("NO_CHANGE_TIMEOUT_SECONDS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        if let Some(uid) = user_id {
            crate::bash::run_as(&mut cmd, uid);
        }
        let mut child = tokio::process::Command::from(cmd)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| StartError::NoInterpreter {
                python: python.to_owned(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        on_spawn(pid);
        let lifeline = child.stdin.take().context("the kernel has no stdin pipe")?;
        let stdout = child
            .stdout
            .take()
            .context("the kernel has no stdout pipe")?;
        let stderr = keep_stderr(child.stderr.take());
        let (tx, exit) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await.unwrap_or(ExitStatus::from_raw(0));
            on_exit(pid, status);
            let _ = tx.send(Some(status));
        });
        let mut process = Self {
            pid,
            exit,
            _lifeline: lifeline,
            _dir: dir,
        };
        let ready = tokio::select! {
            r = tokio::time::timeout(START_TIMEOUT, read_ready(stdout)) => match r {
                Ok(Ok(ready)) => ready,
                Ok(Err(detail)) => {
                    return Err(StartError::NotInstalled { python: python.to_owned(), detail });
                }
                Err(_) => return Err(StartError::TimedOut { python: python.to_owned() }),
            },
            status = process.exited() => {
                return Err(StartError::Exited {
                    python: python.to_owned(),
                    status: describe(status),
                    stderr: stderr_tail(&stderr),
                });
            }
        };
        Ok((process, conn, ready))
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How the process ended, if it has.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Resolves when the process has ended.
    pub async fn exited(&mut self) -> ExitStatus {
        let status = match self.exit.wait_for(Option::is_some).await {
            Ok(s) => *s,
            Err(_) => None,
        };
        match status {
            Some(s) => s,
            None => std::future::pending().await,
        }
    }

    /// SIGINT to the group, as Jupyter interrupts a kernel: the cell gets a KeyboardInterrupt, and commands
    /// it runs are interrupted too.
    pub fn interrupt(&self) {
        signal_group(self.pid, Signal::SIGINT);
    }

    pub fn kill(&self) {
        signal_group(self.pid, Signal::SIGKILL);
    }
}

impl Drop for KernelProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn signal_group(pid: u32, signal: Signal) {
    if pid > 1 {
        let _ = killpg(Pid::from_raw(pid as i32), signal);
    }
}

/// "exit code 1" or "killed by signal SIGKILL".
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(s) => format!("killed by signal {}", s.as_str()),
            Err(_) => format!("killed by signal {sig}"),
        },
        (None, None) => status.to_string(),
    }
}

/// Reads the launcher's stdout up to its verdict; other lines (ipykernel's banner) are ignored. The rest of
/// the stream is drained in the background so that the kernel never blocks on a full pipe.
async fn read_ready(stdout: ChildStdout) -> Result<Ready, String> {
    let mut lines = BufReader::new(stdout).lines();
    let verdict = loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some(rest) = line.strip_prefix(READY) {
                    let (version, exe) = rest.split_once(' ').unwrap_or((rest, ""));
                    break Ok(Ready {
                        ipykernel: version.to_owned(),
                        executable: exe.to_owned(),
                    });
                }
                if let Some(why) = line.strip_prefix(MISSING) {
                    break Err(why.to_owned());
                }
                tracing::debug!(line, "kernel stdout");
            }
            // The process is exiting; `exited()` reports it.
            Ok(None) | Err(_) => return std::future::pending().await,
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    verdict
}

fn keep_stderr(stderr: Option<tokio::process::ChildStderr>) -> Arc<Mutex<Vec<String>>> {
    let kept = Arc::new(Mutex::new(Vec::new()));
    if let Some(stderr) = stderr {
        let kept = kept.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(line, "kernel stderr");
                if let Ok(mut k) = kept.lock() {
                    if k.len() == STDERR_LINES {
                        k.remove(0);
                    }
                    k.push(line);
                }
            }
        });
    }
    kept
}

fn stderr_tail(kept: &Mutex<Vec<String>>) -> String {
    let lines = kept.lock().map(|k| k.join("\n")).unwrap_or_default();
    if lines.trim().is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{lines}")
    }
}

/// Picks five free loopback ports (held open together so they differ) and writes the connection file,
/// readable by the kernel's user only.
fn write_connection_file(
    dir: &Path,
    mut conn: Connection,
    user_id: Option<u32>,
) -> anyhow::Result<(Connection, PathBuf)> {
    use anyhow::Context as _;
    let listeners = (0..5)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot find free loopback ports for the kernel")?;
    let ports = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()?;
    drop(listeners);
    conn.shell = ports[0];
    conn.iopub = ports[1];
    let body = serde_json::json!({
        "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
        "control_port": ports[3], "hb_port": ports[4], "ip": "127.0.0.1",
        "key": conn.key, "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": "python3",
    });
    let path = dir.join("kernel.json");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .context("cannot create the connection file")?;
    f.write_all(body.to_string().as_bytes())
        .context("cannot write the connection file")?;
    if let Some(uid) = user_id {
        for p in [dir, path.as_path()] {
            std::os::unix::fs::chown(p, Some(uid), None)
                .with_context(|| format!("cannot hand {} to uid {uid}", p.display()))?;
        }
    }
    Ok((conn, path))
}

pub(crate) fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut buf = vec![0; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}
