//! LLM settings: `[llm]` and `[llm.NAME]` TOML sections and `LLM_*` environment variables, resolved into one
//! `LlmConfig`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::LlmError;

/// Where users put their settings; named in error messages.
const CONFIG_FILE: &str = "~/.config/openhands-lsp/config.toml";

/// Which wire format to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI chat completions (OpenAI, Ollama, vLLM, LM Studio, llama.cpp, OpenRouter, LiteLLM proxy).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

/// A resolved LLM configuration: every field has a value.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// The model name as the provider knows it (provider prefix such as `openai/` removed).
    pub model: String,
    pub provider: Provider,
    pub api_key: Option<String>,
    pub base_url: String,
    /// `None`: decide from the model name.
    pub native_tool_calling: Option<bool>,
    /// The sampling temperature to send (0 unless configured, as OpenHands); `None` sends none, and
    /// models that reject one (reasoning models, see `features`) never get it.
    pub temperature: Option<f64>,
    /// OpenAI's `reasoning_effort` (`none`, `minimal`, `low`, `medium`, `high`), sent only to the
    /// models that take it (see `features`); `None`: the provider's default.
    pub reasoning_effort: Option<String>,
    pub max_output_tokens: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
    pub num_retries: u32,
    pub retry_min_wait: Duration,
    pub retry_max_wait: Duration,
    pub retry_multiplier: f64,
    /// USD per token; `None`: the built-in price table, else 0.
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    /// USD per cached input token read, and per token written to the cache, with the overrides above;
    /// `None`: as `input_cost_per_token`.
    pub cache_read_cost_per_token: Option<f64>,
    pub cache_write_cost_per_token: Option<f64>,
    /// The model's context window in tokens; `None`: the built-in size of a known model, if any.
    pub max_input_tokens: Option<u64>,
    /// Stream responses (SSE).
    pub stream: bool,
    /// Send images (browser screenshots, images the agent reads); `None`: decided from the model's name.
    pub vision: Option<bool>,
}

impl LlmConfig {
    /// The model's context window in tokens: `max_input_tokens` if configured, else the built-in size of
    /// a known model.
    pub fn context_window(&self) -> Option<u64> {
        self.max_input_tokens
            .or_else(|| super::features::context_window(&self.model))
    }
}

/// Written by hand so that the API key never reaches a log line.
impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("model", &self.model)
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("native_tool_calling", &self.native_tool_calling)
            .field("temperature", &self.temperature)
            .field("reasoning_effort", &self.reasoning_effort)
            .field("vision", &self.vision)
            .field("max_output_tokens", &self.max_output_tokens)
            .field("timeout", &self.timeout)
            .field("num_retries", &self.num_retries)
            .field("retry_min_wait", &self.retry_min_wait)
            .field("retry_max_wait", &self.retry_max_wait)
            .field("retry_multiplier", &self.retry_multiplier)
            .field("input_cost_per_token", &self.input_cost_per_token)
            .field("output_cost_per_token", &self.output_cost_per_token)
            .field("cache_read_cost_per_token", &self.cache_read_cost_per_token)
            .field(
                "cache_write_cost_per_token",
                &self.cache_write_cost_per_token,
            )
            .field("max_input_tokens", &self.max_input_tokens)
            .field("stream", &self.stream)
            .finish()
    }
}

/// One `[llm]` or `[llm.NAME]` section as written; every key optional, unknown keys rejected.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSettings {
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub base_url: Option<String>,
    pub provider: Option<Provider>,
    pub native_tool_calling: Option<bool>,
    pub temperature: Option<f64>,
    pub reasoning_effort: Option<String>,
    pub max_output_tokens: Option<u64>,
    /// Seconds.
    pub timeout: Option<f64>,
    pub num_retries: Option<u32>,
    /// Seconds.
    pub retry_min_wait: Option<f64>,
    /// Seconds.
    pub retry_max_wait: Option<f64>,
    pub retry_multiplier: Option<f64>,
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    pub cache_read_cost_per_token: Option<f64>,
    pub cache_write_cost_per_token: Option<f64>,
    pub max_input_tokens: Option<u64>,
    pub stream: Option<bool>,
    pub vision: Option<bool>,
}

