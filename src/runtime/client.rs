//! The HTTP client of the `openhands-runtime` protocol: per-call timeouts, `{"detail"}` errors, and a
//! retry only when the request provably never reached the server (an action is never POSTed twice).

use std::error::Error as _;
use std::time::Duration;

use openhands_runtime_api::{API_KEY_HEADER, Action, ActionEvent, CmdRunAction, Observation};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::RuntimeError;

/// `GET /alive`, as OpenHands' client does.
pub const ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Added to an action's own timeout so the server can answer a timed-out command before we give up.
const ACTION_TIMEOUT_MARGIN_SECS: f64 = 5.0;
/// HTTP timeout of an action without a `timeout` (OpenHands' 120 s sandbox default plus a margin).
const DEFAULT_ACTION_HTTP_TIMEOUT_SECS: f64 = 130.0;
/// Longer timeouts are clamped: `Duration` cannot hold arbitrary floats.
const MAX_HTTP_TIMEOUT_SECS: f64 = 7.0 * 24.0 * 3600.0;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_RETRY_DELAY: Duration = Duration::from_millis(20);
/// Non-JSON error bodies are cut to this many characters in messages.
const MAX_DETAIL_CHARS: usize = 500;

/// A client of one `openhands-runtime` server; cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct RuntimeClient {
    base_url: String,
    api_key: Option<String>,
    http: reqwest::Client,
}

impl RuntimeClient {
    /// A client of `base_url` (e.g. `http://127.0.0.1:3000`); loopback servers bypass HTTP proxies.
    pub fn new(base_url: &str, api_key: Option<String>) -> Result<Self, RuntimeError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|e| RuntimeError::Start(format!("'{base_url}' is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RuntimeError::Start(format!(
                "'{base_url}' is not an http:// or https:// URL"
            )));
        }
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        if is_loopback(&url) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| RuntimeError::Start(format!("cannot create an HTTP client: {e}")))?;
        Ok(Self {
            base_url,
            api_key,
            http,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `X-Session-API-Key` this client sends.
    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// `GET /alive` within [`ALIVE_TIMEOUT`].
    pub async fn alive(&self) -> Result<(), RuntimeError> {
        self.alive_within(ALIVE_TIMEOUT, true).await
    }

    /// `GET /alive` within `timeout`; `retry_connect`: try once more if the connection was refused.
    pub async fn alive_within(
        &self,
        timeout: Duration,
        retry_connect: bool,
    ) -> Result<(), RuntimeError> {
        let url = self.url("/alive");
        self.send(|| self.http.get(&url), timeout, retry_connect)
            .await
            .map(drop)
    }

    /// Checks that the server accepts our API key (a route that needs it and does nothing).
    pub async fn check_api_key(&self) -> Result<(), RuntimeError> {
        let url = self.url("/vscode/connection_token");
        match self.send(|| self.http.get(&url), ALIVE_TIMEOUT, true).await {
            // Only the key check matters: a server without this route still checked the key first.
            Err(RuntimeError::Http { status, .. }) if status != 401 && status != 403 => Ok(()),
            other => other.map(drop),
        }
    }

    /// `POST /execute_action` with an HTTP timeout of the action's timeout + 5 s (130 s without one).
    pub async fn execute(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        let url = self.url("/execute_action");
        let body = serde_json::json!({ "action": action.to_value() });
        let timeout = http_timeout(action.timeout);
        let response = self
            .send(|| self.http.post(&url).json(&body), timeout, true)
            .await?;
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(e, timeout))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| RuntimeError::BadResponse(format!("not JSON ({e}): {}", cut(&text))))?;
        Observation::from_value(&value).map_err(RuntimeError::BadResponse)
    }

    /// `POST /update_mcp_server`: the stdio MCP servers the runtime runs in the sandbox and serves at
    /// `/mcp` (OpenHands' 60 s timeout; starting servers may download packages).
    pub async fn update_mcp_servers(
        &self,
        servers: &[openhands_runtime_api::mcp::McpStdioServerConfig],
    ) -> Result<openhands_runtime_api::mcp::McpUpdateResponse, RuntimeError> {
        let url = self.url(openhands_runtime_api::mcp::UPDATE_MCP_SERVER_PATH);
        let timeout = Duration::from_secs(60);
        let response = self
            .send(|| self.http.post(&url).json(servers), timeout, true)
            .await?;
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(e, timeout))?;
        serde_json::from_str(&text).map_err(|e| {
            RuntimeError::BadResponse(format!("not an MCP update answer ({e}): {}", cut(&text)))
        })
    }

    /// Sends `C-c` to the shell (typed into the running command, as OpenHands does).
    pub async fn interrupt(&self) -> Result<Observation, RuntimeError> {
        let mut run = CmdRunAction::new("C-c");
        run.is_input = true;
        self.execute(&ActionEvent::new(Action::Run(run)).with_timeout(5.0))
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request, retrying once only on a connect error (the server never saw it).
    async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
        timeout: Duration,
        retry_connect: bool,
    ) -> Result<Response, RuntimeError> {
        let mut retried = !retry_connect;
        loop {
            let mut request = build().timeout(timeout);
            if let Some(key) = &self.api_key {
                request = request.header(API_KEY_HEADER, key);
            }
            match request.send().await {
                Ok(response) => return self.check_status(response, timeout).await,
                Err(e) if e.is_connect() && !retried => {
                    retried = true;
                    tokio::time::sleep(CONNECT_RETRY_DELAY).await;
                }
                Err(e) => return Err(self.transport_error(e, timeout)),
            }
        }
    }

    /// Turns a 4xx/5xx answer into [`RuntimeError::Http`] with the body's `detail`.
    async fn check_status(
        &self,
        response: Response,
        timeout: Duration,
    ) -> Result<Response, RuntimeError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response
            .text()
            .await
            .map_err(|e| self.transport_error(e, timeout))?;
        Err(RuntimeError::Http {
            status: status.as_u16(),
            detail: error_detail(status, &text),
        })
    }

    fn transport_error(&self, e: reqwest::Error, timeout: Duration) -> RuntimeError {
        if e.is_timeout() && !e.is_connect() {
            return RuntimeError::Timeout(timeout.as_secs_f64());
        }
        RuntimeError::Unreachable {
            url: self.base_url.clone(),
            message: error_chain(&e.without_url()),
        }
    }
}

