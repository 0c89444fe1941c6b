//! `DockerRuntime`: the runtime trait over a sandbox container. Starts (or reconnects to) the container,
//! speaks the REST protocol through [`RuntimeClient`], restarts a container that died once per runtime,
//! reports commands the memory limit killed, and removes the container on close or drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bollard::Docker;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation, ObservationKind};

use super::container::{
    LOG_LINES, Running, Spec, WORKSPACE, describe_stop, inspect, logs, stop_and_remove,
};
use super::engine::{connect, socket_path};
use super::oom::OomWatch;
use super::orphans::{force_remove, remove_orphans_with};
use super::preflight::{check_paths, ensure_image};
use super::{DockerOptions, human_bytes, short_id};
use crate::runtime::client::RuntimeClient;
use crate::runtime::{Runtime, RuntimeError, restarted_message};

/// A container that died is replaced this many times per runtime; after that the death is an error.
const MAX_RESTARTS: usize = 1;
/// Exit status of a process killed by SIGKILL (what the OOM killer sends).
const KILLED: i64 = 137;
/// How the jupyter plugin's answer begins its note on a kernel that died during or before a cell.
const KERNEL_DIED: [&str; 2] = ["[The IPython kernel died", "[The IPython kernel had died"];

/// The current container.
struct Current {
    client: RuntimeClient,
    /// Bumped by every restart, so concurrent failures restart once; indexes `DockerRuntime::ids`.
    generation: usize,
}

#[derive(Default)]
struct Supervision {
    restarts: usize,
    /// The reason of the last restart and the generation it replaced.
    last: Option<(usize, String)>,
}

/// `openhands-runtime` in a sandbox container.
pub struct DockerRuntime {
    docker: Docker,
    socket: PathBuf,
    spec: Spec,
    current: Mutex<Current>,
    /// The container of each generation; set once each, so `container_id` can hand out a `&str`.
    ids: [OnceLock<String>; MAX_RESTARTS + 1],
    supervisor: tokio::sync::Mutex<Supervision>,
    closed: AtomicBool,
    /// Set by `detach`: the container outlives us.
    detached: AtomicBool,
    /// Set once `close` removed the container.
    removed: AtomicBool,
    oom: OomWatch,
    workspace_dir: PathBuf,
}

