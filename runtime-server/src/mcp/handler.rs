//! The MCP server the agent talks to: lists the proxied tools and forwards calls to their stdio servers.

use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::McpProxy;

#[derive(Clone)]
struct Proxy(Arc<McpProxy>);

impl ServerHandler for Proxy {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("openhands-runtime", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.0.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.0.call(request).await.map(CallToolResponse::from)
    }
}

/// The streamable-HTTP service for `/mcp`. Host checks are left to the server's own guard (the API key,
/// `guard.rs`): the runtime may be reached under a container's or a forwarded name.
pub(crate) fn service(
    proxy: Arc<McpProxy>,
) -> StreamableHttpService<impl ServerHandler + use<>, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    config.allowed_hosts = Vec::new();
    config.json_response = true;
    StreamableHttpService::new(
        move || Ok(Proxy(proxy.clone())),
        LocalSessionManager::default().into(),
        config,
    )
}
