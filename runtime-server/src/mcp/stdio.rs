//! One stdio MCP server as a child of the runtime: started in the workspace as the shell's user, with the
//! shell's environment (no session key), in its own process group that is killed when it is replaced or the
//! server stops (and carrying the reaper's marker, so nothing it starts outlives the server either).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use openhands_runtime_api::mcp::McpStdioServerConfig;
use rmcp::ServiceExt as _;
use rmcp::model::Tool;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use tokio::io::AsyncBufReadExt as _;

use crate::bash::MARKER_VAR;

/// How long a server may take to start and list its tools (OpenHands' connect timeout).
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of a server's stderr kept to explain why it failed.
const STDERR_LINES: usize = 20;

/// What every child shares: where and as whom it runs.
#[derive(Debug, Clone)]
pub(crate) struct SpawnOptions {
    pub working_dir: PathBuf,
    pub user_id: Option<u32>,
    /// The reaper's marker value (see `bash::reaper`).
    pub marker: String,
}

/// A started server: its MCP session, its tools, and its process group.
pub(crate) struct Running {
    pub service: RunningService<RoleClient, ()>,
    pub tools: Vec<Tool>,
    pub pgid: Option<u32>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// The last lines the server wrote to stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }

    /// Kills the server's whole process group.
    pub fn kill(&self) {
        if let Some(pgid) = self.pgid {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        self.service.cancellation_token().cancel();
    }
}

fn tail(lines: &Mutex<Vec<String>>) -> String {
    lines.lock().map(|l| l.join("\n")).unwrap_or_default()
}

/// Starts `config` and lists its tools, within [`START_TIMEOUT`]; the error is a sentence for the agent.
pub(crate) async fn start(
    config: &McpStdioServerConfig,
    options: &SpawnOptions,
) -> anyhow::Result<Running> {
    let mut cmd = std::process::Command::new(&config.command);
    cmd.args(&config.args)
        .current_dir(&options.working_dir)
        .env_remove("SESSION_API_KEY")
        .env_remove("OPENHANDS_EXIT_WITH_PARENT")
        .env_remove("NO_CHANGE_TIMEOUT_SECONDS")
        .envs(&config.env)
        .env(MARKER_VAR, &options.marker);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    if let Some(uid) = options.user_id {
        crate::bash::run_as(&mut cmd, uid);
    }
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(config, &e))?;
    let pgid = transport.id();
    let lines = Arc::new(Mutex::new(Vec::new()));
    if let Some(stderr) = stderr {
        let lines = lines.clone();
        let name = config.name.clone();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                tracing::debug!(server = %name, "{line}");
                if let Ok(mut l) = lines.lock() {
                    if l.len() == STDERR_LINES {
                        l.remove(0);
                    }
                    l.push(line);
                }
            }
        });
    }
    let kill = |why: String| {
        if let Some(pgid) = pgid {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let err = tail(&lines);
        if err.is_empty() {
            anyhow::anyhow!("{why}")
        } else {
            anyhow::anyhow!("{why}; its stderr ends with:\n{err}")
        }
    };
    let started = tokio::time::timeout(START_TIMEOUT, async {
        let service = ().serve(transport).await.context("the MCP handshake failed")?;
        let tools = service
            .list_all_tools()
            .await
            .context("listing its tools failed")?;
        anyhow::Ok((service, tools))
    })
    .await;
    match started {
        Ok(Ok((service, tools))) => Ok(Running {
            service,
            tools,
            pgid,
            stderr: lines,
        }),
        Ok(Err(e)) => Err(kill(format!(
            "MCP server {} (`{}`) started but failed: {e:#}",
            config.name,
            shown(config)
        ))),
        Err(_) => Err(kill(format!(
            "MCP server {} (`{}`) did not answer the MCP handshake within {} s",
            config.name,
            shown(config),
            START_TIMEOUT.as_secs()
        ))),
    }
}

fn shown(config: &McpStdioServerConfig) -> String {
    std::iter::once(config.command.as_str())
        .chain(config.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

fn spawn_error(config: &McpStdioServerConfig, e: &std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        anyhow::anyhow!(
            "MCP server {}: cannot start `{}`: the command `{}` is not installed in the sandbox (or not on its PATH); \
             stdio MCP servers run inside the sandbox, so install it there (e.g. Node.js for `node`/`npx`)",
            config.name,
            shown(config),
            config.command
        )
    } else {
        anyhow::anyhow!(
            "MCP server {}: cannot start `{}`: {e}",
            config.name,
            shown(config)
        )
    }
}
