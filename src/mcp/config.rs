//! `[mcp]` in the config files: stdio servers (run by the runtime, inside the sandbox), streamable-HTTP
//! servers (reached by the agent) and the tool-call timeout, validated entry by entry with errors that name
//! the file and the entry.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use openhands_runtime_api::mcp::McpStdioServerConfig;
use serde::Deserialize;

use crate::config::ConfigError;

/// How long a tool call may take unless `[mcp] timeout` says otherwise (OpenHands' default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// OpenHands' bounds of an MCP timeout, in seconds.
const MAX_TIMEOUT_SECS: f64 = 3600.0;

/// A streamable-HTTP MCP server the agent connects to itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpHttpServer {
    pub name: String,
    pub url: String,
    /// Sent with every request (e.g. `Authorization`); their values are masked like every secret.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// One MCP server, from the configuration or from a front end (ACP's `session/new`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McpServer {
    /// Started by the runtime inside the sandbox, served to the agent at the runtime's `/mcp`.
    Stdio(McpStdioServerConfig),
    Http(McpHttpServer),
}

impl McpServer {
    pub fn name(&self) -> &str {
        match self {
            McpServer::Stdio(s) => &s.name,
            McpServer::Http(h) => &h.name,
        }
    }

    /// The server's name, command or URL, validated; the error is a sentence without the file.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            McpServer::Stdio(s) => s.validate(),
            McpServer::Http(h) => {
                McpStdioServerConfig {
                    name: h.name.clone(),
                    command: "-".into(),
                    args: Vec::new(),
                    env: BTreeMap::new(),
                }
                .validate()?;
                let scheme_ok = ["http://", "https://"].iter().any(|p| {
                    h.url
                        .get(..p.len())
                        .is_some_and(|s| s.eq_ignore_ascii_case(p))
                        && h.url.len() > p.len()
                });
                if !scheme_ok || h.url.chars().any(char::is_whitespace) {
                    return Err(format!(
                        "MCP server {}: url {:?} must be an http:// or https:// URL",
                        h.name, h.url
                    ));
                }
                Ok(())
            }
        }
    }

    /// Values that must be masked wherever the conversation is shown: every header value (they carry
    /// credentials), and env values whose names say they are credentials (`*_KEY`, `*TOKEN*`, ...).
    pub fn secrets(&self) -> Vec<String> {
        let long = |v: &&String| v.len() >= 4;
        match self {
            McpServer::Stdio(s) => s
                .env
                .iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_uppercase();
                    [
                        "KEY",
                        "TOKEN",
                        "SECRET",
                        "PASSWORD",
                        "PASSWD",
                        "AUTH",
                        "CREDENTIAL",
                    ]
                    .iter()
                    .any(|w| k.contains(w))
                })
                .map(|(_, v)| v)
                .filter(long)
                .cloned()
                .collect(),
            McpServer::Http(h) => h.headers.values().filter(long).cloned().collect(),
        }
    }
}

/// `[mcp]` resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct McpSettings {
    /// Stdio servers first, then HTTP servers, each in file order; a later file's server replaces an
    /// earlier one of the same name.
    pub servers: Vec<McpServer>,
    /// The longest a tool call may take before it is an error result.
    pub timeout: Duration,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcp {
    #[serde(default)]
    stdio_servers: Vec<toml::Value>,
    #[serde(default)]
    http_servers: Vec<toml::Value>,
    timeout: Option<f64>,
}

