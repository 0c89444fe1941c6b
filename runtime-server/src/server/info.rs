//! `GET /alive`, `GET /server_info` and `GET /vscode/connection_token`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;

pub(crate) async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) async fn server_info(State(state): State<Arc<AppState>>) -> Json<Value> {
    let mut info = state.stats.snapshot(state.executor.idle_time());
    if let Some(jupyter) = state.executor.jupyter_status() {
        info["jupyter"] = jupyter;
    }
    info["browser"] = state.executor.browser_status();
    Json(info)
}

/// The VS Code plugin is not part of this server; OpenHands answers `null` when it is not loaded.
pub(crate) async fn vscode_token() -> Json<Value> {
    Json(json!({ "token": null }))
}