/// The HTTP timeout of an action: its own timeout plus the margin, clamped to what `Duration` holds.
pub fn http_timeout(action_timeout: Option<f64>) -> Duration {
    let secs = match action_timeout {
        Some(t) if t.is_finite() => t.max(0.0) + ACTION_TIMEOUT_MARGIN_SECS,
        _ => DEFAULT_ACTION_HTTP_TIMEOUT_SECS,
    };
    Duration::from_secs_f64(secs.min(MAX_HTTP_TIMEOUT_SECS))
}

/// `detail` of a JSON error body, else the body itself (cut), else the status' reason.
fn error_detail(status: StatusCode, body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) if map.contains_key("detail") => match &map["detail"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        _ if body.trim().is_empty() => status.canonical_reason().unwrap_or("no details").to_owned(),
        _ => cut(body.trim()),
    }
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

/// `error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)`.
fn error_chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_timeouts_add_the_margin_and_survive_odd_values() {
        assert_eq!(http_timeout(Some(10.0)), Duration::from_secs(15));
        assert_eq!(http_timeout(None), Duration::from_secs(130));
        assert_eq!(http_timeout(Some(f64::NAN)), Duration::from_secs(130));
        assert_eq!(http_timeout(Some(-3.0)), Duration::from_secs(5));
        assert_eq!(
            http_timeout(Some(1e300)),
            Duration::from_secs_f64(MAX_HTTP_TIMEOUT_SECS)
        );
    }

    #[test]
    fn error_details_come_from_json_or_the_body() {
        let s = StatusCode::BAD_REQUEST;
        assert_eq!(
            error_detail(s, r#"{"detail":"Invalid API Key"}"#),
            "Invalid API Key"
        );
        assert_eq!(error_detail(s, r#"{"detail":[1]}"#), "[1]");
        assert_eq!(error_detail(s, "  plain text \n"), "plain text");
        assert_eq!(error_detail(s, ""), "Bad Request");
        assert_eq!(error_detail(s, &"é".repeat(600)).chars().count(), 503);
    }

    #[test]
    fn bad_urls_are_errors_not_panics() {
        assert!(RuntimeClient::new("not a url", None).is_err());
        assert!(RuntimeClient::new("ftp://host/", None).is_err());
        let c = RuntimeClient::new("http://127.0.0.1:9/", None).unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9");
    }
}
