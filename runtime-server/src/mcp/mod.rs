//! The runtime's MCP proxy (OpenHands' MCP router): the stdio servers `POST /update_mcp_server` names run
//! here, inside the sandbox, as children of the server, and their tools are served to the agent over one
//! MCP endpoint (`/mcp`, streamable HTTP, behind the API key), so a repository's MCP configuration never
//! runs code on the agent's host.
//!
//! A server that fails to start is reported in `router_error_log` and skipped; one that dies is started
//! again once, on the next call of one of its tools.

mod handler;
mod stdio;

use std::sync::{Arc, Mutex};

use openhands_runtime_api::mcp::McpStdioServerConfig;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::ServiceError;

pub(crate) use handler::service;
use stdio::{Running, SpawnOptions};

/// How many times a server that died is started again.
const RESTARTS: u32 = 1;

/// One configured server and what became of it.
struct Server {
    config: McpStdioServerConfig,
    /// `None` once it died and may not be restarted (or failed to restart).
    running: Option<Arc<Running>>,
    restarts_left: u32,
}

/// The stdio servers of the last update.
pub(crate) struct McpProxy {
    options: SpawnOptions,
    servers: Mutex<Vec<Server>>,
    /// Serialises updates and restarts, so a server is never started twice at once.
    starting: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl McpProxy {
    pub fn new(working_dir: std::path::PathBuf, user_id: Option<u32>, marker: String) -> Self {
        Self {
            options: SpawnOptions {
                working_dir,
                user_id,
                marker,
            },
            servers: Mutex::new(Vec::new()),
            starting: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the servers with `configs` (the old ones are killed); returns the errors of those that did
    /// not start, one per line (empty when all started).
    pub async fn update(&self, configs: Vec<McpStdioServerConfig>) -> String {
        let _guard = self.starting.lock().await;
        let old = std::mem::take(&mut *lock(&self.servers));
        for s in old {
            if let Some(r) = s.running {
                r.kill();
            }
        }
        let started =
            futures_util::future::join_all(configs.iter().map(|c| stdio::start(c, &self.options)))
                .await;
        let mut errors = Vec::new();
        let mut servers = Vec::new();
        for (config, result) in configs.into_iter().zip(started) {
            let running = match result {
                Ok(r) => {
                    tracing::info!(server = %config.name, tools = r.tools.len(), "MCP server started");
                    Some(Arc::new(r))
                }
                Err(e) => {
                    tracing::warn!(server = %config.name, "{e:#}");
                    errors.push(format!("{e:#}"));
                    None
                }
            };
            servers.push(Server {
                config,
                running,
                restarts_left: RESTARTS,
            });
        }
        *lock(&self.servers) = servers;
        errors.join("\n")
    }

    /// The tools of the running servers; a name two servers share goes to the first (as OpenHands does).
    pub fn tools(&self) -> Vec<Tool> {
        let mut out: Vec<Tool> = Vec::new();
        for s in lock(&self.servers).iter() {
            let Some(r) = &s.running else { continue };
            for t in &r.tools {
                if out.iter().any(|o| o.name == t.name) {
                    tracing::warn!(server = %s.config.name, tool = %t.name, "a tool of this name exists already; skipped");
                } else {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// The running server that owns tool `name`, by index.
    fn owner(&self, name: &str) -> Option<(usize, Option<Arc<Running>>)> {
        lock(&self.servers).iter().enumerate().find_map(|(i, s)| {
            let owns = s
                .running
                .as_ref()
                .is_some_and(|r| r.tools.iter().any(|t| t.name == name));
            owns.then(|| (i, s.running.clone()))
        })
    }

    /// Calls a tool on its server; a server found dead is started again once and the call repeated.
    pub async fn call(&self, params: CallToolRequestParams) -> Result<CallToolResult, McpError> {
        let Some((index, Some(running))) = self.owner(&params.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "no MCP server running in the sandbox has a tool named {}",
                    params.name
                ),
                None,
            ));
        };
        match running.service.call_tool(params.clone()).await {
            Ok(result) => Ok(result),
            Err(ServiceError::McpError(e)) => Err(e),
            Err(e) if !running.service.is_closed() && !process_gone(&running) => Err(
                McpError::internal_error(format!("the MCP call failed: {e}"), None),
            ),
            Err(e) => {
                let restarted = self.restart(index, &running, &e.to_string()).await?;
                restarted
                    .service
                    .call_tool(params)
                    .await
                    .map_err(|e| match e {
                        ServiceError::McpError(e) => e,
                        other => McpError::internal_error(
                            format!("the MCP call failed after the server was restarted: {other}"),
                            None,
                        ),
                    })
            }
        }
    }

    /// Starts server `index` again if it is still `dead` (another call may have done so) and may restart.
    async fn restart(
        &self,
        index: usize,
        dead: &Arc<Running>,
        why: &str,
    ) -> Result<Arc<Running>, McpError> {
        let _guard = self.starting.lock().await;
        let config = {
            let mut servers = lock(&self.servers);
            let Some(s) = servers.get_mut(index) else {
                return Err(McpError::internal_error(
                    "the MCP servers were replaced meanwhile",
                    None,
                ));
            };
            match &s.running {
                Some(r) if !Arc::ptr_eq(r, dead) => return Ok(r.clone()),
                _ => {}
            }
            let stderr = dead.stderr_tail();
            dead.kill();
            s.running = None;
            if s.restarts_left == 0 {
                let mut msg = format!(
                    "the MCP server {} stopped ({why}) and was already restarted once; it is not restarted again",
                    s.config.name
                );
                if !stderr.is_empty() {
                    msg.push_str(&format!("; its stderr ends with:\n{stderr}"));
                }
                tracing::warn!("{msg}");
                return Err(McpError::internal_error(msg, None));
            }
            s.restarts_left -= 1;
            s.config.clone()
        };
        tracing::warn!(server = %config.name, "the MCP server stopped ({why}); restarting it once");
        match stdio::start(&config, &self.options).await {
            Ok(r) => {
                let r = Arc::new(r);
                if let Some(s) = lock(&self.servers).get_mut(index) {
                    s.running = Some(r.clone());
                }
                Ok(r)
            }
            Err(e) => Err(McpError::internal_error(
                format!(
                    "the MCP server {} stopped ({why}) and could not be restarted: {e:#}",
                    config.name
                ),
                None,
            )),
        }
    }

    /// Kills every server (the server is stopping).
    pub fn shutdown(&self) {
        for s in lock(&self.servers).drain(..) {
            if let Some(r) = s.running {
                r.kill();
            }
        }
    }
}

/// Whether the server's process group leader has exited.
fn process_gone(running: &Running) -> bool {
    running.pgid.is_some_and(|pid| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_err()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
    })
}
