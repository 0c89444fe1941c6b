//! What a call cost: usage × per-token prices, from the user's override or a small built-in table of
//! list prices (USD per million tokens) for common hosted OpenAI and Anthropic models.

use super::config::is_local;
use super::features::normalize;
use super::{LlmConfig, Usage};

/// Per million tokens: input, cached input read, cache write, output.
struct Price {
    input: f64,
    cache_read: f64,
    cache_write: f64,
    output: f64,
}

const fn p(input: f64, cache_read: f64, cache_write: f64, output: f64) -> Price {
    Price {
        input,
        cache_read,
        cache_write,
        output,
    }
}

/// Longest prefix first where names nest (`gpt-4o-mini` before `gpt-4o`). OpenAI bills no cache writes.
const TABLE: &[(&str, Price)] = &[
    ("gpt-4o-mini", p(0.15, 0.075, 0.15, 0.6)),
    ("gpt-4o", p(2.5, 1.25, 2.5, 10.0)),
    ("gpt-4.1-nano", p(0.1, 0.025, 0.1, 0.4)),
    ("gpt-4.1-mini", p(0.4, 0.1, 0.4, 1.6)),
    ("gpt-4.1", p(2.0, 0.5, 2.0, 8.0)),
    ("gpt-5-nano", p(0.05, 0.005, 0.05, 0.4)),
    ("gpt-5-mini", p(0.25, 0.025, 0.25, 2.0)),
    ("gpt-5", p(1.25, 0.125, 1.25, 10.0)),
    ("o4-mini", p(1.1, 0.275, 1.1, 4.4)),
    ("o3-pro", p(20.0, 20.0, 20.0, 80.0)),
    ("o3-mini", p(1.1, 0.55, 1.1, 4.4)),
    ("o3", p(2.0, 0.5, 2.0, 8.0)),
    ("claude-opus-4-5", p(5.0, 0.5, 6.25, 25.0)),
    ("claude-opus-4", p(15.0, 1.5, 18.75, 75.0)),
    ("claude-sonnet-4", p(3.0, 0.3, 3.75, 15.0)),
    ("claude-3-7-sonnet", p(3.0, 0.3, 3.75, 15.0)),
    ("claude-3-5-sonnet", p(3.0, 0.3, 3.75, 15.0)),
    ("claude-haiku-4-5", p(1.0, 0.1, 1.25, 5.0)),
    ("claude-3-5-haiku", p(0.8, 0.08, 1.0, 4.0)),
];

/// USD for one call. A user override prices fresh input at `input_cost_per_token` and cached input at
/// `cache_read_cost_per_token`/`cache_write_cost_per_token` (default: the input price); the table knows
/// each model's cache prices; local servers and unknown models cost 0.
pub(crate) fn cost(config: &LlmConfig, usage: &Usage) -> f64 {
    let prompt = usage.prompt_tokens as f64;
    let completion = usage.completion_tokens as f64;
    let read = usage.cache_read_tokens as f64;
    let write = usage.cache_write_tokens as f64;
    let fresh = (prompt - read - write).max(0.0);
    if config.input_cost_per_token.is_some() || config.output_cost_per_token.is_some() {
        let input = config.input_cost_per_token.unwrap_or(0.0);
        return fresh * input
            + read * config.cache_read_cost_per_token.unwrap_or(input)
            + write * config.cache_write_cost_per_token.unwrap_or(input)
            + completion * config.output_cost_per_token.unwrap_or(0.0);
    }
    if is_local(&config.base_url) {
        return 0.0;
    }
    let name = normalize(&config.model);
    let Some((_, price)) = TABLE.iter().find(|(prefix, _)| name.starts_with(prefix)) else {
        return 0.0;
    };
    (fresh * price.input
        + read * price.cache_read
        + write * price.cache_write
        + completion * price.output)
        / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Provider;
    use std::time::Duration;

    fn config(model: &str, base_url: &str) -> LlmConfig {
        LlmConfig {
            model: model.into(),
            provider: Provider::OpenAi,
            api_key: None,
            base_url: base_url.into(),
            native_tool_calling: None,
            temperature: None,
            reasoning_effort: None,
            max_output_tokens: None,
            timeout: Duration::from_secs(1),
            num_retries: 0,
            retry_min_wait: Duration::ZERO,
            retry_max_wait: Duration::ZERO,
            retry_multiplier: 2.0,
            input_cost_per_token: None,
            output_cost_per_token: None,
            cache_read_cost_per_token: None,
            cache_write_cost_per_token: None,
            max_input_tokens: None,
            stream: false,
            vision: None,
        }
    }

    #[test]
    fn table_override_and_local() {
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 100_000,
            cache_read_tokens: 500_000,
            cache_write_tokens: 0,
        };
        let hosted = "https://api.openai.com/v1";
        assert!(
            (cost(&config("gpt-4o-mini-2024-07-18", hosted), &usage) - (0.075 + 0.0375 + 0.06))
                .abs()
                < 1e-9
        );
        assert!(
            (cost(&config("claude-sonnet-4-20250514", hosted), &usage) - (1.5 + 0.15 + 1.5)).abs()
                < 1e-9
        );
        assert_eq!(
            cost(&config("gpt-4o", "http://localhost:11434/v1"), &usage),
            0.0
        );
        assert_eq!(cost(&config("my-finetune", hosted), &usage), 0.0);
        let mut custom = config("my-finetune", "http://localhost:8000/v1");
        custom.input_cost_per_token = Some(1e-6);
        custom.output_cost_per_token = Some(2e-6);
        assert!((cost(&custom, &usage) - 1.2).abs() < 1e-9);
        // Cached input at its own price: 500k fresh at $1/M, 500k read at $0.1/M, 100k out at $2/M.
        custom.cache_read_cost_per_token = Some(1e-7);
        assert!((cost(&custom, &usage) - (0.5 + 0.05 + 0.2)).abs() < 1e-9);
    }
}
