//! `POST /execute_action`: decode the action, run it, answer with its observation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use openhands_runtime_api::{ActionDecodeError, ActionEvent};
use serde_json::Value;

use super::{ApiError, AppState};
use crate::executor::ExecError;

/// FastAPI's shape for a body that does not validate: 422 with `detail` and an `errors` string.
fn invalid_request(errors: impl Into<String>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        axum::Json(serde_json::json!({
            "detail": "Invalid request parameters",
            "errors": errors.into(),
        })),
    )
        .into_response()
}

/// Why a body is not an action we can run, and which status says so.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// 422, FastAPI's answer for a body that does not validate.
    #[error("{0}")]
    Unprocessable(String),
    /// 400: an action we understand but cannot run with these arguments.
    #[error("{0}")]
    BadRequest(String),
}

/// The body of `POST /execute_action` as the action it carries, with its arguments checked.
pub fn decode_action(body: &[u8]) -> Result<ActionEvent, DecodeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError::Unprocessable(format!("the body is not valid JSON: {e}")))?;
    let Some(action) = value.get("action") else {
        return Err(DecodeError::Unprocessable(
            "the body must be a JSON object with an `action` key holding the serialized action"
                .into(),
        ));
    };
    let event = ActionEvent::from_value(action).map_err(|e| match e {
        ActionDecodeError::NotAnAction(m) => DecodeError::Unprocessable(m),
        e => DecodeError::BadRequest(e.to_string()),
    })?;
    check_timeout(event.timeout).map_err(DecodeError::BadRequest)?;
    Ok(event)
}

/// A `timeout` must be a number of seconds from 0 to a year: larger ones cannot be a deadline
/// (`1e308` used to panic the action's task), and negative ones mean nothing.
fn check_timeout(timeout: Option<f64>) -> Result<(), String> {
    match timeout {
        Some(t) if !(0.0..=crate::MAX_TIMEOUT_SECS).contains(&t) => {
            let shown = if t.abs() < 1e15 {
                t.to_string()
            } else {
                format!("{t:e}")
            };
            Err(format!(
                "`timeout` must be a number of seconds between 0 and {} (a year), got {shown}",
                crate::MAX_TIMEOUT_SECS
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) async fn execute_action(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = super::guard::require_json(&headers, &body, false) {
        return refusal.into_response();
    }
    let event = match decode_action(&body) {
        Ok(event) => event,
        Err(DecodeError::Unprocessable(m)) => return invalid_request(m),
        Err(DecodeError::BadRequest(m)) => return ApiError::bad_request(m).into_response(),
    };
    // Run in its own task: a client that disconnects must not abort an action halfway (the shell's
    // state machine would lose track of a running command).
    let task_state = state.clone();
    let outcome = tokio::spawn(async move { task_state.executor.run(event).await }).await;
    let outcome = match outcome {
        Ok(result) => result,
        Err(e) => Err(ExecError::Internal(anyhow::anyhow!(
            "the action task failed: {e}"
        ))),
    };
    match outcome {
        Ok(obs) => axum::Json(obs.to_value()).into_response(),
        Err(ExecError::NotRunnable(kind)) => ApiError::bad_request(format!(
            "action '{kind}' is not executed by the runtime (the agent handles it); the runtime runs: {}",
            openhands_runtime_api::RUNTIME_ACTION_TYPES.join(", ")
        ))
        .into_response(),
        Err(ExecError::Internal(e)) => {
            tracing::error!(error = %format!("{e:#}"), "action failed");
            ApiError::internal(format!("Internal server error: {e:#}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn with_timeout(timeout: &str) -> Result<(), DecodeError> {
        let body = format!(
            r#"{{"action": {{"action": "run", "args": {{"command": "true"}}, "timeout": {timeout}}}}}"#
        );
        decode_action(body.as_bytes()).map(drop)
    }

    #[test]
    fn absurd_timeouts_are_refused_not_panics() {
        for ok in ["null", "0", "0.5", "120", "31536000"] {
            assert_eq!(with_timeout(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            with_timeout("1e308"),
            Err(DecodeError::BadRequest(
                "`timeout` must be a number of seconds between 0 and 31536000 (a year), got 1e308"
                    .into()
            ))
        );
        for bad in ["-1", "31536001", "1e20"] {
            assert!(
                matches!(with_timeout(bad), Err(DecodeError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
