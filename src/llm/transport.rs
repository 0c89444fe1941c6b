//! One HTTP attempt against the provider: headers, status classification, and reading the answer whole
//! or as a stream into a `Draft`, under the configured timeout.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use tokio::time::{Instant, timeout, timeout_at};

use super::retry::{Failure, classify_status, parse_retry_after};
use super::sse::SseParser;
use super::{LlmConfig, LlmError, Provider, Usage, anthropic, openai};

/// A response as it is being read, before it becomes a `Response`.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub id: String,
    pub text: String,
    pub calls: Vec<DraftCall>,
    pub usage: Usage,
    /// A choice carried a finish/stop reason.
    pub finished: bool,
    /// The end marker arrived (`[DONE]`, `message_stop`), or the response was read whole.
    pub complete: bool,
}

#[derive(Debug, Default)]
pub(crate) struct DraftCall {
    /// The stream's index for this call, to route deltas.
    pub index: Option<u64>,
    pub id: String,
    pub name: String,
    pub arguments: String,
    /// Anthropic's `input` from the block start, used when no `input_json_delta` follows.
    pub fallback_arguments: String,
}

impl Draft {
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.calls.is_empty()
    }
}

pub(crate) fn endpoint(config: &LlmConfig) -> String {
    match config.provider {
        Provider::OpenAi => format!("{}/chat/completions", config.base_url),
        Provider::Anthropic => format!("{}/messages", config.base_url),
    }
}

/// Marked sensitive so that no Debug output of the request shows the key.
pub(crate) fn headers(config: &LlmConfig) -> Result<HeaderMap, LlmError> {
    let mut headers = HeaderMap::new();
    let secret = |value: String| {
        let mut v = HeaderValue::from_str(&value).map_err(|_| {
            LlmError::Config("the API key contains characters not allowed in an HTTP header".into())
        })?;
        v.set_sensitive(true);
        Ok::<_, LlmError>(v)
    };
    match (config.provider, &config.api_key) {
        (Provider::OpenAi, Some(key)) => {
            headers.insert("authorization", secret(format!("Bearer {key}"))?);
        }
        (Provider::Anthropic, key) => {
            if let Some(key) = key {
                headers.insert("x-api-key", secret(key.clone())?);
            }
            headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        }
        (Provider::OpenAi, None) => {}
    }
    Ok(headers)
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn from_reqwest(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::Timeout
    } else if e.is_connect() || e.is_request() {
        Failure::Connection(describe(e))
    } else {
        Failure::Broken(format!("the response could not be read: {}", describe(e)))
    }
}

/// Sends `body` once. `timeout` bounds the whole exchange for a whole response, and each wait for
/// the next chunk of a stream (so a long answer that keeps streaming is not cut off).
pub(crate) async fn attempt(
    client: &reqwest::Client,
    config: &LlmConfig,
    headers: &HeaderMap,
    body: &Value,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Draft, Failure> {
    let deadline = Instant::now() + config.timeout;
    let request = client
        .post(endpoint(config))
        .headers(headers.clone())
        .json(body);
    let response = match timeout(config.timeout, request.send()).await {
        Err(_) => return Err(Failure::Timeout),
        Ok(Err(e)) => return Err(from_reqwest(&e)),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if !status.is_success() {
        let retry_after = parse_retry_after(
            response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        let text = timeout_at(deadline, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        return Err(classify_status(status.as_u16(), &text, retry_after));
    }
    let is_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_stream {
        // Servers that ignore `stream: true` answer whole; take that too.
        let bytes = match timeout_at(deadline, response.bytes()).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(Err(e)) => return Err(from_reqwest(&e)),
            Ok(Ok(bytes)) => bytes,
        };
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Broken(format!("the response is not the expected JSON: {e}")))?;
        let draft = match config.provider {
            Provider::OpenAi => openai::parse_response(&v)?,
            Provider::Anthropic => anthropic::parse_response(&v)?,
        };
        if !draft.text.is_empty() {
            on_text(&draft.text);
        }
        return Ok(draft);
    }
    read_stream(config, response, on_text).await
}

async fn read_stream(
    config: &LlmConfig,
    response: reqwest::Response,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<Draft, Failure> {
    let mut stream = response.bytes_stream();
    let mut parser = SseParser::default();
    let mut draft = Draft::default();
    while !draft.complete {
        let events = match timeout(config.timeout, stream.next()).await {
            Err(_) => return Err(Failure::Timeout),
            Ok(None) => {
                let tail: Vec<_> = parser.finish().into_iter().collect();
                apply(config.provider, &mut draft, tail, on_text)?;
                break;
            }
            Ok(Some(Err(e))) => {
                return Err(Failure::Broken(format!(
                    "the stream broke off: {}",
                    describe(&e)
                )));
            }
            Ok(Some(Ok(bytes))) => parser.feed(&bytes),
        };
        apply(config.provider, &mut draft, events, on_text)?;
    }
    if !(draft.complete || draft.finished) {
        return Err(Failure::Broken(
            "the stream ended before the response was complete".into(),
        ));
    }
    Ok(draft)
}

fn apply(
    provider: Provider,
    draft: &mut Draft,
    events: Vec<super::sse::SseEvent>,
    on_text: &mut (dyn FnMut(&str) + Send),
) -> Result<(), Failure> {
    for event in events {
        if event.data.trim().is_empty() {
            continue;
        }
        let text = match provider {
            Provider::OpenAi => openai::apply_chunk(draft, &event.data)?,
            Provider::Anthropic => anthropic::apply_event(draft, &event.data)?,
        };
        if !text.is_empty() {
            on_text(&text);
        }
    }
    Ok(())
}

/// Connection setup gets its own, shorter bound so a dead host fails fast even with a long timeout.
pub(crate) fn connect_timeout(config: &LlmConfig) -> Duration {
    config.timeout.min(Duration::from_secs(30))
}
