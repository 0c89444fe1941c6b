//! One `openhands-runtime` child process: its command line, its output kept in a bounded tail for
//! error messages, waiting until it answers, and stopping it (SIGTERM, then SIGKILL).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::client::RuntimeClient;
use super::{LocalOptions, RuntimeError};

const START_TIMEOUT: Duration = Duration::from_secs(10);
const ALIVE_POLL: Duration = Duration::from_millis(5);
/// Lines of server output kept for error messages.
const LOG_LINES: usize = 200;
/// Lines of that output quoted in an error.
const LOG_LINES_IN_ERRORS: usize = 40;
/// A port picked free can be taken before the server binds it: try again with another one.
const START_ATTEMPTS: usize = 3;

/// The last lines the server printed, shared with the tasks that read its pipes.
#[derive(Default)]
pub(super) struct LogTail(Mutex<Lines>);

#[derive(Default)]
struct Lines {
    kept: VecDeque<String>,
    /// How many lines were ever pushed.
    pushed: u64,
}

impl LogTail {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, line: String) {
        let mut g = self.lock();
        if g.kept.len() == LOG_LINES {
            g.kept.pop_front();
        }
        g.kept.push_back(line);
        g.pushed += 1;
    }

    /// A mark for [`LogTail::since`].
    fn mark(&self) -> u64 {
        self.lock().pushed
    }

    /// The retained lines pushed after `mark`, at most [`LOG_LINES_IN_ERRORS`] of them.
    pub(super) fn since(&self, mark: u64) -> String {
        let g = self.lock();
        let new = usize::try_from(g.pushed.saturating_sub(mark)).unwrap_or(usize::MAX);
        let take = new.min(g.kept.len()).min(LOG_LINES_IN_ERRORS);
        let lines: Vec<&str> = g
            .kept
            .range(g.kept.len() - take..)
            .map(String::as_str)
            .collect();
        if lines.is_empty() {
            "(it printed nothing)".to_owned()
        } else {
            lines.join("\n")
        }
    }
}

/// Everything needed to start (and restart) the same server.
pub(super) struct ServerSpec {
    pub binary: PathBuf,
    pub workspace: PathBuf,
    pub opts: LocalOptions,
    pub api_key: String,
    pub log: Arc<LogTail>,
}

impl ServerSpec {
    /// Starts the server and waits for `/alive`; retries with another port if the chosen one was taken.
    pub async fn spawn(&self) -> Result<(Child, RuntimeClient), RuntimeError> {
        let Self {
            binary,
            workspace,
            opts,
            api_key,
            log,
        } = self;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let url = format!("http://127.0.0.1:{port}");
            let mark = log.mark();
            let mut cmd = Command::new(binary);
            cmd.arg(port.to_string())
                .arg("--working-dir")
                .arg(workspace)
                .arg(if opts.enable_browser {
                    "--enable-browser"
                } else {
                    "--no-enable-browser"
                });
            if !opts.plugins.is_empty() {
                cmd.arg("--plugins").args(&opts.plugins);
            }
            // The server exits when this pipe closes, so it dies with us even if we are killed outright;
            // the pipe's write end lives in the `Child` we keep.
            cmd.env_clear()
                .envs(sandbox_env(std::env::vars_os(), &opts.withheld))
                .envs(opts.env.iter().map(|(k, v)| (k, v)))
                .env("SESSION_API_KEY", api_key)
                .env("OPENHANDS_EXIT_WITH_PARENT", "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                // Not SIGKILL on drop: `LocalRuntime`'s drop sends SIGTERM, so the server first kills what
                // the agent started (a SIGKILLed server would leave `nohup` jobs behind).
                .kill_on_drop(false);
            let mut child = cmd.spawn().map_err(|e| {
                RuntimeError::Start(format!("cannot run {}: {e}", binary.display()))
            })?;
            let readers = [
                child.stdout.take().map(|p| read_lines(p, log.clone())),
                child.stderr.take().map(|p| read_lines(p, log.clone())),
            ];
            let client = RuntimeClient::new(&url, Some(api_key.to_owned()))?;
            let deadline = Instant::now() + START_TIMEOUT;
            let status = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break Some(status);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break None;
                }
                if client.alive_within(left, false).await.is_ok() {
                    // A key check makes sure the answer came from our child, not a squatter on the port.
                    return match client.check_api_key().await {
                        Ok(()) => Ok((child, client)),
                        Err(e) => Err(RuntimeError::Start(format!(
                            "the server answering at {url} is not the one just started: {e}"
                        ))),
                    };
                }
                tokio::time::sleep(ALIVE_POLL).await;
            };
            let status = match status {
                Some(status) => status.to_string(),
                None => {
                    stop_child(child, Duration::ZERO).await;
                    format!(
                        "no answer from {url}/alive within {} s",
                        START_TIMEOUT.as_secs()
                    )
                }
            };
            // Let the readers drain what the process printed before it ended.
            for reader in readers.into_iter().flatten() {
                let _ = tokio::time::timeout(Duration::from_millis(500), reader).await;
            }
            let output = log.since(mark);
            let port_taken = output.contains("cannot listen") || output.contains("in use");
            if port_taken && attempt < START_ATTEMPTS {
                continue;
            }
            return Err(RuntimeError::Start(format!(
                "{} failed ({status}); its last output:\n{output}",
                binary.display()
            )));
        }
    }
}

