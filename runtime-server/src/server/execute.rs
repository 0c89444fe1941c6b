//! `POST /execute_action`: decode the action, run it, answer with its observation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
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

pub(crate) async fn execute_action(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid_request(format!("the body is not valid JSON: {e}")),
    };
    let Some(action) = value.get("action") else {
        return invalid_request(
            "the body must be a JSON object with an `action` key holding the serialized action",
        );
    };
    let event = match ActionEvent::from_value(action) {
        Ok(ev) => ev,
        Err(ActionDecodeError::NotAnAction(m)) => return invalid_request(m),
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
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
