//! MCP tools for the agent (OpenHands §8), the only module of this crate that speaks MCP (through the
//! official SDK, rmcp).
//!
//! At session start [`McpTools::connect`] takes a list of servers (the `[mcp]` configuration, and later
//! ACP's `session/new` servers): stdio servers are sent to the runtime, which runs them inside the sandbox
//! and serves their tools at its `/mcp` endpoint; streamable-HTTP servers are reached directly. Their tools
//! are offered to the model with their schemas; a call becomes OpenHands' `call_tool_mcp` action and `mcp`
//! observation. A server that does not start is reported and skipped; errors and timeouts are error
//! results the model reads, never the end of the task.

pub mod config;
mod connection;

use std::sync::Arc;
use std::time::Duration;

use openhands_runtime_api::Observation;
use openhands_runtime_api::mcp::{McpStdioServerConfig, mcp_observation};
use rmcp::model::CallToolRequestParams;
use serde_json::{Map, Value, json};

pub use config::{McpHttpServer, McpServer, McpSettings};
use connection::{CallError, Connection, Target};

use crate::llm::ToolSpec;
use crate::runtime::Runtime;

/// The label of the runtime's endpoint in messages.
const SANDBOX: &str = "sandbox";

/// What a person reads of an `mcp` observation's content: the text blocks of the result (other blocks by
/// type), or the error; the raw content when it is not a result.
pub fn result_text(content: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(content) else {
        return content.to_owned();
    };
    let mut lines: Vec<String> = Vec::new();
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        lines.push(format!("error: {e}"));
    }
    for block in v
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => lines.push(block["text"].as_str().unwrap_or_default().to_owned()),
            Some(other) => lines.push(format!("[{other}]")),
            None => {}
        }
    }
    if v.get("isError") == Some(&Value::Bool(true)) && v.get("error").is_none() {
        lines.insert(0, "error:".to_owned());
    }
    if lines.is_empty() {
        content.to_owned()
    } else {
        lines.join("\n")
    }
}

/// One tool offered to the model and the session that serves it.
struct McpTool {
    spec: ToolSpec,
    conn: usize,
    /// The server's name (`sandbox` for the runtime's stdio servers), for messages.
    server: String,
}

/// The MCP sessions of a conversation and the tools they serve.
#[derive(Default)]
pub struct McpTools {
    conns: Vec<Connection>,
    tools: Vec<McpTool>,
    timeout: Duration,
}

