//! LLM providers over HTTP: OpenAI-compatible chat completions and Anthropic Messages, streaming,
//! native or emulated tool calls, retries, and token/cost accounting. The only module that speaks
//! provider HTTP.

pub mod config;

mod anthropic;
mod emulation;
mod features;
pub mod images;
mod openai;
mod pricing;
mod retry;
mod sse;
mod transport;

/// The parsers of what providers send, for the fuzz targets (`crate::fuzzing`); not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::sse::{SseEvent, SseParser as Parser};

    /// A text reply parsed as emulated tool calls against `tools`.
    pub fn parse_reply(text: &str, tools: &[super::ToolSpec]) -> (String, Vec<super::ToolCall>) {
        super::emulation::parse_reply(text, tools, 0)
    }
}

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use config::{LlmConfig, LlmSettings, Provider, resolve_llm_config};

use emulation::TextGate;
use retry::Failure;

/// A chat role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One tool call requested by the model; `arguments` is the raw JSON text the model produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A provider-neutral chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the call this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For `Role::Tool`: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Images the message carries, as data URLs: sent only to models that see images (see `images`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            images: Vec::new(),
        }
    }
}

/// A tool offered to the model, in OpenAI's function shape (`parameters` is a JSON Schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// One completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    /// Groups requests that share a prefix for the provider's prompt cache (OpenAI's `prompt_cache_key`):
    /// one per conversation.
    pub cache_key: Option<String>,
}

/// Tokens of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
}

/// The model's answer, with tool calls already in native form (emulated ones are parsed).
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: String,
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// USD for this call (0 when the model has no price).
    pub cost: f64,
    pub latency: Duration,
}

/// Progress while a completion runs, for front ends.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A piece of assistant text as it streams.
    Text(String),
    /// A retry is scheduled after a transient failure; text streamed by the failed attempt is void.
    /// `attempt` counts retries from 1 up to `max_attempts` (`num_retries`).
    Retrying {
        attempt: u32,
        max_attempts: u32,
        wait: Duration,
        reason: String,
    },
}

/// Why a completion failed; callers branch on the kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM configuration is incomplete: {0}")]
    Config(String),
    #[error("the LLM provider rejected the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    #[error("rate limited by the LLM provider after {attempts} attempts: {message}")]
    RateLimited { attempts: u32, message: String },
    #[error("the LLM provider failed with HTTP {status} after {attempts} attempts: {message}")]
    Server {
        status: u16,
        attempts: u32,
        message: String,
    },
    #[error("the LLM request was refused (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("the conversation no longer fits the model's context window: {0}")]
    ContextWindowExceeded(String),
    #[error("the LLM did not answer within {0:?} (after retries)")]
    Timeout(Duration),
    #[error("cannot reach the LLM at {url}: {message}")]
    Connection { url: String, message: String },
    #[error("the LLM answered with something unusable: {0}")]
    BadResponse(String),
    #[error("the LLM request was cancelled")]
    Cancelled,
}

/// A request in the form sent on the wire: with emulation, tools live in the system prompt.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub stop: Vec<String>,
    pub cache_key: Option<String>,
    /// Whether the prompt is worth caching: a request without tools (the condenser's summariser) is
    /// read once, so writing it to the cache would only cost more.
    pub cache: bool,
}

/// A configured client for one model.
#[derive(Debug, Clone)]
pub struct Llm {
    config: LlmConfig,
    client: reqwest::Client,
    /// Authentication headers, built once; their values are marked sensitive.
    headers: HeaderMap,
}

