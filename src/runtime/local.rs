//! The local runtime: an `openhands-runtime` child on a loopback port with a random API key, supervised
//! so that a server that died is restarted and the action that hit it is answered with an error.
//!
//! The child is stopped when the `LocalRuntime` is closed (SIGTERM, then SIGKILL) or dropped (SIGTERM: the
//! server kills every process the agent started, then exits). If this process is killed outright nothing
//! runs here: the server notices that its parent died (its stdin pipe closes, its parent pid changes) and
//! stops the same way.

use std::path::Path;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation};
use tokio::process::Child;

use super::client::RuntimeClient;
use super::process::{LogTail, ServerSpec, random_key, stop_child};
use super::{LocalOptions, Runtime, RuntimeError, find_runtime_binary};

/// How long a server gets to stop its shell after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// The text the model sees for an action that hit a dead server.
pub fn restarted_message(reason: &str) -> String {
    format!(
        "The runtime stopped while running this action ({reason}) and was restarted; the shell's state \
         (working directory, variables, background processes) was reset. The action may not have completed."
    )
}

/// The current server process.
struct Server {
    client: RuntimeClient,
    child: Option<Child>,
    pid: Option<u32>,
    /// Bumped by every restart, so concurrent failures restart once.
    generation: u64,
}

impl Drop for LocalRuntime {
    fn drop(&mut self) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let s = self.lock();
        if let Some(pid) = s
            .child
            .as_ref()
            .and(s.pid)
            .and_then(|p| i32::try_from(p).ok())
        {
            // The child is not reaped yet (we hold it), so the pid still names it; tokio reaps it later.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
    }
}

/// `openhands-runtime` as a supervised child process.
pub struct LocalRuntime {
    spec: ServerSpec,
    server: Mutex<Server>,
    /// Serialises restarts and `close`; holds the reason of the last restart and its generation.
    supervisor: tokio::sync::Mutex<Option<(u64, String)>>,
    closed: AtomicBool,
}

impl LocalRuntime {
    /// Finds the binary, starts it on a free loopback port and waits until `/alive` answers.
    pub async fn start(workspace: &Path, opts: LocalOptions) -> Result<Self, RuntimeError> {
        let binary = find_runtime_binary(opts.binary.as_deref())?;
        let workspace = std::path::absolute(workspace).map_err(|e| {
            RuntimeError::Start(format!("bad workspace {}: {e}", workspace.display()))
        })?;
        let spec = ServerSpec {
            binary,
            workspace,
            opts,
            api_key: random_key()?,
            log: Arc::new(LogTail::default()),
        };
        let (child, client) = spec.spawn().await?;
        Ok(Self {
            spec,
            server: Mutex::new(Server {
                pid: child.id(),
                child: Some(child),
                client,
                generation: 0,
            }),
            supervisor: tokio::sync::Mutex::new(None),
            closed: AtomicBool::new(false),
        })
    }

    /// The pid of the current server process (`None` once closed).
    pub fn server_pid(&self) -> Option<u32> {
        let s = self.lock();
        s.child.as_ref().and(s.pid)
    }

    /// The URL of the current server.
    pub fn base_url(&self) -> String {
        self.lock().client.base_url().to_owned()
    }

    /// The last lines the server printed (for diagnostics).
    pub fn log_tail(&self) -> String {
        self.spec.log.since(0)
    }

    fn lock(&self) -> MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn snapshot(&self) -> (RuntimeClient, u64) {
        let s = self.lock();
        (s.client.clone(), s.generation)
    }

    /// The exit status if the current server process has exited (reaping it).
    fn exit_status(&self) -> Option<ExitStatus> {
        self.lock().child.as_mut()?.try_wait().ok().flatten()
    }

    /// After a connection failure: restarts a dead server and answers with an error observation.
    async fn recover(
        &self,
        generation: u64,
        err: RuntimeError,
    ) -> Result<Observation, RuntimeError> {
        let mut last_restart = self.supervisor.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return Err(err);
        }
        let (client, current) = self.snapshot();
        if current != generation {
            // Another action saw the same death and restarted the server already.
            let reason = match &*last_restart {
                Some((g, reason)) if *g == generation => reason.clone(),
                _ => "it exited".to_owned(),
            };
            return Ok(Observation::error(restarted_message(&reason)));
        }
        let Some(reason) = self.death_reason(&client).await else {
            return Err(err);
        };
        tracing::warn!(%reason, "the local runtime died; restarting it");
        let old = self.lock().child.take();
        if let Some(child) = old {
            stop_child(child, Duration::ZERO).await;
        }
        let (child, client) = self.spec.spawn().await?;
        {
            let mut s = self.lock();
            s.pid = child.id();
            s.child = Some(child);
            s.client = client;
            s.generation += 1;
        }
        *last_restart = Some((generation, reason.clone()));
        Ok(Observation::error(restarted_message(&reason)))
    }

    /// Why the server is dead, or `None` if it still answers.
    async fn death_reason(&self, client: &RuntimeClient) -> Option<String> {
        if let Some(status) = self.exit_status() {
            return Some(status.to_string());
        }
        if client
            .alive_within(Duration::from_secs(2), true)
            .await
            .is_ok()
        {
            return None;
        }
        // A killed server may not have been reaped yet.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if let Some(status) = self.exit_status() {
                return Some(status.to_string());
            }
        }
        Some("it stopped answering".to_owned())
    }
}

impl Runtime for LocalRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        Box::pin(async move {
            let (client, generation) = self.snapshot();
            if self.closed.load(Ordering::SeqCst) {
                return Err(closed_error(&client));
            }
            match client.execute(action).await {
                Err(err @ RuntimeError::Unreachable { .. }) => self.recover(generation, err).await,
                other => other,
            }
        })
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (client, _) = self.snapshot();
            if let Err(e) = client.interrupt().await {
                tracing::warn!("cannot interrupt the local runtime: {e}");
            }
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let (client, _) = self.snapshot();
            if self.closed.load(Ordering::SeqCst) {
                return Err(closed_error(&client));
            }
            match client.alive().await {
                Ok(()) => Ok(()),
                Err(e) => match self.exit_status() {
                    Some(status) => Err(RuntimeError::Unreachable {
                        url: client.base_url().to_owned(),
                        message: format!("the runtime process exited ({status})"),
                    }),
                    None => Err(e),
                },
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closed.store(true, Ordering::SeqCst);
            // Waits for a restart in progress, so its new child is stopped too.
            let _guard = self.supervisor.lock().await;
            let child = self.lock().child.take();
            if let Some(child) = child {
                stop_child(child, TERM_GRACE).await;
            }
        })
    }

    fn workspace_dir(&self) -> &Path {
        &self.spec.workspace
    }

    fn description(&self) -> String {
        match self.server_pid() {
            Some(pid) => format!("local (pid {pid}, {})", self.base_url()),
            None => format!("local (stopped, {})", self.base_url()),
        }
    }
    fn secrets(&self) -> Vec<String> {
        vec![self.spec.api_key.clone()]
    }
    fn client(&self) -> Option<RuntimeClient> {
        Some(self.snapshot().0)
    }
}

fn closed_error(client: &RuntimeClient) -> RuntimeError {
    RuntimeError::Unreachable {
        url: client.base_url().to_owned(),
        message: "the runtime was closed".to_owned(),
    }
}
