//! The HTTP layer: routes, the API-key check and JSON error bodies; no action semantics live here.

pub(crate) mod archive;
pub(crate) mod execute;
pub(crate) mod guard;
mod info;
mod mcp;
mod transfer;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openhands_runtime_api::API_KEY_HEADER;

use crate::ServerConfig;
use crate::executor::Executor;

/// Uploads and file writes may be large; the default 2 MiB would refuse ordinary files.
const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// What every handler shares.
pub(crate) struct AppState {
    pub config: ServerConfig,
    /// The port we listen on (`config.port` may be 0).
    pub port: u16,
    pub executor: Executor,
    /// The stdio MCP servers and the proxy that serves their tools.
    pub mcp: Arc<crate::mcp::McpProxy>,
    pub stats: crate::system_stats::Stats,
}

/// An HTTP error with OpenHands' `{"detail": ...}` body.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "detail": self.detail })),
        )
            .into_response()
    }
}

/// Builds the router; exposed to the crate so tests of the HTTP layer can drive it in-process.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/alive", get(info::alive))
        .route("/server_info", get(info::server_info))
        .route("/execute_action", post(execute::execute_action))
        .route("/list_files", post(transfer::list_files))
        .route("/upload_file", post(transfer::upload_file))
        .route("/download_files", get(transfer::download_files))
        .route("/vscode/connection_token", get(info::vscode_token))
        .route(
            openhands_runtime_api::mcp::UPDATE_MCP_SERVER_PATH,
            post(mcp::update_mcp_server),
        )
        .nest_service(
            openhands_runtime_api::mcp::MCP_PATH,
            crate::mcp::service(state.mcp.clone()),
        )
        .fallback(|| async { ApiError::not_found("Not Found") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::refuse_foreign_pages,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Every route but `/alive` and `/server_info` needs the session key when one is set (unknown routes too).
async fn require_api_key(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.config.api_key {
        let path = req.uri().path();
        let open = path == "/alive" || path == "/server_info";
        let given = req
            .headers()
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok());
        if !open && !given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.as_bytes())) {
            return ApiError::new(StatusCode::FORBIDDEN, "Invalid API Key").into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long requests still running may take to answer once the session's processes are killed.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Binds, prints the listening address on stderr, and serves until SIGINT, SIGTERM or the parent's death.
///
/// Stopping kills the session's processes first (a running command would otherwise keep its request, and
/// with it the server, alive until it ends), then gives requests a moment to answer, then exits.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let listener = tokio::net::TcpListener::bind((config.host, config.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.host, config.port))?;
    let addr = listener.local_addr()?;
    // Installing handlers replaces an inherited "ignore" (a server started with `&` from a script ignores
    // SIGINT and SIGQUIT), and handlers reset to the default on exec: without this, bash and every command
    // it runs would ignore SIGINT and `C-c` would do nothing.
    let signals = Signals::install().context("cannot install signal handlers")?;
    let executor = Executor::start(&config)
        .await
        .context("cannot start the action executor")?;
    let mcp = Arc::new(crate::mcp::McpProxy::new(
        config.working_dir.clone(),
        config.user_id,
        executor.reaper().marker().to_owned(),
    ));
    let state = Arc::new(AppState {
        mcp,
        executor,
        stats: crate::system_stats::Stats::new(),
        port: addr.port(),
        config,
    });
    if state.config.api_key.is_none() {
        tracing::warn!(
            "SESSION_API_KEY is not set: every route is open to local clients (web pages are refused by Origin, Host and content type)"
        );
    }
    tracing::info!(%addr, working_dir = %state.config.working_dir.display(), "openhands-runtime listening");
    eprintln!("openhands-runtime listening on http://{addr}");
    let app = router(state.clone());
    let (stopping_tx, mut stopping) = tokio::sync::watch::channel(false);
    let reaper = state.executor.reaper();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        signals.shutdown().await;
        let killed = tokio::task::spawn_blocking(move || reaper.close_and_kill())
            .await
            .unwrap_or_default();
        tracing::info!(killed, "the session's processes are killed");
        let _ = stopping_tx.send(true);
    });
    let grace = async {
        let _ = stopping.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server.into_future() => served.context("the HTTP server failed")?,
        () = grace => tracing::warn!("requests still running at shutdown were dropped"),
    }
    state.mcp.shutdown();
    state.executor.shutdown().await;
    Ok(())
}

/// SIGINT, SIGTERM and the parent's death stop the server; SIGQUIT is taken so that it does not stay
/// ignored for children.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    _quit: tokio::signal::unix::Signal,
    /// The parent at start, when there was one to outlive (not init, not a container's pid 0).
    parent: Option<u32>,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            _quit: signal(SignalKind::quit())?,
            parent: Some(std::os::unix::process::parent_id())
                .filter(|&p| p > 1)
                .filter(|_| {
                    std::env::var_os("OPENHANDS_EXIT_WITH_PARENT").is_none_or(|v| v != "0")
                }),
        })
    }

    async fn shutdown(mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = parent_gone() => tracing::info!("the parent process is gone (stdin closed)"),
            _ = parent_died(self.parent) => tracing::info!("the parent process died"),
        }
        tracing::info!("shutting down");
    }
}

/// With `OPENHANDS_EXIT_WITH_PARENT=1`, resolves when stdin reaches end of file: the parent that holds
/// the pipe's other end has exited, however it died. Otherwise never resolves.
async fn parent_gone() {
    use tokio::io::AsyncReadExt as _;
    if std::env::var_os("OPENHANDS_EXIT_WITH_PARENT").is_none_or(|v| v != "1") {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 256];
    loop {
        match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Resolves when the process that started us is no longer our parent (we were re-parented to init or a
/// subreaper). Polled: `PR_SET_PDEATHSIG` fires when the parent's *thread* that forked us exits, which in a
/// parent running tokio's blocking pool happens while the parent lives on.
async fn parent_died(parent: Option<u32>) {
    let Some(parent) = parent else {
        return std::future::pending().await;
    };
    let mut tick = tokio::time::interval(PARENT_POLL);
    loop {
        tick.tick().await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

/// How often the parent is checked: the session must be killed within a second of the parent's death.
const PARENT_POLL: std::time::Duration = std::time::Duration::from_millis(200);