impl Llm {
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(LlmError::Config(format!(
                "the base URL `{}` must start with http:// or https://",
                config.base_url
            )));
        }
        if config.timeout.is_zero() {
            return Err(LlmError::Config(
                "the LLM timeout must be more than 0 seconds".into(),
            ));
        }
        let headers = transport::headers(&config)?;
        let client = reqwest::Client::builder()
            .connect_timeout(transport::connect_timeout(&config))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            config,
            client,
            headers,
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Whether tool calls go natively or through the text emulation: `native_tool_calling` if set, else
    /// native unless this model's server already refused `tools` in this process (see [`tools_refused`]).
    pub fn uses_native_tools(&self) -> bool {
        self.config
            .native_tool_calling
            .unwrap_or_else(|| !tools_refused(&self.config))
    }

    /// Runs one completion with retries; `on_event` sees streamed text and retry notices. Transient
    /// failures (connection, timeout, 429, 5xx, an empty answer, a broken stream) are retried with
    /// exponential backoff up to `num_retries` times; cancelling `cancel` drops the request at once.
    pub async fn complete(
        &self,
        request: &Request,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(StreamEvent) + Send + Sync),
    ) -> Result<Response, LlmError> {
        let mut native = self.uses_native_tools();
        let mut prepared = self.prepare(request, native);
        let key = self.config.api_key.as_deref();
        let mut temperature = self.config.temperature;
        let mut retries = 0;
        loop {
            let body = match self.config.provider {
                Provider::OpenAi => openai::body(&self.config, &prepared, temperature),
                Provider::Anthropic => anthropic::body(&self.config, &prepared, temperature),
            };
            tracing::debug!(model = %self.config.model, url = %transport::endpoint(&self.config), retries, "LLM request");
            let started = Instant::now();
            let mut gate = (!native).then(TextGate::default);
            let mut on_text = |text: &str| {
                let shown = match gate.as_mut() {
                    Some(gate) => gate.push(text),
                    None => text.to_string(),
                };
                if !shown.is_empty() {
                    on_event(StreamEvent::Text(shown));
                }
            };
            let outcome = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(LlmError::Cancelled),
                outcome = transport::attempt(&self.client, &self.config, &self.headers, &body, &mut on_text) => outcome,
            };
            let failure = match outcome {
                Ok(draft) if !draft.is_empty() => {
                    if let Some(tail) = gate
                        .as_mut()
                        .map(TextGate::finish)
                        .filter(|t| !t.is_empty())
                    {
                        on_event(StreamEvent::Text(tail));
                    }
                    return Ok(self.finish(draft, request, native, started.elapsed()));
                }
                Ok(_) => Failure::Empty,
                Err(failure) => failure,
            };
            // A server that refuses `tools` (Ollama for a model without tool support, vLLM without a tool
            // parser, ...) gets the text emulation at once, and so does every later request to it.
            if native
                && self.config.native_tool_calling.is_none()
                && let Failure::Fatal(LlmError::BadRequest { message, .. }) = &failure
                && refuses_tools(message)
            {
                tracing::info!(model = %self.config.model, %message, "the server refuses native tools: using the text emulation");
                remember_tools_refused(&self.config);
                native = false;
                prepared = self.prepare(request, native);
                continue;
            }
            // A server that rejects `prompt_cache_key` (a strict OpenAI-compatible one) gets requests
            // without it from now on.
            if prepared.cache_key.is_some()
                && let Failure::Fatal(LlmError::BadRequest { message, .. }) = &failure
                && message.contains("prompt_cache_key")
            {
                tracing::info!(model = %self.config.model, %message, "the server refuses prompt_cache_key: sending none");
                remember(&CACHE_KEY_REFUSED, &self.config);
                prepared.cache_key = None;
                continue;
            }
            if !failure.heals() || retries >= self.config.num_retries {
                return Err(retry::redact(
                    failure.into_error(&self.config, retries + 1),
                    key,
                ));
            }
            retries += 1;
            // As OpenHands does: a model that said nothing at temperature 0 may say something at 1.
            if failure == Failure::Empty && temperature == Some(0.0) {
                temperature = Some(1.0);
            }
            let wait = retry::wait_before_retry(&self.config, retries, &failure);
            let reason = match key.filter(|k| k.len() >= 4) {
                Some(k) => failure.reason(&self.config).replace(k, "[redacted]"),
                None => failure.reason(&self.config),
            };
            // Front ends show each retry (`on_event`); the log line is for debugging only.
            tracing::debug!(model = %self.config.model, retries, ?wait, %reason, "retrying the LLM request");
            on_event(StreamEvent::Retrying {
                attempt: retries,
                max_attempts: self.config.num_retries,
                wait,
                reason,
            });
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(LlmError::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Whether images are sent to this model: `vision` if set, else decided from the model's name.
    pub fn sees_images(&self) -> bool {
        self.config
            .vision
            .unwrap_or_else(|| features::supports_vision(&self.config.model))
    }

    fn prepare(&self, request: &Request, native: bool) -> Prepared {
        let mut prepared = self.prepare_tools(request, native);
        images::fit(&mut prepared.messages, self.sees_images());
        prepared
    }

    fn prepare_tools(&self, request: &Request, native: bool) -> Prepared {
        if native {
            return Prepared {
                messages: request.messages.clone(),
                tools: request.tools.clone(),
                stop: Vec::new(),
                cache_key: self.cache_key(request),
                cache: !request.tools.is_empty(),
            };
        }
        let stop = if !request.tools.is_empty() && features::supports_stop_words(&self.config.model)
        {
            vec![emulation::STOP_WORD.to_string()]
        } else {
            Vec::new()
        };
        Prepared {
            messages: emulation::to_text_messages(&request.messages, &request.tools),
            tools: Vec::new(),
            stop,
            cache_key: self.cache_key(request),
            cache: !request.tools.is_empty(),
        }
    }

    /// The request's cache key, unless this server refused one earlier in this process.
    fn cache_key(&self, request: &Request) -> Option<String> {
        request
            .cache_key
            .clone()
            .filter(|_| !refused(&CACHE_KEY_REFUSED, &self.config))
    }

    /// The model's context window in tokens: `max_input_tokens` if configured, else the built-in size
    /// of a known model.
    pub fn context_window(&self) -> Option<u64> {
        self.config.context_window()
    }

    fn finish(
        &self,
        draft: transport::Draft,
        request: &Request,
        native: bool,
        latency: Duration,
    ) -> Response {
        // Calls are numbered after those already in the conversation, so ids stay unique in it.
        let first_id = request
            .messages
            .iter()
            .map(|m| m.tool_calls.len())
            .sum::<usize>()
            + 1;
        let (content, mut tool_calls) = if native {
            (draft.text, Vec::new())
        } else {
            emulation::parse_reply(&draft.text, &request.tools, first_id)
        };
        for call in draft.calls {
            let n = first_id + tool_calls.len();
            let arguments = if call.arguments.is_empty() {
                call.fallback_arguments
            } else {
                call.arguments
            };
            tool_calls.push(ToolCall {
                id: if call.id.is_empty() {
                    format!("toolu_{n:02}")
                } else {
                    call.id
                },
                name: call.name,
                // A call without arguments means no arguments, not invalid JSON.
                arguments: if arguments.trim().is_empty() {
                    "{}".into()
                } else {
                    arguments
                },
            });
        }
        let cost = pricing::cost(&self.config, &draft.usage);
        Response {
            id: draft.id,
            content,
            tool_calls,
            usage: draft.usage,
            cost,
            latency,
        }
    }
}

/// Whether the model's server answers, without a billable completion: `GET {base}/models` with the
/// configured key. `Ok(status)` for any HTTP answer; `Err` says why nothing answered.
pub async fn probe(config: &LlmConfig, timeout: Duration) -> Result<u16, String> {
    let headers = transport::headers(config).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let url = format!("{}/models", config.base_url.trim_end_matches('/'));
    let answer = client.get(&url).headers(headers).send().await;
    match answer {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            Err(retry::redact_text(&text, config.api_key.as_deref()))
        }
    }
}

