//! Which failures are worth another attempt, how long to wait, and the error the caller finally sees.

use std::time::Duration;

use super::{LlmConfig, LlmError};

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// Not worth retrying.
    Fatal(LlmError),
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    Server {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    Timeout,
    Connection(String),
    /// No choices, no content blocks, no text and no tool calls.
    Empty,
    /// A stream that ended early or could not be read.
    Broken(String),
}

impl Failure {
    /// For the `Retrying` notice.
    pub fn reason(&self, config: &LlmConfig) -> String {
        match self {
            Failure::Fatal(e) => e.to_string(),
            Failure::RateLimited { message, .. } => format!("rate limited (HTTP 429): {message}"),
            Failure::Server {
                status, message, ..
            } => format!("server error (HTTP {status}): {message}"),
            Failure::Timeout => format!("no answer within {:?}", config.timeout),
            Failure::Connection(message) => format!("connection failed: {message}"),
            Failure::Empty => "the response was empty".into(),
            Failure::Broken(message) => message.clone(),
        }
    }

    /// Whether waiting can fix it. A host name that does not resolve, a refused certificate or a malformed
    /// URL stays broken, so retrying would only keep the user waiting in silence for minutes.
    pub fn heals(&self) -> bool {
        match self {
            Failure::Fatal(_) => false,
            Failure::Connection(message) => {
                let m = message.to_lowercase();
                ![
                    "dns error",
                    "failed to lookup address",
                    "name or service not known",
                    "no address associated",
                    "certificate",
                    "builder error",
                    "relative url",
                    "invalid url",
                    "unsupported url scheme",
                ]
                .iter()
                .any(|s| m.contains(s))
            }
            _ => true,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::RateLimited { retry_after, .. } | Failure::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The error after `attempts` tries.
    pub fn into_error(self, config: &LlmConfig, attempts: u32) -> LlmError {
        match self {
            Failure::Fatal(e) => e,
            Failure::RateLimited { message, .. } => LlmError::RateLimited { attempts, message },
            Failure::Server {
                status, message, ..
            } => LlmError::Server {
                status,
                attempts,
                message,
            },
            Failure::Timeout => LlmError::Timeout(config.timeout),
            Failure::Connection(message) => LlmError::Connection {
                url: config.base_url.clone(),
                message,
            },
            Failure::Empty => LlmError::BadResponse(format!(
                "the response was empty (no choices or content) {attempts} times"
            )),
            Failure::Broken(message) => {
                LlmError::BadResponse(format!("{message} ({attempts} attempts)"))
            }
        }
    }
}

/// The wait before retry `n` (1-based): `retry_min_wait × multiplier^(n-1)`, at most `retry_max_wait`
/// (8, 16, 32, 64, 64 s by default). A `retry-after` from the server replaces it, capped the same way.
pub(crate) fn wait_before_retry(config: &LlmConfig, n: u32, failure: &Failure) -> Duration {
    if let Some(after) = failure.retry_after() {
        return after.min(config.retry_max_wait);
    }
    let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
    let secs = config.retry_min_wait.as_secs_f64() * config.retry_multiplier.powi(exponent);
    Duration::try_from_secs_f64(secs)
        .unwrap_or(config.retry_max_wait)
        .min(config.retry_max_wait)
}

/// `retry-after: <seconds>` (the HTTP-date form is rare from LLM APIs and ignored).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

/// OpenHands' substrings (§3.6) plus the raw provider phrasings litellm would have mapped for it.
const CONTEXT_WINDOW: &[&str] = &[
    "contextwindowexceedederror",
    "prompt is too long",
    "input length and `max_tokens` exceed context limit",
    "please reduce the length of",
    "the request exceeds the available context size",
    "context length exceeded",
    "context_length_exceeded",
    "maximum context length",
    "greater than the context length",
];

pub(crate) fn is_context_window_error(body: &str) -> bool {
    let lower = body.to_lowercase();
    CONTEXT_WINDOW.iter().any(|s| lower.contains(s))
        || (lower.contains("sambanovaexception") && lower.contains("maximum context length"))
}

/// The human part of an error body: `error.message`, a string `error`, or the body itself, shortened.
pub(crate) fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error").unwrap_or(v);
        error
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| error.as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    if text.is_empty() {
        return "(no message)".into();
    }
    let mut short: String = text.chars().take(500).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Classifies a non-success HTTP status.
pub(crate) fn classify_status(status: u16, body: &str, retry_after: Option<Duration>) -> Failure {
    let message = error_message(body);
    match status {
        401 | 403 => Failure::Fatal(LlmError::Auth { status, message }),
        _ if is_context_window_error(body) => {
            Failure::Fatal(LlmError::ContextWindowExceeded(message))
        }
        429 => Failure::RateLimited {
            message,
            retry_after,
        },
        408 | 500..=599 => Failure::Server {
            status,
            message,
            retry_after,
        },
        _ => Failure::Fatal(LlmError::BadRequest { status, message }),
    }
}

/// An error reported inside a 200 response (an SSE `error` event, an `error` object).
pub(crate) fn classify_inline_error(error: &serde_json::Value) -> Failure {
    let body = error.to_string();
    let message = error_message(&body);
    let kind = error
        .get("error")
        .unwrap_or(error)
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    if is_context_window_error(&body) {
        Failure::Fatal(LlmError::ContextWindowExceeded(message))
    } else if kind.contains("authentication") || kind.contains("permission") {
        Failure::Fatal(LlmError::Auth {
            status: 200,
            message,
        })
    } else if kind.contains("rate_limit") {
        Failure::RateLimited {
            message,
            retry_after: None,
        }
    } else {
        Failure::Server {
            status: 529,
            message,
            retry_after: None,
        }
    }
}

/// Keeps the API key out of any text that reaches the user (some servers echo it back).
pub(crate) fn redact(error: LlmError, key: Option<&str>) -> LlmError {
    let Some(key) = key.filter(|k| k.len() >= 4) else {
        return error;
    };
    let clean = |s: String| s.replace(key, "[redacted]");
    match error {
        LlmError::Config(m) => LlmError::Config(clean(m)),
        LlmError::Auth { status, message } => LlmError::Auth {
            status,
            message: clean(message),
        },
        LlmError::RateLimited { attempts, message } => LlmError::RateLimited {
            attempts,
            message: clean(message),
        },
        LlmError::Server {
            status,
            attempts,
            message,
        } => LlmError::Server {
            status,
            attempts,
            message: clean(message),
        },
        LlmError::BadRequest { status, message } => LlmError::BadRequest {
            status,
            message: clean(message),
        },
        LlmError::ContextWindowExceeded(m) => LlmError::ContextWindowExceeded(clean(m)),
        LlmError::Connection { url, message } => LlmError::Connection {
            url: clean(url),
            message: clean(message),
        },
        LlmError::BadResponse(m) => LlmError::BadResponse(clean(m)),
        e @ (LlmError::Timeout(_) | LlmError::Cancelled) => e,
    }
}

/// `text` with the key replaced, as [`redact`] does for errors.
pub(crate) fn redact_text(text: &str, key: Option<&str>) -> String {
    match key.filter(|k| k.len() >= 4) {
        Some(k) => text.replace(k, "[redacted]"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_window_errors_of_both_providers_are_recognised_and_not_retried() {
        let openai = r#"{"error": {"message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}"#;
        let anthropic = r#"{"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 208934 tokens > 200000 maximum"}}"#;
        for body in [openai, anthropic] {
            let failure = classify_status(400, body, None);
            assert!(
                matches!(&failure, Failure::Fatal(LlmError::ContextWindowExceeded(m)) if !m.is_empty()),
                "{failure:?}"
            );
            assert!(!failure.heals());
        }
        // Inside a 200 stream (Anthropic's `error` event) too.
        let inline: serde_json::Value = serde_json::from_str(anthropic).unwrap();
        assert!(matches!(
            classify_inline_error(&inline),
            Failure::Fatal(LlmError::ContextWindowExceeded(_))
        ));
        // Another 400 stays a refused request.
        assert!(matches!(
            classify_status(
                400,
                r#"{"error": {"message": "max_tokens is too large"}}"#,
                None
            ),
            Failure::Fatal(LlmError::BadRequest { .. })
        ));
    }
}
