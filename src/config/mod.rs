//! Configuration in layers: `~/.config/openhands-lsp/config.toml`, then `<workspace>/.openhands/config.toml`,
//! then environment variables, then command-line flags, resolved into one `Settings` without options.

use std::path::{Path, PathBuf};

use serde::Deserialize;

mod docker;

pub use docker::{DockerSettings, MountSpec, docker_settings, parse_size};

use crate::agent::AgentConfig;
use crate::llm::{LlmConfig, LlmError, config::resolve_llm_config};

/// Why the configuration cannot be used; every message names the file or setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Llm(#[from] LlmError),
    #[error("{0}")]
    Other(String),
}

/// Where actions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    Local,
    Remote,
    Docker,
}

impl std::str::FromStr for RuntimeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(Self::Local),
            "remote" => Ok(Self::Remote),
            "docker" => Ok(Self::Docker),
            other => Err(format!(
                "unknown runtime '{other}': use local, remote or docker"
            )),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    max_iterations: Option<u32>,
    max_budget_per_task: Option<f64>,
    max_message_chars: Option<usize>,
    stuck_detection: Option<bool>,
    auto_continue: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondenser {
    #[serde(rename = "type")]
    kind: Option<String>,
    keep_first: Option<usize>,
    max_size: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    kind: Option<RuntimeKind>,
    url: Option<String>,
    api_key: Option<String>,
    binary: Option<PathBuf>,
    jupyter: Option<bool>,
    browser: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: Option<PathBuf>,
}

/// Sections we read; others known to later features are accepted and ignored.
const KNOWN_SECTIONS: &[&str] = &[
    "llm",
    "agent",
    "runtime",
    "storage",
    "sandbox",
    "lsp",
    "security",
    "mcp",
    "docker",
    "condenser",
    "secrets",
    "checkers",
];

/// Runtime settings after resolution.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub kind: RuntimeKind,
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub binary: Option<PathBuf>,
    /// Start the IPython kernel and offer `execute_ipython_cell` (the Docker runtime needs an image with it).
    pub jupyter: bool,
    /// Enable the browser and offer the `browser` tool (the Docker runtime needs an image with it).
    pub browser: bool,
}

/// Command-line choices, which win over files and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub runtime: Option<RuntimeKind>,
    pub runtime_url: Option<String>,
    pub max_iterations: Option<u32>,
    pub llm_profile: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub model: Option<String>,
    /// The LLM's base URL (as `LLM_BASE_URL` would give it).
    pub base_url: Option<String>,
}

/// Everything a task needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub llm: LlmConfig,
    /// The core's settings; `agent.auto_continue` stays 0 (a reply that asks nothing waits for the
    /// user) unless the front end copies `auto_continue` into it.
    pub agent: AgentConfig,
    /// `[agent] auto_continue`: for front ends nobody answers live (`openhands-lsp run`), how many
    /// replies without a tool call or a question are answered with an automatic "continue or finish".
    pub auto_continue: u32,
    pub runtime: RuntimeSettings,
    pub docker: DockerSettings,
    /// `[mcp]`: the MCP servers and the tool-call timeout. A front end with servers of its own (ACP's
    /// `session/new`) appends them to `mcp.servers` before the session starts.
    pub mcp: crate::mcp::McpSettings,
    pub data_dir: PathBuf,
    /// `[secrets]` and `OPENHANDS_SECRET_<NAME>`: exported into the sandbox's shell, masked everywhere.
    pub named_secrets: crate::secrets::Secrets,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
}

impl Settings {
    /// The credentials of ours known before a runtime starts (the LLM key, a configured runtime key), and
    /// the values of the named secrets: masked in everything a conversation shows; no variable the sandbox
    /// inherits from us carries one (the named secrets are then exported under their own names).
    pub fn secrets(&self) -> Vec<String> {
        [self.llm.api_key.clone(), self.runtime.api_key.clone()]
            .into_iter()
            .flatten()
            .chain(self.mcp.servers.iter().flat_map(|s| s.secrets()))
            .chain(self.named_secrets.values())
            .collect()
    }
}

/// `$XDG_CONFIG_HOME/openhands-lsp/config.toml`, else `~/.config/openhands-lsp/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("openhands-lsp").join("config.toml"))
}

fn read_table(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
    for key in table.keys() {
        if !KNOWN_SECTIONS.contains(&key.as_str()) {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "unknown section or key `{key}`; known sections: {}",
                    KNOWN_SECTIONS.join(", ")
                ),
            });
        }
    }
    Ok(Some(table))
}

fn section<T: for<'de> Deserialize<'de> + Default>(
    table: &toml::Table,
    name: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    match table.get(name) {
        None => Ok(T::default()),
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid {
                path: path.to_owned(),
                message: format!("[{name}]: {}", e.message()),
            }),
    }
}

/// Reads the config files that exist for `workspace` (user first, workspace second).
pub fn load_files(workspace: &Path) -> Result<Vec<(PathBuf, toml::Table)>, ConfigError> {
    let mut files = Vec::new();
    let candidates = [
        user_config_path(),
        Some(workspace.join(".openhands").join("config.toml")),
    ];
    for path in candidates.into_iter().flatten() {
        if let Some(t) = read_table(&path)? {
            files.push((path, t));
        }
    }
    Ok(files)
}

/// Adds the `[secrets]` of one config file: `NAME = "value"`, each checked (the error names the file and
/// the secret, never the value).
fn read_secrets(
    table: &toml::Table,
    path: &Path,
    secrets: &mut crate::secrets::Secrets,
) -> Result<(), ConfigError> {
    let Some(section) = table.get("secrets") else {
        return Ok(());
    };
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!("[secrets]: {message}"),
    };
    let section = section
        .as_table()
        .ok_or_else(|| invalid("must be a table of NAME = \"value\"".into()))?;
    for (name, value) in section {
        let value = value
            .as_str()
            .ok_or_else(|| invalid(format!("`{name}` must be a string")))?;
        secrets.set(name, value).map_err(invalid)?;
    }
    Ok(())
}

