//! Runtimes: where actions run. All speak the `openhands-runtime` REST protocol; they differ in how the
//! server is started and supervised (local child process, remote URL; Docker in its own module).

mod binary;
pub mod client;
pub mod docker;
mod local;
mod process;
mod remote;

use std::path::{Path, PathBuf};

use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation};

pub use binary::{RUNTIME_BIN_ENV, find_runtime_binary};
pub use client::RuntimeClient;
pub use docker::{
    DockerOptions, DockerRuntime, ExtraMount, ImageInfo, ImageSource, SandboxPlugins,
};
pub use local::{LocalRuntime, restarted_message};
pub use remote::RemoteRuntime;

/// Why an action produced no observation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot start the runtime: {0}")]
    Start(String),
    #[error("the runtime at {url} is unreachable: {message}")]
    Unreachable { url: String, message: String },
    #[error("the runtime refused the action (HTTP {status}): {detail}")]
    Http { status: u16, detail: String },
    #[error("the runtime did not answer within {0} s")]
    Timeout(f64),
    #[error("the runtime answered with something unusable: {0}")]
    BadResponse(String),
}

/// The `Runtime` methods a wrapper (approvals, checkpoints, plan mode, diagnostics) passes on to the runtime
/// it wraps, `self.inner`, unchanged: `pass_on!(interrupt, health, close, ...)` inside its `impl Runtime`.
/// Each wrapper's list says what it passes on; what it leaves out falls back to the trait's default, so a
/// wrapper passes on every defaulted method it does not replace (`client`, `confirm`, `before_finish`).
macro_rules! pass_on {
    (interrupt) => {
        fn interrupt(&self) -> futures_util::future::BoxFuture<'_, ()> {
            self.inner.interrupt()
        }
    };
    (health) => {
        fn health(
            &self,
        ) -> futures_util::future::BoxFuture<'_, Result<(), $crate::runtime::RuntimeError>> {
            self.inner.health()
        }
    };
    (close) => {
        fn close(&self) -> futures_util::future::BoxFuture<'_, ()> {
            self.inner.close()
        }
    };
    (workspace_dir) => {
        fn workspace_dir(&self) -> &std::path::Path {
            self.inner.workspace_dir()
        }
    };
    (description) => {
        fn description(&self) -> String {
            self.inner.description()
        }
    };
    (secrets) => {
        fn secrets(&self) -> Vec<String> {
            self.inner.secrets()
        }
    };
    (client) => {
        fn client(&self) -> Option<$crate::runtime::RuntimeClient> {
            self.inner.client()
        }
    };
    (confirm) => {
        fn confirm<'a>(
            &'a self,
            action: &'a openhands_runtime_api::ActionEvent,
        ) -> futures_util::future::BoxFuture<'a, Option<openhands_runtime_api::Observation>> {
            self.inner.confirm(action)
        }
    };
    (before_finish) => {
        fn before_finish(&self) -> futures_util::future::BoxFuture<'_, Option<String>> {
            self.inner.before_finish()
        }
    };
    ($($method:ident),+ $(,)?) => {
        $( $crate::runtime::pass_on!($method); )+
    };
}
pub(crate) use pass_on;

/// A sandbox that executes actions.
pub trait Runtime: Send + Sync {
    /// Runs one action. A runtime that died is restarted when possible and the observation says so.
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>>;
    /// Interrupts whatever runs in the shell (sends `C-c`).
    fn interrupt(&self) -> BoxFuture<'_, ()>;
    /// `/alive` answered.
    fn health(&self) -> BoxFuture<'_, Result<(), RuntimeError>>;
    /// Stops the runtime (a local child is killed); idempotent.
    fn close(&self) -> BoxFuture<'_, ()>;
    /// The workspace directory as the sandbox sees it (where relative paths resolve).
    fn workspace_dir(&self) -> &Path;
    /// One line for logs and transcripts, e.g. `local (pid 123, http://127.0.0.1:4000)`.
    fn description(&self) -> String;
    /// Values the agent could come across in the sandbox that must be masked in every event (the
    /// runtime's API key: a command can read it from the server's environment).
    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }
    /// The current server's REST client (its URL and key), for the routes beside actions (MCP); `None`
    /// for a runtime that is not an `openhands-runtime` server.
    fn client(&self) -> Option<RuntimeClient> {
        None
    }

    /// Asked before an action the agent runs without the runtime (an MCP tool call): `Some` refuses it with
    /// that observation (the user's rejection, plan mode). Wrappers that ask for approval ask here too;
    /// the others pass it on.
    fn confirm<'a>(&'a self, action: &'a ActionEvent) -> BoxFuture<'a, Option<Observation>> {
        let _ = action;
        Box::pin(async { None })
    }

    /// Asked when the agent finishes: `Some(why)` holds the finish back and tells the agent why (a wrapper
    /// that knows the agent's edits left new errors); wrappers pass it on.
    fn before_finish(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async { None })
    }
}

/// Options of the local runtime.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The `openhands-runtime` binary; `None`: `OPENHANDS_RUNTIME_BIN`, next to the current executable
    /// (and its parent directory), then PATH.
    pub binary: Option<PathBuf>,
    pub plugins: Vec<String>,
    pub enable_browser: bool,
    /// Values no variable of the sandbox's environment may carry (the LLM key, whatever its variable's
    /// name); credential variables of ours and of LLM providers are left out by name as well.
    pub withheld: Vec<String>,
    /// Variables set on top of the inherited environment (the user's named secrets).
    pub env: Vec<(String, String)>,
}
