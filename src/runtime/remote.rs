//! The remote runtime: an `openhands-runtime` (or OpenHands' own server) someone else started, reached
//! by URL. We do not own it: a dead remote is an error for the controller, and `close` leaves it running.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation};

use super::client::RuntimeClient;
use super::{Runtime, RuntimeError};

/// How long `connect` waits for `/alive`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A runtime server at a URL.
pub struct RemoteRuntime {
    client: RuntimeClient,
    workspace: PathBuf,
}

impl RemoteRuntime {
    /// Checks that the server answers `/alive` and accepts `api_key`.
    pub async fn connect(
        url: &str,
        api_key: Option<String>,
        workspace_dir: PathBuf,
    ) -> Result<Self, RuntimeError> {
        let has_key = api_key.is_some();
        let client = RuntimeClient::new(url, api_key)?;
        client
            .alive_within(CONNECT_TIMEOUT, true)
            .await
            .map_err(|e| match e {
                RuntimeError::Unreachable { url, message } => RuntimeError::Unreachable {
                    message: format!(
                        "{message} (is the runtime server running, and is the URL right?)"
                    ),
                    url,
                },
                RuntimeError::Timeout(_) => RuntimeError::Unreachable {
                    url: client.base_url().to_owned(),
                    message: format!(
                        "no answer from /alive within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                },
                RuntimeError::Http { status, detail } => RuntimeError::Start(format!(
                    "{} answered /alive with HTTP {status} ({detail}); is it an openhands-runtime server?",
                    client.base_url()
                )),
                other => other,
            })?;
        match client.check_api_key().await {
            Err(RuntimeError::Http { status, detail }) => {
                let hint = if has_key {
                    "the key given does not match the SESSION_API_KEY the server was started with"
                } else {
                    "the server requires a key: give the SESSION_API_KEY it was started with"
                };
                Err(RuntimeError::Start(format!(
                    "the runtime at {} refused the API key (HTTP {status}: {detail}); {hint}",
                    client.base_url()
                )))
            }
            Err(e) => Err(e),
            Ok(()) => Ok(Self {
                client,
                workspace: workspace_dir,
            }),
        }
    }
}

impl Runtime for RemoteRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        Box::pin(self.client.execute(action))
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.client.interrupt().await {
                tracing::warn!("cannot interrupt the remote runtime: {e}");
            }
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.client.alive())
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn workspace_dir(&self) -> &Path {
        &self.workspace
    }

    fn description(&self) -> String {
        format!("remote ({})", self.client.base_url())
    }
    fn secrets(&self) -> Vec<String> {
        self.client
            .api_key()
            .map(str::to_owned)
            .into_iter()
            .collect()
    }
    fn client(&self) -> Option<RuntimeClient> {
        Some(self.client.clone())
    }
}
