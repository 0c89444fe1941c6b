//! LLM providers over HTTP: OpenAI-compatible chat completions and Anthropic Messages, streaming,
//! native or emulated tool calls, retries, and token/cost accounting. The only module that speaks
//! provider HTTP.

pub mod config;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub use config::{LlmConfig, Provider};

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
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
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
    /// A retry is scheduled after a transient failure.
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

/// A configured client for one model.
#[derive(Debug, Clone)]
pub struct Llm {
    config: LlmConfig,
}

impl Llm {
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        Ok(Self { config })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// Whether tool calls go natively or through the text emulation.
    pub fn uses_native_tools(&self) -> bool {
        self.config.native_tool_calling.unwrap_or(true)
    }

    /// Runs one completion with retries; `on_event` sees streamed text and retry notices.
    pub async fn complete(
        &self,
        request: &Request,
        cancel: &CancellationToken,
        on_event: &(dyn Fn(StreamEvent) + Send + Sync),
    ) -> Result<Response, LlmError> {
        let _ = (request, cancel, on_event);
        Err(LlmError::Config("not implemented yet".into()))
    }
}
