//! One sandbox container: how it is created (confinement, limits, mounts, labels, a loopback-only
//! port), started and waited for, inspected, read from, stopped and removed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, HostConfigLogConfig, Mount,
    MountTypeEnum, PortBinding,
};
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, StopContainerOptions};
use futures_util::StreamExt;

use super::engine::{engine_message, is_not_found, start_error};
use super::orphans::{Owner, force_remove, host_name};
use super::{DockerOptions, SandboxPlugins, labels, short_id};
use crate::runtime::RuntimeError;
use crate::runtime::client::RuntimeClient;
use crate::runtime::process::random_key;

/// Where the workspace is mounted; the server's working directory.
pub(super) const WORKSPACE: &str = "/workspace";
const SERVER_PORT: &str = "8000";
const PORT_KEY: &str = "8000/tcp";
const ALIVE_TIMEOUT: Duration = Duration::from_secs(15);
const STATE_POLL: Duration = Duration::from_millis(100);
/// Lines of container output kept by [`logs`] and quoted in errors.
pub(super) const LOG_LINES: usize = 200;
/// How long `docker stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE_SECS: i32 = 2;
/// Anything that only reads from the engine.
const QUICK: Duration = Duration::from_secs(20);

/// Everything needed to create (and re-create) the same container.
#[derive(Debug, Clone)]
pub(super) struct Spec {
    pub image: String,
    /// The canonical host directory mounted at [`WORKSPACE`].
    pub workspace: PathBuf,
    pub opts: DockerOptions,
    pub user: (u32, u32),
}

/// A running container whose server answers.
pub(super) struct Running {
    pub id: String,
    pub client: RuntimeClient,
}

impl Spec {
    /// Creates and starts a container and waits until its server answers; removes it on failure.
    pub async fn launch(&self, docker: &Docker) -> Result<Running, RuntimeError> {
        let key = random_key()?;
        let owner = Owner::current();
        let options = CreateContainerOptions {
            name: Some(owner.container_name(&random_key()?[..8])),
            ..Default::default()
        };
        let created = docker
            .create_container(Some(options), self.create_body(&key, owner))
            .await
            .map_err(|e| {
                start_error(format!("cannot create a container from {}", self.image), &e)
            })?;
        let id = created.id;
        let started = async {
            docker
                .start_container(
                    &id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await
                .map_err(|e| {
                    start_error(format!("cannot start the container {}", short_id(&id)), &e)
                })?;
            connect_server(docker, &id, &key).await
        };
        match started.await {
            Ok(client) => Ok(Running { id, client }),
            Err(e) => {
                if let Err(removal) = force_remove(docker, &id).await {
                    tracing::warn!(
                        "cannot remove the failed container {}: {removal}",
                        short_id(&id)
                    );
                }
                Err(e)
            }
        }
    }

    fn create_body(&self, key: &str, owner: Owner) -> ContainerCreateBody {
        let o = &self.opts;
        let mut env: Vec<(String, String)> = vec![("SESSION_API_KEY".into(), key.into())];
        if self.user.0 != 0 {
            // A uid without a passwd entry would get HOME=/, which it cannot write.
            env.push(("HOME".into(), "/tmp".into()));
        }
        for (k, v) in &o.env {
            // The key is ours to choose (it is in the labels for reconnecting), and a server in a
            // container has no parent pipe to watch.
            if k == "SESSION_API_KEY" || k == "OPENHANDS_EXIT_WITH_PARENT" {
                tracing::warn!("ignoring {k} in the sandbox's environment settings");
                continue;
            }
            env.retain(|(old, _)| old != k);
            env.push((k.clone(), v.clone()));
        }
        let mut container_labels = HashMap::from([
            (labels::MANAGED.to_owned(), "true".to_owned()),
            (labels::OWNER_PID.to_owned(), owner.pid.to_string()),
            (labels::OWNER_START.to_owned(), owner.start.to_string()),
            (labels::OWNER_HOST.to_owned(), host_name()),
            (labels::KEY.to_owned(), key.to_owned()),
            (
                labels::WORKSPACE.to_owned(),
                self.workspace.display().to_string(),
            ),
        ]);
        if let Some(id) = &o.conversation_id {
            container_labels.insert(labels::CONVERSATION.to_owned(), id.clone());
        }
        let bind = |source: &PathBuf, target: &str, read_only: bool| Mount {
            source: Some(source.display().to_string()),
            target: Some(target.to_owned()),
            typ: Some(MountTypeEnum::BIND),
            read_only: Some(read_only),
            ..Default::default()
        };
        let mut mounts = vec![bind(&self.workspace, WORKSPACE, false)];
        mounts.extend(
            o.mounts
                .iter()
                .map(|m| bind(&m.host, &m.container, m.read_only)),
        );
        let host_config = HostConfig {
            memory: Some(o.memory_bytes),
            // Equal to the memory limit: no swap, so a hog is killed instead of thrashing.
            memory_swap: Some(o.memory_bytes),
            nano_cpus: Some(o.nano_cpus),
            pids_limit: Some(o.pids_limit),
            privileged: Some(false),
            cap_drop: Some(vec!["ALL".to_owned()]),
            security_opt: Some(vec!["no-new-privileges".to_owned()]),
            network_mode: Some("bridge".to_owned()),
            // docker-init as pid 1 reaps the zombies of background jobs and forwards SIGTERM.
            init: Some(true),
            port_bindings: Some(HashMap::from([(
                PORT_KEY.to_owned(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    // Empty: the engine picks a free port; read back from inspect.
                    host_port: Some(String::new()),
                }]),
            )])),
            mounts: Some(mounts),
            // Bounded and readable by `logs` whatever the engine's default driver is.
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".to_owned()),
                config: Some(HashMap::from([
                    ("max-size".to_owned(), "10m".to_owned()),
                    ("max-file".to_owned(), "1".to_owned()),
                ])),
            }),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(server_args(o.plugins)),
            env: Some(env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()),
            user: Some(format!("{}:{}", self.user.0, self.user.1)),
            working_dir: Some(WORKSPACE.to_owned()),
            exposed_ports: Some(HashMap::from([(PORT_KEY.to_owned(), HashMap::new())])),
            labels: Some(container_labels),
            host_config: Some(host_config),
            ..Default::default()
        }
    }
}

