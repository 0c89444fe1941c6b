//! Configuration in layers: `~/.config/openhands-lsp/config.toml`, then `<workspace>/.openhands/config.toml`,
//! then environment variables, then command-line flags, resolved into one `Settings` without options.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    kind: Option<RuntimeKind>,
    url: Option<String>,
    api_key: Option<String>,
    binary: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: Option<PathBuf>,
}

/// Sections we read; others known to later features are accepted and ignored.
const KNOWN_SECTIONS: &[&str] = &[
    "llm", "agent", "runtime", "storage", "sandbox", "lsp", "security", "mcp", "docker",
];

/// Runtime settings after resolution.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub kind: RuntimeKind,
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub binary: Option<PathBuf>,
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
}

/// Everything a task needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub llm: LlmConfig,
    pub agent: AgentConfig,
    pub runtime: RuntimeSettings,
    pub data_dir: PathBuf,
    /// The files that were read, in order.
    pub files: Vec<PathBuf>,
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

/// Resolves the settings for a task in `workspace`.
pub fn resolve(
    workspace: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let files = load_files(workspace)?;
    let mut agent = AgentConfig::default();
    let mut runtime = RawRuntime::default();
    let mut data_dir: Option<PathBuf> = None;
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
        let r: RawRuntime = section(table, "runtime", path)?;
        runtime.kind = r.kind.or(runtime.kind);
        runtime.url = r.url.or(runtime.url);
        runtime.api_key = r.api_key.or(runtime.api_key);
        runtime.binary = r.binary.or(runtime.binary);
        let s: RawStorage = section(table, "storage", path)?;
        data_dir = s.data_dir.or(data_dir);
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
    let env_with_model = |k: &str| {
        if k == "LLM_MODEL" && model_override.is_some() {
            return model_override.clone();
        }
        env(k)
    };
    let llm = resolve_llm_config(&layers, overrides.llm_profile.as_deref(), &env_with_model)?;
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
    let data_dir = overrides
        .data_dir
        .clone()
        .or(data_dir)
        .unwrap_or_else(crate::storage::Storage::default_root);
    Ok(Settings {
        llm,
        agent,
        runtime: RuntimeSettings {
            kind,
            url,
            api_key,
            binary: runtime.binary,
        },
        data_dir,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}
