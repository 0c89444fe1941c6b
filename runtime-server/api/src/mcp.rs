//! MCP on the wire: the stdio server configurations `POST /update_mcp_server` takes (OpenHands'
//! `MCPStdioServerConfig`), its answer, and the `call_tool_mcp` action / `mcp` observation the agent records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{Action, ActionEvent, Observation, ObservationKind};

/// The route that replaces the runtime's stdio MCP servers.
pub const UPDATE_MCP_SERVER_PATH: &str = "/update_mcp_server";
/// Where the runtime serves the tools of its stdio servers (MCP streamable HTTP, behind the API key).
pub const MCP_PATH: &str = "/mcp";
/// OpenHands' answer to a body that is not a JSON array.
pub const NOT_A_LIST: &str = "Request must be a list of MCP tools to sync";
/// OpenHands' `detail` of a successful update.
pub const UPDATED: &str = "MCP server updated successfully";

/// One stdio MCP server the runtime starts as its child (OpenHands' `MCPStdioServerConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpStdioServerConfig {
    pub name: String,
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl McpStdioServerConfig {
    /// OpenHands' validation: a name of `[A-Za-z0-9_-]+`, a command that is one executable (no spaces).
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "MCP server name {:?} must be letters, digits, '_' or '-'",
                self.name
            ));
        }
        if self.command.trim().is_empty() {
            return Err(format!("MCP server {}: the command is empty", self.name));
        }
        if self.command.chars().any(char::is_whitespace) {
            return Err(format!(
                "MCP server {}: the command {:?} must be one executable without spaces (put arguments in args)",
                self.name, self.command
            ));
        }
        if let Some(bad) = self.env.keys().find(|k| k.is_empty() || k.contains('=')) {
            return Err(format!(
                "MCP server {}: environment variable name {bad:?} is not valid",
                self.name
            ));
        }
        Ok(())
    }
}

/// The answer of `POST /update_mcp_server`: `router_error_log` is empty when every server started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpUpdateResponse {
    pub detail: String,
    #[serde(default)]
    pub router_error_log: String,
}

/// OpenHands' `MCPAction` (`call_tool_mcp`): a call of an MCP tool by name.
pub fn mcp_action(
    name: &str,
    arguments: Map<String, Value>,
    thought: &str,
    risk: i64,
) -> ActionEvent {
    let shown = serde_json::to_string(&arguments).unwrap_or_default();
    let mut ev = ActionEvent::new(Action::Other {
        kind: "call_tool_mcp".to_owned(),
        args: match json!({"name": name, "arguments": arguments, "thought": thought, "security_risk": risk})
        {
            Value::Object(m) => m,
            _ => Map::new(),
        },
    });
    ev.message = format!(
        "I am interacting with the MCP server with name:\n```\n{name}\n```\nand arguments:\n```\n{shown}\n```"
    );
    ev
}

/// OpenHands' `MCPObservation` (`mcp`): `content` is the JSON of the tool's result (or of the error).
pub fn mcp_observation(content: String, name: &str, arguments: Value) -> Observation {
    let mut extras = Map::new();
    extras.insert("name".into(), Value::String(name.to_owned()));
    extras.insert("arguments".into(), arguments);
    Observation {
        meta: Default::default(),
        message: content.clone(),
        content,
        kind: ObservationKind::Other {
            kind: "mcp".to_owned(),
            extras,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_and_observation_have_openhands_shapes() {
        let mut args = Map::new();
        args.insert("url".into(), json!("x"));
        let action = mcp_action("fetch", args.clone(), "", -1);
        let v = serde_json::to_value(&action).unwrap();
        assert_eq!(v["action"], "call_tool_mcp");
        assert_eq!(
            v["args"],
            json!({"name": "fetch", "arguments": {"url": "x"}, "thought": "", "security_risk": -1})
        );
        let obs = mcp_observation("{}".into(), "fetch", Value::Object(args));
        let v = obs.to_value();
        assert_eq!(v["observation"], "mcp");
        assert_eq!(v["content"], "{}");
        assert_eq!(
            v["extras"],
            json!({"name": "fetch", "arguments": {"url": "x"}})
        );
    }

    #[test]
    fn names_and_commands_are_validated() {
        let ok = McpStdioServerConfig {
            name: "every-thing_1".into(),
            command: "node".into(),
            args: vec![],
            env: BTreeMap::new(),
        };
        assert_eq!(ok.validate(), Ok(()));
        let bad_name = McpStdioServerConfig {
            name: "a b".into(),
            ..ok.clone()
        };
        assert!(bad_name.validate().unwrap_err().contains("letters, digits"));
        let bad_cmd = McpStdioServerConfig {
            command: "node server.js".into(),
            ..ok
        };
        assert!(bad_cmd.validate().unwrap_err().contains("without spaces"));
    }
}
