//! One MCP session over streamable HTTP: to an HTTP server from the configuration, or to the runtime's
//! `/mcp` endpoint that serves the sandbox's stdio servers. A session that breaks is opened again once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openhands_runtime_api::mcp::{MCP_PATH, McpStdioServerConfig};
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

use crate::runtime::Runtime;

/// How long connecting and listing tools may take (OpenHands' connect timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

type Service = RunningService<RoleClient, ()>;

/// Where a session goes.
pub enum Target {
    Http {
        url: String,
        headers: BTreeMap<String, String>,
    },
    /// The runtime's `/mcp`; reopening it sends the stdio servers again (a restarted runtime has none).
    Runtime {
        runtime: Arc<dyn Runtime>,
        stdio: Vec<McpStdioServerConfig>,
    },
}

/// Why a call produced no result; the text is for the model.
pub enum CallError {
    /// The server answered with an MCP error (bad arguments, unknown tool, its own failure).
    Server(String),
    /// The session broke and could not be reopened.
    Broken(String),
}

pub struct Connection {
    /// The server's name, or `sandbox` for the runtime's endpoint.
    pub label: String,
    target: Target,
    service: Mutex<Option<Arc<Service>>>,
    reconnects_left: Mutex<u32>,
}

/// The rustls provider rmcp's HTTP client needs (ring, which the crate graph builds already), installed once.
fn tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Connection {
    /// Opens the session and lists the tools, with the runtime's reports of stdio servers that did not
    /// start; the error is a sentence for the user.
    pub async fn open(
        label: String,
        target: Target,
    ) -> Result<(Self, Vec<Tool>, Vec<String>), String> {
        let conn = Self {
            label,
            target,
            service: Mutex::new(None),
            reconnects_left: Mutex::new(1),
        };
        let (tools, failed) = conn.connect().await?;
        Ok((conn, tools, failed))
    }

    async fn connect(&self) -> Result<(Vec<Tool>, Vec<String>), String> {
        let mut failed = Vec::new();
        let (url, headers) = match &self.target {
            Target::Http { url, headers } => (url.clone(), headers.clone()),
            Target::Runtime { runtime, stdio } => {
                let client = runtime
                    .client()
                    .ok_or("this runtime cannot run stdio MCP servers")?;
                let answer = client
                    .update_mcp_servers(stdio)
                    .await
                    .map_err(|e| format!("the runtime did not take the stdio MCP servers: {e}"))?;
                failed = split_error_log(&answer.router_error_log);
                let mut headers = BTreeMap::new();
                if let Some(key) = client.api_key() {
                    headers.insert(
                        openhands_runtime_api::API_KEY_HEADER.to_owned(),
                        key.to_owned(),
                    );
                }
                (format!("{}{MCP_PATH}", client.base_url()), headers)
            }
        };
        let service = tokio::time::timeout(CONNECT_TIMEOUT, open_session(&url, &headers))
            .await
            .map_err(|_| {
                format!(
                    "did not answer the MCP handshake and tool list within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })
            .and_then(|r| r)
            .map_err(|e| format!("MCP server {} ({url}): {e}", self.label))?;
        let tools = service.1;
        *self.service.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(service.0));
        Ok((tools, failed))
    }

    fn current(&self) -> Option<Arc<Service>> {
        self.service
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Calls a tool within `timeout`; a broken session is reopened once and the call repeated.
    pub async fn call(
        &self,
        params: CallToolRequestParams,
        timeout: Duration,
    ) -> Result<CallToolResult, CallError> {
        let Some(service) = self.current() else {
            return Err(CallError::Broken(format!(
                "the MCP server {} is not connected",
                self.label
            )));
        };
        let first = match tokio::time::timeout(timeout, service.call_tool(params.clone())).await {
            Err(_) => return Err(timed_out(timeout)),
            Ok(r) => r,
        };
        let broken = match first {
            Ok(result) => return Ok(result),
            Err(ServiceError::McpError(e)) => {
                return Err(CallError::Server(e.message.into_owned()));
            }
            Err(e) => e.to_string(),
        };
        let may_retry = {
            let mut left = self
                .reconnects_left
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let ok = *left > 0;
            *left = left.saturating_sub(1);
            ok
        };
        if !may_retry {
            return Err(CallError::Broken(format!(
                "the MCP server {} failed ({broken}) and was already reconnected once",
                self.label
            )));
        }
        tracing::warn!(server = %self.label, "the MCP session failed ({broken}); reconnecting once");
        if let Some(old) = self
            .service
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            old.cancellation_token().cancel();
        }
        self.connect().await.map_err(|e| {
            CallError::Broken(format!(
                "the MCP server {} failed ({broken}) and could not be reconnected: {e}",
                self.label
            ))
        })?;
        let Some(service) = self.current() else {
            return Err(CallError::Broken(format!(
                "the MCP server {} is not connected",
                self.label
            )));
        };
        match tokio::time::timeout(timeout, service.call_tool(params)).await {
            Err(_) => Err(timed_out(timeout)),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(ServiceError::McpError(e))) => Err(CallError::Server(e.message.into_owned())),
            Ok(Err(e)) => Err(CallError::Broken(format!(
                "the MCP server {} failed again after reconnecting: {e}",
                self.label
            ))),
        }
    }

    /// Ends the session.
    pub fn close(&self) {
        if let Some(s) = self
            .service
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            s.cancellation_token().cancel();
        }
    }
}

/// The runtime's `router_error_log`: one report per server, each starting `MCP server <name>` (a report may
/// span lines, e.g. the server's stderr).
fn split_error_log(log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in log.lines() {
        match out.last_mut() {
            Some(last) if !line.starts_with("MCP server ") => {
                last.push('\n');
                last.push_str(line);
            }
            _ if line.trim().is_empty() => {}
            _ => out.push(line.to_owned()),
        }
    }
    out
}

fn timed_out(timeout: Duration) -> CallError {
    CallError::Server(format!(
        "the MCP tool did not answer within {} s (the [mcp] timeout); it was cancelled",
        timeout.as_secs_f64()
    ))
}

async fn open_session(
    url: &str,
    headers: &BTreeMap<String, String>,
) -> Result<(Service, Vec<Tool>), String> {
    tls_provider();
    let mut custom = HashMap::new();
    for (k, v) in headers {
        let name = http::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("header name {k:?} is not valid"))?;
        let value = http::HeaderValue::from_str(v)
            .map_err(|_| format!("the value of header {k} is not valid"))?;
        custom.insert(name, value);
    }
    let config =
        StreamableHttpClientTransportConfig::with_uri(url.to_owned()).custom_headers(custom);
    let transport = StreamableHttpClientTransport::from_config(config);
    let service = ()
        .serve(transport)
        .await
        .map_err(|e| format!("the MCP handshake failed: {}", init_error(&e)))?;
    let tools = service
        .list_all_tools()
        .await
        .map_err(|e| format!("listing its tools failed: {}", root_cause(&e)))?;
    Ok((service, tools))
}

/// What failed in the handshake, without the transport's type names.
fn init_error(e: &rmcp::service::ClientInitializeError) -> String {
    match e {
        rmcp::service::ClientInitializeError::TransportError { error, .. } => {
            root_cause(&*error.error)
        }
        other => root_cause(other),
    }
}

/// The innermost error of a chain (`Connection refused (os error 111)`), which says what went wrong
/// without the transport's type names.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
