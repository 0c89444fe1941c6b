//! `POST /list_files`, `POST /upload_file` and `GET /download_files`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};

pub(crate) async fn list_files(State(_state): State<Arc<AppState>>) -> Response {
    ApiError::internal("not yet").into_response()
}

pub(crate) async fn upload_file(State(_state): State<Arc<AppState>>) -> Response {
    ApiError::internal("not yet").into_response()
}

pub(crate) async fn download_files(State(_state): State<Arc<AppState>>) -> Response {
    ApiError::internal("not yet").into_response()
}