/// Servers and models that refused native `tools`, as `base_url \0 model`: found in this process or read
/// from the file [`remember_refusals_in`] names.
static TOOLS_REFUSED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
/// Where refusals are kept between processes, once a front end named the place.
static REFUSALS_FILE: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);
/// Servers and models that refused `prompt_cache_key` in this process.
static CACHE_KEY_REFUSED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn refused(list: &std::sync::Mutex<Vec<String>>, config: &LlmConfig) -> bool {
    let key = tools_key(config);
    list.lock().map(|l| l.contains(&key)).unwrap_or(false)
}

fn remember(list: &std::sync::Mutex<Vec<String>>, config: &LlmConfig) {
    if let Ok(mut l) = list.lock()
        && !l.contains(&tools_key(config))
    {
        l.push(tools_key(config));
    }
}

/// The base URL without any `user:password@`, and the model.
fn tools_key(config: &LlmConfig) -> String {
    key_of(&config.base_url, &config.model)
}

fn key_of(base_url: &str, model: &str) -> String {
    let url = match base_url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = match rest.split_once('/') {
                Some((authority, path)) => format!(
                    "{}/{path}",
                    authority.rsplit('@').next().unwrap_or(authority)
                ),
                None => rest.rsplit('@').next().unwrap_or(rest).to_owned(),
            };
            format!("{scheme}://{rest}")
        }
        None => base_url.to_owned(),
    };
    format!("{url}\u{0}{model}")
}