impl DockerRuntime {
    /// Checks the workspace and the engine, removes orphaned containers, reconnects to the running
    /// container of `opts.conversation_id` if there is one, else builds the image if it is missing and
    /// starts a container; returns once its server answers.
    pub async fn start(
        workspace: &Path,
        opts: DockerOptions,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Self, RuntimeError> {
        let workspace = check_paths(workspace, &opts)?;
        let socket = socket_path(opts.socket.as_deref())?;
        let docker = connect(&socket).await?;
        let user = opts.user.unwrap_or_else(|| {
            (
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            )
        });
        let spec = Spec {
            image: opts.image_tag(),
            workspace,
            opts,
            user,
        };

        // Adoption comes before orphan removal: a crashed process' container of this conversation is
        // taken over rather than removed.
        let mut running = None;
        if let Some(conversation) = &spec.opts.conversation_id {
            running = spec.adopt(&docker, conversation).await?;
            if let Some(r) = &running {
                progress(&format!(
                    "reconnected to the running container {} of conversation {conversation}",
                    short_id(&r.id)
                ));
            }
        }
        let removed = remove_orphans_with(&docker).await?;
        if removed > 0 {
            progress(&format!(
                "removed {removed} orphaned sandbox container(s) left by a process that ended without \
                 removing them"
            ));
        }
        let running = match running {
            Some(r) => r,
            None => {
                ensure_image(&docker, &spec, progress).await?;
                spec.launch(&docker).await?
            }
        };
        let Running { id, client } = running;
        let ids: [OnceLock<String>; MAX_RESTARTS + 1] = Default::default();
        let _ = ids[0].set(id);
        Ok(Self {
            docker,
            socket,
            spec,
            current: Mutex::new(Current {
                client,
                generation: 0,
            }),
            ids,
            supervisor: tokio::sync::Mutex::new(Supervision::default()),
            closed: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            removed: AtomicBool::new(false),
            oom: OomWatch::default(),
            workspace_dir: PathBuf::from(WORKSPACE),
        })
    }

    /// The id of the current container.
    pub fn container_id(&self) -> &str {
        self.id_of(self.lock().generation)
    }

    /// The last lines the current container printed.
    pub async fn logs(&self) -> String {
        logs(&self.docker, self.container_id(), LOG_LINES).await
    }

    /// Leaves the container running, so that a later `start` with the same conversation id reconnects.
    pub async fn detach(self) {
        self.detached.store(true, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn id_of(&self, generation: usize) -> &str {
        self.ids
            .get(generation)
            .and_then(OnceLock::get)
            .map_or("", String::as_str)
    }

    fn snapshot(&self) -> (RuntimeClient, &str, usize) {
        let c = self.lock();
        (c.client.clone(), self.id_of(c.generation), c.generation)
    }

    /// After a connection failure: replaces a dead container (once) and answers with an error observation.
    async fn recover(
        &self,
        generation: usize,
        err: RuntimeError,
    ) -> Result<Observation, RuntimeError> {
        let mut supervision = self.supervisor.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            return Err(err);
        }
        let (client, id, current) = self.snapshot();
        if current != generation {
            // Another action saw the same death and restarted the container already.
            let reason = match &supervision.last {
                Some((g, reason)) if *g == generation => reason.clone(),
                _ => "the container stopped".to_owned(),
            };
            return Ok(Observation::error(restarted_message(&reason)));
        }
        let Some(reason) = self.death_reason(id, &client).await else {
            return Err(err);
        };
        if supervision.restarts >= MAX_RESTARTS {
            tracing::warn!(%reason, "the sandbox container died again; not restarting it");
            let _ = force_remove(&self.docker, id).await;
            return Err(RuntimeError::Unreachable {
                url: client.base_url().to_owned(),
                message: format!(
                    "{reason}; it was restarted {MAX_RESTARTS} time(s) already, so it is not restarted again"
                ),
            });
        }
        tracing::warn!(%reason, "the sandbox container died; starting a new one");
        if let Err(e) = force_remove(&self.docker, id).await {
            tracing::warn!("cannot remove the dead container {}: {e}", short_id(id));
        }
        let Running { id, client } = self.spec.launch(&self.docker).await?;
        let next = generation + 1;
        if let Some(slot) = self.ids.get(next) {
            let _ = slot.set(id);
        }
        {
            let mut c = self.lock();
            c.client = client;
            c.generation = next;
        }
        self.oom.reset();
        supervision.restarts += 1;
        supervision.last = Some((generation, reason.clone()));
        Ok(Observation::error(restarted_message(&reason)))
    }

    /// Why the container is dead, or `None` if its server still answers.
    async fn death_reason(&self, id: &str, client: &RuntimeClient) -> Option<String> {
        if let Some(reason) = self.stopped(id).await {
            return Some(reason);
        }
        if client
            .alive_within(Duration::from_secs(2), true)
            .await
            .is_ok()
        {
            return None;
        }
        // The engine reports a killed container as stopped a moment after its connections broke.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Some(reason) = self.stopped(id).await {
                return Some(reason);
            }
        }
        Some(format!("the container {} stopped answering", short_id(id)))
    }

    /// Why the container is not running, if it is not.
    async fn stopped(&self, id: &str) -> Option<String> {
        let options = None::<bollard::query_parameters::InspectContainerOptions>;
        match self.docker.inspect_container(id, options).await {
            Err(e) if super::engine::is_not_found(&e) => {
                Some(format!("the container {} no longer exists", short_id(id)))
            }
            Ok(info) if !info.state.as_ref().and_then(|s| s.running).unwrap_or(false) => Some(
                format!("the container {} {}", short_id(id), describe_stop(&info)),
            ),
            _ => None,
        }
    }

