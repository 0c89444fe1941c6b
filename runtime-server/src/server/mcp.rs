//! `POST /update_mcp_server` (OpenHands' shapes): the stdio MCP servers to run in the sandbox; their
//! tools are then served at `/mcp` (see `crate::mcp`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use openhands_runtime_api::mcp::{McpStdioServerConfig, McpUpdateResponse, NOT_A_LIST, UPDATED};
use serde_json::Value;

use super::{ApiError, AppState};

pub(crate) async fn update_mcp_server(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<axum::Json<McpUpdateResponse>, ApiError> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return Err(ApiError::bad_request(NOT_A_LIST));
    };
    let mut configs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        // OpenHands answers a config that fails validation with a bare 500; we say what is wrong.
        let config: McpStdioServerConfig = serde_json::from_value(item).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("MCP server config {i}: {e}"),
            )
        })?;
        config
            .validate()
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e))?;
        if configs
            .iter()
            .any(|c: &McpStdioServerConfig| c.name == config.name)
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("MCP server name {} is given twice", config.name),
            ));
        }
        configs.push(config);
    }
    let router_error_log = state.mcp.update(configs).await;
    Ok(axum::Json(McpUpdateResponse {
        detail: UPDATED.to_owned(),
        router_error_log,
    }))
}