/// Variables of LLM providers that hold credentials; every `LLM_*` and `OPENHANDS_*` variable is ours.
const PROVIDER_CREDENTIALS: &[&str] = &[
    "OPENAI_API_KEY",
    "OPENAI_ORG_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "VERTEXAI_CREDENTIALS",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "TOGETHER_API_KEY",
    "TOGETHERAI_API_KEY",
    "FIREWORKS_API_KEY",
    "FIREWORKS_AI_API_KEY",
    "XAI_API_KEY",
    "COHERE_API_KEY",
    "HF_TOKEN",
    "HUGGINGFACE_API_KEY",
    "LITELLM_API_KEY",
    "LITELLM_MASTER_KEY",
    "AWS_BEARER_TOKEN_BEDROCK",
    "SESSION_API_KEY",
];

/// The environment the runtime (and so every command the agent runs) gets: ours, without any credential
/// of the agent's (by name, and any variable whose value contains a `withheld` value).
pub(super) fn sandbox_env(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    withheld: &[String],
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    vars.filter(|(name, value)| {
        let name = name.to_string_lossy();
        let value = value.to_string_lossy();
        let ours = name.starts_with("LLM_") || name.starts_with("OPENHANDS_");
        let provider = PROVIDER_CREDENTIALS.contains(&name.as_ref());
        let carries = withheld
            .iter()
            .any(|w| w.len() >= 4 && value.contains(w.as_str()));
        !(ours || provider || carries)
    })
    .collect()
}

/// SIGTERM (the server then kills its shell and everything it started), SIGKILL after `grace`.
pub(super) async fn stop_child(mut child: Child, grace: Duration) {
    if !grace.is_zero()
        && let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok())
    {
        // The child is not reaped yet, so the pid still names it.
        let sent = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        if sent.is_ok() && tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
    }
    if let Err(e) = child.kill().await {
        tracing::warn!("cannot stop the local runtime: {e}");
    }
}

/// Copies a pipe into the log tail line by line (and to the debug log).
fn read_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    log: Arc<LogTail>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = strip_ansi(String::from_utf8_lossy(&buf).trim_end());
                    tracing::debug!(target: "openhands_runtime", "{line}");
                    log.push(line);
                }
            }
        }
    })
}

/// Removes terminal colour codes (`ESC [ ... letter`) the server's logger may emit.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn free_port() -> Result<u16, RuntimeError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| RuntimeError::Start(format!("cannot find a free loopback port: {e}")))
}

/// 32 hex characters from the kernel's CSPRNG.
pub(super) fn random_key() -> Result<String, RuntimeError> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| {
            RuntimeError::Start(format!("cannot read /dev/urandom for an API key: {e}"))
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn the_log_tail_is_bounded_and_marks_select_new_lines() {
        let log = LogTail::default();
        log.push("old".into());
        let mark = log.mark();
        assert_eq!(log.since(mark), "(it printed nothing)");
        for i in 0..LOG_LINES + 10 {
            log.push(format!("line {i}"));
        }
        let tail = log.since(mark);
        assert_eq!(tail.lines().count(), LOG_LINES_IN_ERRORS);
        assert!(tail.ends_with(&format!("line {}", LOG_LINES + 9)));
        assert_eq!(log.lock().kept.len(), LOG_LINES);
    }

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2025\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m hi"),
            "2025  INFO hi"
        );
    }

    #[test]
    fn keys_are_32_hex_chars_and_differ() {
        let a = random_key().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_key().unwrap());
    }

    #[test]
    fn the_sandbox_gets_no_credential_of_ours() {
        let vars = [
            ("PATH", "/usr/bin"),
            ("HOME", "/home/u"),
            ("LLM_API_KEY", "sk-1"),
            ("LLM_MODEL", "gpt"),
            ("OPENHANDS_RUNTIME_API_KEY", "rk"),
            ("ANTHROPIC_API_KEY", "sk-ant"),
            ("SESSION_API_KEY", "old"),
            ("MY_KEY_COPY", "prefix-sk-config-key-suffix"),
            ("STRIPE_KEY", "sk_test_user"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let kept: Vec<String> = sandbox_env(vars.into_iter(), &["sk-config-key".to_owned()])
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(kept, ["PATH", "HOME", "STRIPE_KEY"]);
    }
}