/// The command line of the container's `openhands-runtime`: the plugins asked for, Chromium without a
/// sandbox of its own (the container's seccomp profile refuses it user namespaces and no-new-privileges
/// disarms a setuid helper, so the container, with no capabilities and our uid, is its sandbox).
fn server_args(plugins: SandboxPlugins) -> Vec<String> {
    let mut args = vec![SERVER_PORT, "--working-dir", WORKSPACE, "--host", "0.0.0.0"];
    if plugins.jupyter {
        args.extend(["--plugins", "jupyter"]);
    }
    if plugins.browser {
        args.extend(["--enable-browser", "--chromium-no-sandbox"]);
    } else {
        args.push("--no-enable-browser");
    }
    args.into_iter().map(str::to_owned).collect()
}

/// The loopback URL of a started container and a client of it, once its server answers and accepts
/// `key` (within [`ALIVE_TIMEOUT`]; the error quotes the container's output).
pub(super) async fn connect_server(
    docker: &Docker,
    id: &str,
    key: &str,
) -> Result<RuntimeClient, RuntimeError> {
    let deadline = Instant::now() + ALIVE_TIMEOUT;
    let mut client: Option<RuntimeClient> = None;
    loop {
        let info = inspect(docker, id).await?;
        let state = info.state.as_ref();
        if !state.and_then(|s| s.running).unwrap_or(false) {
            return Err(RuntimeError::Start(format!(
                "the container {} {}; its last output:\n{}",
                short_id(id),
                describe_stop(&info),
                logs(docker, id, 40).await
            )));
        }
        let c = match &client {
            Some(c) => c.clone(),
            None => {
                let url = format!("http://127.0.0.1:{}", host_port(&info)?);
                let c = RuntimeClient::new(&url, Some(key.to_owned()))?;
                client = Some(c.clone());
                c
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RuntimeError::Start(format!(
                "the container {} did not answer {}/alive within {} s; its last output:\n{}",
                short_id(id),
                c.base_url(),
                ALIVE_TIMEOUT.as_secs(),
                logs(docker, id, 40).await
            )));
        }
        // Docker's port proxy accepts connections before the server listens: poll until it answers.
        if c.alive_within(left.min(Duration::from_secs(2)), false)
            .await
            .is_ok()
        {
            return match c.check_api_key().await {
                Ok(()) => Ok(c),
                Err(e) => Err(RuntimeError::Start(format!(
                    "the server in container {} refused its key: {e}",
                    short_id(id)
                ))),
            };
        }
        tokio::time::sleep(STATE_POLL).await;
    }
}