impl fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmSettings")
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl LlmSettings {
    /// Keys set in `over` replace ours.
    fn overlay(&mut self, over: LlmSettings) {
        macro_rules! take {
            ($($f:ident),*) => { $( if over.$f.is_some() { self.$f = over.$f; } )* };
        }
        take!(
            model,
            api_key,
            base_url,
            provider,
            native_tool_calling,
            temperature,
            reasoning_effort,
            max_output_tokens,
            timeout,
            num_retries,
            retry_min_wait,
            retry_max_wait,
            retry_multiplier,
            input_cost_per_token,
            output_cost_per_token,
            cache_read_cost_per_token,
            cache_write_cost_per_token,
            max_input_tokens,
            stream,
            vision
        );
    }
}

/// The values OpenAI's `reasoning_effort` takes.
const REASONING_EFFORTS: &[&str] = &["none", "minimal", "low", "medium", "high"];

/// Model prefixes in litellm's style: the wire they imply and the server they default to.
const PREFIXES: &[(&str, Provider, &str)] = &[
    ("openai/", Provider::OpenAi, "https://api.openai.com/v1"),
    (
        "anthropic/",
        Provider::Anthropic,
        "https://api.anthropic.com/v1",
    ),
    ("ollama/", Provider::OpenAi, "http://localhost:11434/v1"),
    (
        "ollama_chat/",
        Provider::OpenAi,
        "http://localhost:11434/v1",
    ),
    ("lm_studio/", Provider::OpenAi, "http://localhost:1234/v1"),
    ("hosted_vllm/", Provider::OpenAi, "http://localhost:8000/v1"),
    (
        "litellm_proxy/",
        Provider::OpenAi,
        "http://localhost:4000/v1",
    ),
    (
        "openrouter/",
        Provider::OpenAi,
        "https://openrouter.ai/api/v1",
    ),
    ("deepseek/", Provider::OpenAi, "https://api.deepseek.com/v1"),
];

/// Hosted APIs that always need a key; any other server (local or custom) may run without one.
const KEYED_HOSTS: &[&str] = &[
    "api.openai.com",
    "api.anthropic.com",
    "openrouter.ai",
    "api.deepseek.com",
];