    /// Adds to a command killed by SIGKILL, or a cell whose IPython kernel died, that the memory limit
    /// was hit, when the kernel's OOM count in the container says so.
    async fn note_oom(&self, id: &str, obs: &mut Observation) {
        let what = match &obs.kind {
            ObservationKind::Run(extras) if extras.metadata.exit_code == KILLED => {
                format!("The command was killed (exit code {KILLED})")
            }
            ObservationKind::RunIpython { .. }
                if KERNEL_DIED.iter().any(|t| obs.content.contains(t)) =>
            {
                "The IPython kernel was killed".to_owned()
            }
            _ => return,
        };
        if let Ok(info) = inspect(&self.docker, id).await
            && self.oom.new_kill(&info)
        {
            obs.content.push_str(&format!(
                "\n[{what}: the sandbox has a memory limit of {} and the Linux kernel's out-of-memory killer has \
                 stopped a process in it. Use less memory.]",
                human_bytes(self.spec.opts.memory_bytes)
            ));
        }
    }
}

impl Runtime for DockerRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        Box::pin(async move {
            let (client, id, generation) = self.snapshot();
            if self.closed.load(Ordering::SeqCst) {
                return Err(closed_error(&client));
            }
            match client.execute(action).await {
                Ok(mut obs) => {
                    self.note_oom(id, &mut obs).await;
                    Ok(obs)
                }
                Err(err @ RuntimeError::Unreachable { .. }) => self.recover(generation, err).await,
                Err(other) => Err(other),
            }
        })
    }

    fn interrupt(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (client, _, _) = self.snapshot();
            if let Err(e) = client.interrupt().await {
                tracing::warn!("cannot interrupt the docker runtime: {e}");
            }
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let (client, id, _) = self.snapshot();
            if self.closed.load(Ordering::SeqCst) {
                return Err(closed_error(&client));
            }
            match client.alive().await {
                Ok(()) => Ok(()),
                Err(e) => match inspect(&self.docker, id).await {
                    Ok(info) if !info.state.as_ref().and_then(|s| s.running).unwrap_or(false) => {
                        Err(RuntimeError::Unreachable {
                            url: client.base_url().to_owned(),
                            message: format!(
                                "the container {} {}",
                                short_id(id),
                                describe_stop(&info)
                            ),
                        })
                    }
                    _ => Err(e),
                },
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closed.store(true, Ordering::SeqCst);
            // Waits for a restart in progress, so its new container is removed too.
            let _guard = self.supervisor.lock().await;
            stop_and_remove(&self.docker, self.container_id()).await;
            self.removed.store(true, Ordering::SeqCst);
        })
    }

    fn workspace_dir(&self) -> &Path {
        &self.workspace_dir
    }

    fn description(&self) -> String {
        let (client, id, _) = self.snapshot();
        let id = if self.removed.load(Ordering::SeqCst) {
            "removed"
        } else {
            short_id(id)
        };
        format!("docker ({id}, {}, {})", self.spec.image, client.base_url())
    }
    fn secrets(&self) -> Vec<String> {
        let (client, _, _) = self.snapshot();
        client.api_key().map(str::to_owned).into_iter().collect()
    }
    fn client(&self) -> Option<RuntimeClient> {
        Some(self.snapshot().0)
    }
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        if self.detached.load(Ordering::SeqCst) || self.removed.load(Ordering::SeqCst) {
            return;
        }
        let id = self.container_id().to_owned();
        // Best effort, on a thread of its own: there may be no runtime to spawn on, or one shutting down.
        let socket = self.socket.clone();
        let removal = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                match connect(&socket).await {
                    Ok(docker) => {
                        if let Err(e) = force_remove(&docker, &id).await {
                            tracing::warn!("cannot remove the container {}: {e}", short_id(&id));
                        }
                    }
                    Err(e) => tracing::warn!("cannot remove the container {}: {e}", short_id(&id)),
                }
            });
        });
        let _ = removal.join();
    }
}

fn closed_error(client: &RuntimeClient) -> RuntimeError {
    RuntimeError::Unreachable {
        url: client.base_url().to_owned(),
        message: "the runtime was closed".to_owned(),
    }
}