fn host_port(info: &ContainerInspectResponse) -> Result<u16, RuntimeError> {
    info.network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .and_then(|p| p.get(PORT_KEY))
        .and_then(|b| b.as_ref())
        .and_then(|b| b.iter().find_map(|b| b.host_port.as_ref()?.parse().ok()))
        .ok_or_else(|| {
            RuntimeError::Start(format!(
                "the container has no published port for {PORT_KEY}"
            ))
        })
}

pub(super) async fn inspect(
    docker: &Docker,
    id: &str,
) -> Result<ContainerInspectResponse, RuntimeError> {
    match tokio::time::timeout(
        QUICK,
        docker.inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        ),
    )
    .await
    {
        Ok(Ok(info)) => Ok(info),
        Ok(Err(e)) if is_not_found(&e) => Err(RuntimeError::Start(format!(
            "the container {} no longer exists",
            short_id(id)
        ))),
        Ok(Err(e)) => Err(start_error(
            format!("cannot inspect the container {}", short_id(id)),
            &e,
        )),
        Err(_) => Err(RuntimeError::Start(format!(
            "the Docker Engine did not answer within {} s",
            QUICK.as_secs()
        ))),
    }
}

/// "exited with code 137 (killed for running out of memory)", for a container that is not running.
pub(super) fn describe_stop(info: &ContainerInspectResponse) -> String {
    let Some(state) = &info.state else {
        return "stopped".to_owned();
    };
    let mut text = format!("exited with code {}", state.exit_code.unwrap_or(-1));
    if state.oom_killed == Some(true) {
        text.push_str(" (killed for running out of memory)");
    }
    if let Some(error) = state.error.as_deref().filter(|e| !e.is_empty()) {
        text.push_str(&format!(": {error}"));
    }
    text
}

/// The last `lines` lines the container printed (stdout and stderr), or why they cannot be read.
pub(super) async fn logs(docker: &Docker, id: &str, lines: usize) -> String {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..Default::default()
    };
    let collect = async {
        let mut text = String::new();
        let mut stream = docker.logs(id, Some(options));
        while let Some(item) = stream.next().await {
            match item {
                Ok(chunk) => text.push_str(&chunk.to_string()),
                Err(e) => {
                    text.push_str(&format!(
                        "(cannot read more of its logs: {})",
                        engine_message(&e)
                    ));
                    break;
                }
            }
        }
        text
    };
    match tokio::time::timeout(QUICK, collect).await {
        Ok(text) if text.trim().is_empty() => "(it printed nothing)".to_owned(),
        Ok(text) => text.trim_end().to_owned(),
        Err(_) => "(its logs could not be read in time)".to_owned(),
    }
}

/// `docker stop` (SIGTERM, SIGKILL after the grace) then `docker rm`; a container already gone is fine.
pub(super) async fn stop_and_remove(docker: &Docker, id: &str) {
    let options = StopContainerOptions {
        t: Some(STOP_GRACE_SECS),
        signal: None,
    };
    match docker.stop_container(id, Some(options)).await {
        Ok(()) => {}
        Err(e) if is_not_found(&e) => return,
        Err(e) => tracing::debug!(
            "cannot stop the container {}: {}",
            short_id(id),
            engine_message(&e)
        ),
    }
    if let Err(e) = force_remove(docker, id).await {
        tracing::warn!("cannot remove the container {}: {e}", short_id(id));
    }
}