/// Lays one file's `[condenser]` over `c`, checking the result.
fn condenser_settings(
    c: &mut crate::agent::condenser::CondenserConfig,
    raw: RawCondenser,
    path: &Path,
) -> Result<(), ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    };
    if let Some(kind) = raw.kind {
        c.kind = kind
            .parse()
            .map_err(|e: String| invalid(format!("[condenser]: {e}")))?;
    }
    if let Some(v) = raw.keep_first {
        c.keep_first = v;
    }
    if let Some(v) = raw.max_size {
        c.max_size = v;
    }
    c.validate().map_err(invalid)
}

/// Resolves the settings for a task in `workspace`.
pub fn resolve(
    workspace: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let files = load_files(workspace)?;
    let mut agent = AgentConfig::default();
    let mut auto_continue = 3;
    let mut runtime = RawRuntime::default();
    let mut data_dir: Option<PathBuf> = None;
    let docker = docker_settings(&files)?;
    let mcp = crate::mcp::config::mcp_settings(&files)?;
    let mut named_secrets = crate::secrets::Secrets::default();
    for (path, table) in &files {
        let a: RawAgent = section(table, "agent", path)?;
        if let Some(v) = a.max_iterations {
            agent.max_iterations = v;
        }
        if a.max_budget_per_task.is_some() {
            agent.max_budget_per_task = a.max_budget_per_task;
        }
        if let Some(v) = a.max_message_chars {
            agent.max_message_chars = v;
        }
        if let Some(v) = a.stuck_detection {
            agent.stuck_detection = v;
        }
        if let Some(v) = a.auto_continue {
            auto_continue = v;
        }
        condenser_settings(
            &mut agent.condenser,
            section(table, "condenser", path)?,
            path,
        )?;
        let r: RawRuntime = section(table, "runtime", path)?;
        runtime.kind = r.kind.or(runtime.kind);
        runtime.url = r.url.or(runtime.url);
        runtime.api_key = r.api_key.or(runtime.api_key);
        runtime.binary = r.binary.or(runtime.binary);
        runtime.jupyter = r.jupyter.or(runtime.jupyter);
        runtime.browser = r.browser.or(runtime.browser);
        let s: RawStorage = section(table, "storage", path)?;
        data_dir = s.data_dir.or(data_dir);
        read_secrets(table, path, &mut named_secrets)?;
    }
    if let Some(v) = env("OPENHANDS_MAX_ITERATIONS") {
        agent.max_iterations = v.parse().map_err(|_| {
            ConfigError::Other(format!(
                "OPENHANDS_MAX_ITERATIONS must be a whole number, got '{v}'"
            ))
        })?;
    }
    if let Some(v) = overrides.max_iterations {
        agent.max_iterations = v;
    }
    if agent.max_iterations == 0 {
        return Err(ConfigError::Other(
            "max_iterations must be at least 1".into(),
        ));
    }
    let layers: Vec<&toml::Table> = files.iter().map(|(_, t)| t).collect();
    let model_override = overrides.model.clone();
    let base_url_override = overrides.base_url.clone();
    let env_with_model = |k: &str| {
        if k == "LLM_MODEL" && model_override.is_some() {
            return model_override.clone();
        }
        if k == "LLM_BASE_URL" && base_url_override.is_some() {
            return base_url_override.clone();
        }
        env(k)
    };
    let llm = resolve_llm_config(&layers, overrides.llm_profile.as_deref(), &env_with_model)?;
    named_secrets
        .add_from_env(std::env::vars())
        .map_err(ConfigError::Other)?;
    let kind = overrides
        .runtime
        .or(runtime.kind)
        .unwrap_or(RuntimeKind::Local);
    let url = overrides
        .runtime_url
        .clone()
        .or(runtime.url)
        .or_else(|| env("OPENHANDS_RUNTIME_URL"));
    let api_key = runtime.api_key.or_else(|| env("OPENHANDS_RUNTIME_API_KEY"));
    if kind == RuntimeKind::Remote && url.is_none() {
        return Err(ConfigError::Other(
            "the remote runtime needs a URL: pass --runtime-url, set OPENHANDS_RUNTIME_URL, or `url` in [runtime]".into(),
        ));
    }
    // Every runtime kind starts what is asked for (the Docker runtime refuses an image without it), so the
    // tools follow the settings alone.
    let jupyter = runtime.jupyter.unwrap_or(false);
    let browser = runtime.browser.unwrap_or(false);
    agent.tool_support = crate::agent::tools::ToolSupport { jupyter, browser };
    let ours = [llm.api_key.as_deref(), api_key.as_deref()];
    for secret in named_secrets.env() {
        if ours
            .iter()
            .flatten()
            .any(|key| key.contains(secret.1.as_str()) || secret.1.contains(key))
        {
            return Err(ConfigError::Other(format!(
                "secret `{}` holds the LLM or runtime key, which never goes into the sandbox",
                secret.0
            )));
        }
    }
    let data_dir = overrides
        .data_dir
        .clone()
        .or(data_dir)
        .unwrap_or_else(crate::storage::Storage::default_root);
    Ok(Settings {
        llm,
        agent,
        auto_continue,
        runtime: RuntimeSettings {
            kind,
            url,
            api_key,
            binary: runtime.binary,
            jupyter,
            browser,
        },
        docker,
        mcp,
        data_dir,
        named_secrets,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}