/// The `[mcp]` settings of the config files (user first, workspace second).
pub fn mcp_settings(files: &[(PathBuf, toml::Table)]) -> Result<McpSettings, ConfigError> {
    let mut out = McpSettings::default();
    for (path, table) in files {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message: format!("[mcp]: {message}"),
        };
        let Some(raw) = table.get("mcp") else {
            continue;
        };
        let raw: RawMcp = raw
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.message().to_owned()))?;
        if let Some(t) = raw.timeout {
            if !(t.is_finite() && t > 0.0 && t <= MAX_TIMEOUT_SECS) {
                return Err(invalid(format!(
                    "timeout must be between 0 and {MAX_TIMEOUT_SECS} seconds, got {t}"
                )));
            }
            out.timeout = Duration::from_secs_f64(t);
        }
        let mut servers = Vec::new();
        for (i, v) in raw.stdio_servers.into_iter().enumerate() {
            let s: McpStdioServerConfig = v.try_into().map_err(|e: toml::de::Error| {
                invalid(format!("stdio_servers[{i}]: {}", e.message()))
            })?;
            servers.push(McpServer::Stdio(s));
        }
        for (i, v) in raw.http_servers.into_iter().enumerate() {
            let h: McpHttpServer = v.try_into().map_err(|e: toml::de::Error| {
                invalid(format!("http_servers[{i}]: {}", e.message()))
            })?;
            servers.push(McpServer::Http(h));
        }
        let mut seen: Vec<&str> = Vec::new();
        for s in &servers {
            s.validate().map_err(&invalid)?;
            if seen.contains(&s.name()) {
                return Err(invalid(format!(
                    "two servers are named {}; names must be unique",
                    s.name()
                )));
            }
            seen.push(s.name());
        }
        for s in servers {
            out.servers.retain(|o| o.name() != s.name());
            out.servers.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<McpSettings, String> {
        let table: toml::Table = text.parse().unwrap();
        mcp_settings(&[(PathBuf::from("/cfg.toml"), table)]).map_err(|e| e.to_string())
    }

    #[test]
    fn the_documented_example_parses() {
        let s = parse(
            r#"[mcp]
stdio_servers = [{ name = "everything", command = "node", args = ["server.js", "stdio"], env = { A = "1" } }]
http_servers = [{ name = "docs", url = "http://127.0.0.1:8931/mcp" }]
timeout = 5
"#,
        )
        .unwrap();
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert_eq!(
            s.servers,
            vec![
                McpServer::Stdio(McpStdioServerConfig {
                    name: "everything".into(),
                    command: "node".into(),
                    args: vec!["server.js".into(), "stdio".into()],
                    env: [("A".to_owned(), "1".to_owned())].into(),
                }),
                McpServer::Http(McpHttpServer {
                    name: "docs".into(),
                    url: "http://127.0.0.1:8931/mcp".into(),
                    headers: BTreeMap::new(),
                }),
            ]
        );
        assert_eq!(parse("").unwrap(), McpSettings::default());
        assert_eq!(s.servers[0].secrets(), Vec::<String>::new());
    }

    #[test]
    fn credential_values_are_secrets() {
        let s = parse(
            r#"[mcp]
stdio_servers = [{ name = "gh", command = "x", env = { GITHUB_TOKEN = "ghp_abcdef", ROOT = "/workspace", API_KEY = "k-123456" } }]
http_servers = [{ name = "d", url = "https://x/mcp", headers = { Authorization = "Bearer abcdef" } }]
"#,
        )
        .unwrap();
        assert_eq!(s.servers[0].secrets(), ["k-123456", "ghp_abcdef"]);
        assert_eq!(s.servers[1].secrets(), ["Bearer abcdef"]);
    }

    #[test]
    fn bad_entries_are_named() {
        for (text, why) in [
            (
                r#"[mcp]
stdio_servers = [{ name = "a" }]"#,
                "/cfg.toml: [mcp]: stdio_servers[0]: missing field `command`",
            ),
            (
                r#"[mcp]
stdio_servers = [{ name = "a", command = "node", cwd = "/" }]"#,
                "stdio_servers[0]: unknown field `cwd`",
            ),
            (
                r#"[mcp]
stdio_servers = [{ name = "a b", command = "node" }]"#,
                "letters, digits",
            ),
            (
                r#"[mcp]
stdio_servers = [{ name = "a", command = "npx -y server" }]"#,
                "without spaces",
            ),
            (
                r#"[mcp]
http_servers = [{ name = "d", url = "ftp://x" }]"#,
                "must be an http:// or https:// URL",
            ),
            (
                r#"[mcp]
http_servers = [{ name = "d" }]"#,
                "http_servers[0]: missing field `url`",
            ),
            (
                r#"[mcp]
stdio_servers = [{ name = "d", command = "x" }]
http_servers = [{ name = "d", url = "http://x" }]"#,
                "two servers are named d",
            ),
            ("[mcp]\ntimeout = 0", "timeout must be between"),
            ("[mcp]\nsse_servers = []", "unknown field `sse_servers`"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