/// Whether `name` is a function name every provider accepts (OpenAI: `^[a-zA-Z0-9_-]{1,64}$`).
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl McpTools {
    /// Connects to `servers` (stdio ones through `runtime`) and lists their tools. Whatever fails is
    /// skipped and returned as a warning for the user; nothing here fails the session.
    pub async fn connect(
        servers: &[McpServer],
        runtime: Arc<dyn Runtime>,
        timeout: Duration,
    ) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let stdio: Vec<McpStdioServerConfig> = servers
            .iter()
            .filter_map(|s| match s {
                McpServer::Stdio(c) => Some(c.clone()),
                McpServer::Http(_) => None,
            })
            .collect();
        let mut targets = Vec::new();
        if !stdio.is_empty() {
            targets.push((SANDBOX.to_owned(), Target::Runtime { runtime, stdio }));
        }
        for s in servers {
            if let McpServer::Http(h) = s {
                let target = Target::Http {
                    url: h.url.clone(),
                    headers: h.headers.clone(),
                };
                targets.push((h.name.clone(), target));
            }
        }
        let opened = futures_util::future::join_all(
            targets
                .into_iter()
                .map(|(label, target)| Connection::open(label, target)),
        )
        .await;
        let mut out = Self {
            timeout,
            ..Self::default()
        };
        for result in opened {
            match result {
                Ok((conn, tools, failed)) => {
                    warnings.extend(failed.into_iter().map(|f| format!("{f} (skipped)")));
                    let index = out.conns.len();
                    for tool in tools {
                        let name = tool.name.to_string();
                        if !usable_name(&name) {
                            warnings.push(format!(
                                "MCP tool {name:?} of {} is skipped: tool names must be 1 to 64 letters, digits, '_' or '-'",
                                conn.label
                            ));
                            continue;
                        }
                        if out.tools.iter().any(|t| t.spec.name == name) {
                            warnings.push(format!(
                                "MCP tool {name} of {} is skipped: another MCP server has a tool of that name",
                                conn.label
                            ));
                            continue;
                        }
                        let description = tool
                            .description
                            .as_deref()
                            .map(str::to_owned)
                            .or_else(|| tool.title.clone())
                            .unwrap_or_default();
                        out.tools.push(McpTool {
                            spec: ToolSpec {
                                name,
                                description,
                                parameters: Value::Object((*tool.input_schema).clone()),
                            },
                            conn: index,
                            server: conn.label.clone(),
                        });
                    }
                    out.conns.push(conn);
                }
                Err(e) => warnings.push(format!("{e} (MCP server skipped)")),
            }
        }
        for w in &warnings {
            tracing::warn!("{w}");
        }
        (out, warnings)
    }

    /// Drops the tools whose names the agent's own tools use; one warning per refused tool.
    pub fn refuse(&mut self, reserved: &[String]) -> Vec<String> {
        let mut warnings = Vec::new();
        self.tools.retain(|t| {
            let clash = reserved.contains(&t.spec.name);
            if clash {
                warnings.push(format!(
                    "MCP tool {} of {} is refused: the agent has a tool of that name",
                    t.spec.name, t.server
                ));
            }
            !clash
        });
        for w in &warnings {
            tracing::warn!("{w}");
        }
        warnings
    }

    /// The tools for the model, in server order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|t| t.spec.clone()).collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.spec.name == name)
    }

    /// Calls tool `name`: OpenHands' `mcp` observation with the JSON of the result, or of
    /// `{"isError": true, "error": ..., "content": []}` when it failed or timed out.
    pub async fn call(&self, name: &str, arguments: Map<String, Value>) -> Observation {
        let shown = Value::Object(arguments.clone());
        let error = |text: String| {
            let content = json!({"isError": true, "error": text, "content": []}).to_string();
            mcp_observation(content, name, shown.clone())
        };
        let Some(tool) = self.tools.iter().find(|t| t.spec.name == name) else {
            return error(format!("No MCP tool is named {name}"));
        };
        let mut params = CallToolRequestParams::new(name.to_owned());
        params.arguments = Some(arguments.clone());
        match self.conns[tool.conn].call(params, self.timeout).await {
            Ok(result) => {
                let content = serde_json::to_string(&result).unwrap_or_default();
                mcp_observation(content, name, shown)
            }
            Err(CallError::Server(e) | CallError::Broken(e)) => error(e),
        }
    }

    /// Ends every session.
    pub fn close(&self) {
        for c in &self.conns {
            c.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, server: &str) -> McpTool {
        McpTool {
            spec: ToolSpec {
                name: name.into(),
                description: String::new(),
                parameters: json!({"type": "object"}),
            },
            conn: 0,
            server: server.into(),
        }
    }

    #[test]
    fn tools_named_like_ours_are_refused_with_a_warning() {
        let mut tools = McpTools {
            tools: vec![
                tool("execute_bash", "docs"),
                tool("echo", "docs"),
                tool("finish", "sandbox"),
            ],
            ..McpTools::default()
        };
        let warnings = tools.refuse(&["execute_bash".into(), "finish".into(), "think".into()]);
        assert_eq!(
            warnings,
            [
                "MCP tool execute_bash of docs is refused: the agent has a tool of that name",
                "MCP tool finish of sandbox is refused: the agent has a tool of that name",
            ]
        );
        let names: Vec<String> = tools.specs().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["echo"]);
        assert!(tools.has("echo") && !tools.has("finish"));
    }

    #[test]
    fn results_read_as_their_text() {
        assert_eq!(
            result_text(
                r#"{"content":[{"type":"text","text":"Echo: hi"},{"type":"image","data":"x"}]}"#
            ),
            "Echo: hi\n[image]"
        );
        assert_eq!(
            result_text(r#"{"isError":true,"error":"timed out","content":[]}"#),
            "error: timed out"
        );
        assert_eq!(
            result_text(r#"{"isError":true,"content":[{"type":"text","text":"bad a"}]}"#),
            "error:\nbad a"
        );
        assert_eq!(result_text("not json"), "not json");
    }

    #[test]
    fn only_names_every_provider_takes_are_usable() {
        assert!(usable_name("get-env") && usable_name("a_b9"));
        assert!(!usable_name("") && !usable_name("files/read") && !usable_name("a.b"));
        assert!(!usable_name(&"x".repeat(65)));
    }
}