/// Keeps the servers that refused `tools` in `path` (one `base_url<TAB>model` per line), and reads those
/// already there, so the next process goes to the emulation at once instead of failing one request first.
/// A file that cannot be read or written only costs that request.
pub fn remember_refusals_in(path: std::path::PathBuf) {
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(mut l) = TOOLS_REFUSED.lock()
    {
        for key in text.lines().filter_map(|line| line.split_once('\t')) {
            let key = format!("{}\u{0}{}", key.0, key.1);
            if !l.contains(&key) {
                l.push(key);
            }
        }
    }
    if let Ok(mut f) = REFUSALS_FILE.lock() {
        *f = Some(path);
    }
}

/// Whether this model's server refused native tool calls earlier in this process (so the language server
/// asks once per model, not once per request).
pub fn tools_refused(config: &LlmConfig) -> bool {
    let key = tools_key(config);
    TOOLS_REFUSED
        .lock()
        .map(|l| l.contains(&key))
        .unwrap_or(false)
}

fn remember_tools_refused(config: &LlmConfig) {
    let Ok(mut l) = TOOLS_REFUSED.lock() else {
        return;
    };
    if l.contains(&tools_key(config)) {
        return;
    }
    l.push(tools_key(config));
    let text: String = l
        .iter()
        .map(|k| format!("{}\n", k.replace('\u{0}', "\t")))
        .collect();
    drop(l);
    let path = REFUSALS_FILE.lock().ok().and_then(|p| p.clone());
    if let Some(path) = path {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            tracing::warn!(
                "cannot keep the servers that refused tools in {}: {e}",
                path.display()
            );
        }
    }
}

/// Whether an HTTP 4xx message says the server does not take `tools` (rather than that one call was bad).
fn refuses_tools(message: &str) -> bool {
    let m = message.to_lowercase();
    let about_tools = m.contains("tool") || m.contains("function call");
    let refused = [
        "not support",
        "unsupported",
        "unrecognized",
        "unknown field",
        "not allowed",
        "not enabled",
        "enable-auto-tool-choice",
        "tool-call-parser",
    ];
    about_tools && refused.iter().any(|r| m.contains(r))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_remembered_refusal_keeps_no_credentials_of_the_url() {
        assert_eq!(
            super::key_of("https://user:pw@llm.example/v1", "m"),
            "https://llm.example/v1\u{0}m"
        );
        assert_eq!(
            super::key_of("http://127.0.0.1:11434", "m"),
            "http://127.0.0.1:11434\u{0}m"
        );
    }

    #[test]
    fn servers_refusing_tools_are_recognised_by_their_message() {
        for (message, refused) in [
            (
                "registry.ollama.ai/library/gemma2:2b does not support tools",
                true,
            ),
            (
                "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set",
                true,
            ),
            ("Unrecognized request argument supplied: tools", true),
            ("tools is not supported for this model", true),
            ("Invalid 'messages[2].tool_call_id': not found", false),
            ("max_tokens is too large", false),
        ] {
            assert_eq!(super::refuses_tools(message), refused, "{message}");
        }
    }
}