/// Resolves the LLM settings: each layer is a whole parsed config file (user file first, workspace file
/// second; later wins). `[llm]` of every layer, then the chosen `[llm.NAME]` profile of every layer (a
/// profile inherits what it does not set), then the `LLM_*` environment variables over everything, so
/// that a front end can pass a command-line override through them. (OpenHands applies `LLM_*` only to
/// the default section.) Every profile section is checked for unknown keys, chosen or not.
pub fn resolve_llm_config(
    layers: &[&toml::Table],
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LlmConfig, LlmError> {
    let mut settings = LlmSettings::default();
    let mut profile_settings = LlmSettings::default();
    let mut known_profiles: Vec<String> = Vec::new();
    let mut profile_found = false;
    for layer in layers {
        let Some(llm) = layer.get("llm") else {
            continue;
        };
        let toml::Value::Table(llm) = llm else {
            return Err(LlmError::Config(
                "`llm` in the config file must be a section ([llm])".into(),
            ));
        };
        let mut base = toml::Table::new();
        for (key, value) in llm {
            match value {
                toml::Value::Table(section) => {
                    if !known_profiles.contains(key) {
                        known_profiles.push(key.clone());
                    }
                    let parsed = parse_section(section, &format!("[llm.{key}]"))?;
                    if profile == Some(key.as_str()) {
                        profile_found = true;
                        profile_settings.overlay(parsed);
                    }
                }
                other => {
                    base.insert(key.clone(), other.clone());
                }
            }
        }
        settings.overlay(parse_section(&base, "[llm]")?);
    }
    if let Some(name) = profile.filter(|_| !profile_found) {
        let known = if known_profiles.is_empty() {
            "no [llm.NAME] profiles are defined".to_string()
        } else {
            known_profiles.sort();
            let names: Vec<String> = known_profiles.iter().map(|p| format!("`{p}`")).collect();
            format!("the known profiles are {}", names.join(", "))
        };
        return Err(LlmError::Config(format!(
            "unknown LLM profile `{name}`: {known}"
        )));
    }
    settings.overlay(profile_settings);
    settings.overlay(from_env(env)?);
    let section = profile.map_or_else(|| "[llm]".to_string(), |p| format!("[llm.{p}]"));
    finish(settings, &section)
}

fn parse_section(table: &toml::Table, name: &str) -> Result<LlmSettings, LlmError> {
    toml::Value::Table(table.clone())
        .try_into::<LlmSettings>()
        .map_err(|e| LlmError::Config(format!("{name} in the config file: {}", e.message().trim())))
}

fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<LlmSettings, LlmError> {
    let get = |name: &str| {
        env(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let native_tool_calling = match get("LLM_NATIVE_TOOL_CALLING").as_deref() {
        None => None,
        Some("1" | "true" | "True" | "TRUE") => Some(true),
        Some("0" | "false" | "False" | "FALSE") => Some(false),
        Some(other) => {
            return Err(LlmError::Config(format!(
                "LLM_NATIVE_TOOL_CALLING must be true or false, not `{other}`"
            )));
        }
    };
    let temperature = match get("LLM_TEMPERATURE") {
        None => None,
        Some(v) => Some(v.parse::<f64>().map_err(|_| {
            LlmError::Config(format!("LLM_TEMPERATURE must be a number, not `{v}`"))
        })?),
    };
    let num_retries = match get("LLM_NUM_RETRIES") {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| {
            LlmError::Config(format!("LLM_NUM_RETRIES must be a whole number, not `{v}`"))
        })?),
    };
    Ok(LlmSettings {
        model: get("LLM_MODEL"),
        api_key: get("LLM_API_KEY"),
        base_url: get("LLM_BASE_URL"),
        native_tool_calling,
        temperature,
        reasoning_effort: get("LLM_REASONING_EFFORT"),
        num_retries,
        ..LlmSettings::default()
    })
}

fn seconds(value: Option<f64>, default: f64, key: &str) -> Result<Duration, LlmError> {
    let secs = value.unwrap_or(default);
    Duration::try_from_secs_f64(secs).map_err(|_| {
        LlmError::Config(format!(
            "`{key}` must be a non-negative number of seconds, not {secs}"
        ))
    })
}

fn finish(s: LlmSettings, section: &str) -> Result<LlmConfig, LlmError> {
    let Some(raw_model) = s
        .model
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
    else {
        return Err(LlmError::Config(format!(
            "no model is configured: set LLM_MODEL or `model` in the {section} section of {CONFIG_FILE}"
        )));
    };
    let prefix = PREFIXES.iter().find(|(p, _, _)| raw_model.starts_with(p));
    let model = prefix
        .map_or(raw_model.as_str(), |(p, _, _)| &raw_model[p.len()..])
        .to_string();
    if model.is_empty() {
        return Err(LlmError::Config(format!(
            "the model `{raw_model}` names a provider but no model"
        )));
    }
    let provider = s.provider.unwrap_or(match prefix {
        Some((_, provider, _)) => *provider,
        None if model.starts_with("claude") => Provider::Anthropic,
        None => Provider::OpenAi,
    });
    let default_url = match (prefix, provider) {
        (Some((_, _, url)), _) => *url,
        (None, Provider::Anthropic) => "https://api.anthropic.com/v1",
        (None, Provider::OpenAi) => "https://api.openai.com/v1",
    };
    let mut base_url = s
        .base_url
        .unwrap_or_else(|| default_url.to_string())
        .trim()
        .trim_end_matches('/')
        .to_string();
    // OpenHands users write the Ollama root (litellm's native Ollama API); we speak its OpenAI API.
    if prefix.is_some_and(|(p, _, _)| p.starts_with("ollama")) && !base_url.ends_with("/v1") {
        base_url.push_str("/v1");
    }
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(LlmError::Config(format!(
            "the base URL `{base_url}` must start with http:// or https://"
        )));
    }
    let api_key = s.api_key.filter(|k| !k.trim().is_empty());
    if api_key.is_none() && needs_key(&base_url) {
        return Err(LlmError::Config(format!(
            "no API key is configured for {base_url}: set LLM_API_KEY or `api_key` in the {section} section of {CONFIG_FILE}"
        )));
    }
    let retry_multiplier = s.retry_multiplier.unwrap_or(2.0);
    if !(retry_multiplier.is_finite() && retry_multiplier >= 1.0) {
        return Err(LlmError::Config(format!(
            "`retry_multiplier` must be at least 1, not {retry_multiplier}"
        )));
    }
    // Providers default to about 1; a coding agent wants its most likely answer, as OpenHands asks.
    let temperature = s.temperature.unwrap_or(0.0);
    if !(temperature.is_finite() && (0.0..=2.0).contains(&temperature)) {
        return Err(LlmError::Config(format!(
            "`temperature` must be between 0 and 2, not {temperature}"
        )));
    }
    let reasoning_effort = s.reasoning_effort.map(|e| e.trim().to_ascii_lowercase());
    if let Some(effort) = reasoning_effort
        .as_deref()
        .filter(|e| !REASONING_EFFORTS.contains(e))
    {
        return Err(LlmError::Config(format!(
            "`reasoning_effort` must be one of {}, not `{effort}`",
            REASONING_EFFORTS.join(", ")
        )));
    }
    let timeout = seconds(s.timeout, 120.0, "timeout")?;
    if timeout.is_zero() {
        return Err(LlmError::Config(
            "`timeout` must be more than 0 seconds".into(),
        ));
    }
    let retry_min_wait = seconds(s.retry_min_wait, 8.0, "retry_min_wait")?;
    let retry_max_wait = seconds(s.retry_max_wait, 64.0, "retry_max_wait")?;
    if retry_min_wait > retry_max_wait {
        return Err(LlmError::Config(
            "`retry_min_wait` must not exceed `retry_max_wait`".into(),
        ));
    }
    for (key, price) in [
        ("input_cost_per_token", s.input_cost_per_token),
        ("output_cost_per_token", s.output_cost_per_token),
        ("cache_read_cost_per_token", s.cache_read_cost_per_token),
        ("cache_write_cost_per_token", s.cache_write_cost_per_token),
    ] {
        if price.is_some_and(|p| !(p.is_finite() && p >= 0.0)) {
            return Err(LlmError::Config(format!(
                "`{key}` must be a non-negative number"
            )));
        }
    }
    if s.max_input_tokens.is_some_and(|n| n < 1000) {
        return Err(LlmError::Config(format!(
            "`max_input_tokens` in {section} must be at least 1000 tokens (the system prompt and tools alone take more), got {}",
            s.max_input_tokens.unwrap_or_default()
        )));
    }
    Ok(LlmConfig {
        model,
        provider,
        api_key,
        base_url,
        native_tool_calling: s.native_tool_calling,
        temperature: Some(temperature),
        reasoning_effort,
        max_output_tokens: s.max_output_tokens,
        timeout,
        num_retries: s.num_retries.unwrap_or(5),
        retry_min_wait,
        retry_max_wait,
        retry_multiplier,
        input_cost_per_token: s.input_cost_per_token,
        output_cost_per_token: s.output_cost_per_token,
        cache_read_cost_per_token: s.cache_read_cost_per_token,
        cache_write_cost_per_token: s.cache_write_cost_per_token,
        max_input_tokens: s.max_input_tokens,
        stream: s.stream.unwrap_or(true),
        vision: s.vision,
    })
}

/// The host of an `http(s)://host[:port]/...` URL, lowercased.
pub(crate) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.to_ascii_lowercase()
}

fn needs_key(base_url: &str) -> bool {
    let host = url_host(base_url);
    KEYED_HOSTS.iter().any(|h| host == *h)
}

/// Servers on this machine: no key needed, no price charged.
pub(crate) fn is_local(base_url: &str) -> bool {
    let host = url_host(base_url);
    host == "localhost"
        || host.starts_with("127.")
        || host == "::1"
        || host == "0.0.0.0"
        || host == "host.docker.internal"
}
