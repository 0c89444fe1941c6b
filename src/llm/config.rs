//! LLM settings: `[llm]` and `[llm.NAME]` TOML sections and `LLM_*` environment variables, resolved into one
//! `LlmConfig`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The model name as the provider knows it (provider prefix such as `openai/` removed).
    pub model: String,
    pub provider: Provider,
    pub api_key: Option<String>,
    pub base_url: String,
    /// `None`: decide from the model name.
    pub native_tool_calling: Option<bool>,
    pub temperature: Option<f64>,
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
    /// Stream responses (SSE).
    pub stream: bool,
}
