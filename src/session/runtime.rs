//! Starting the runtime a task's settings ask for: local, remote, or Docker (with its opt-in fallback). It maps
//! the front ends' `Settings` to the runtime's own options here, so `runtime/` knows nothing of `config`.

use std::path::Path;
use std::sync::Arc;

use crate::config::{DockerSettings, RuntimeKind, Settings};
use crate::runtime::docker::{DockerOptions, ExtraMount, ImageSource, SandboxPlugins};
use crate::runtime::{LocalOptions, Runtime};

/// Starts the configured runtime for a conversation; the error is a sentence for the user.
pub async fn start_runtime(
    settings: &Settings,
    workspace: &Path,
    conversation_id: &str,
) -> Result<Arc<dyn Runtime>, String> {
    match settings.runtime.kind {
        RuntimeKind::Local => {
            let opts = LocalOptions {
                binary: settings.runtime.binary.clone(),
                plugins: local_plugins(settings),
                enable_browser: settings.runtime.browser,
                withheld: settings.secrets(),
                env: settings.named_secrets.env(),
            };
            crate::runtime::LocalRuntime::start(workspace, opts)
                .await
                .map(|r| Arc::new(r) as Arc<dyn Runtime>)
                .map_err(|e| e.to_string())
        }
        RuntimeKind::Remote => {
            let url = settings.runtime.url.clone().unwrap_or_default();
            let runtime = crate::runtime::RemoteRuntime::connect(
                &url,
                settings.runtime.api_key.clone(),
                workspace.to_path_buf(),
            )
            .await
            .map_err(|e| e.to_string())?;
            export_into(&runtime, &settings.named_secrets).await?;
            Ok(Arc::new(runtime) as Arc<dyn Runtime>)
        }
        RuntimeKind::Docker => {
            let mut opts = docker_options(
                &settings.docker,
                Some(conversation_id.to_owned()),
                requested_plugins(settings),
            );
            opts.env.extend(settings.named_secrets.env());
            let progress = |line: &str| eprintln!("  {line}");
            let engine =
                crate::runtime::docker::engine_check(settings.docker.socket.as_deref()).await;
            if let Err(e) = engine {
                if !settings.docker.fallback_to_local {
                    return Err(e.to_string());
                }
                eprintln!(
                    "warning: {e}\nfalling back to the local runtime (docker.fallback_to_local = true)"
                );
                // The same plugins as the container would have had: the agent is offered their tools.
                let opts = LocalOptions {
                    binary: settings.runtime.binary.clone(),
                    plugins: local_plugins(settings),
                    enable_browser: settings.runtime.browser,
                    withheld: settings.secrets(),
                    env: settings.named_secrets.env(),
                };
                return crate::runtime::LocalRuntime::start(workspace, opts)
                    .await
                    .map(|r| Arc::new(r) as Arc<dyn Runtime>)
                    .map_err(|e| e.to_string());
            }
            crate::runtime::docker::DockerRuntime::start(workspace, opts, &progress)
                .await
                .map(|r| Arc::new(r) as Arc<dyn Runtime>)
                .map_err(|e| e.to_string())
        }
    }
}

/// Exports the secrets in the shell of a runtime whose environment is not ours to set, by a command sent
/// straight to it (never an event). A shell it restarts later starts without them.
async fn export_into(
    runtime: &dyn Runtime,
    secrets: &crate::secrets::Secrets,
) -> Result<(), String> {
    use openhands_runtime_api::{Action, ActionEvent, CmdRunAction, ObservationKind};
    let Some(command) = secrets.export_command() else {
        return Ok(());
    };
    let mut run = CmdRunAction::new(command);
    run.hidden = true;
    let action = ActionEvent::new(Action::Run(run)).with_timeout(30.0);
    let failed = |why: String| format!("cannot export the secrets into the remote runtime: {why}");
    let obs = runtime
        .execute(&action)
        .await
        .map_err(|e| failed(e.to_string()))?;
    match &obs.kind {
        ObservationKind::Run(r) if r.metadata.exit_code == 0 => Ok(()),
        ObservationKind::Run(r) => Err(failed(format!("exit code {}", r.metadata.exit_code))),
        _ => Err(failed("the runtime did not run the command".into())),
    }
}

fn local_plugins(settings: &Settings) -> Vec<String> {
    if settings.runtime.jupyter {
        vec!["jupyter".to_owned()]
    } else {
        Vec::new()
    }
}

/// The plugins `[runtime] jupyter` and `browser` ask for, which a container's server starts.
fn requested_plugins(settings: &Settings) -> SandboxPlugins {
    SandboxPlugins {
        jupyter: settings.runtime.jupyter,
        browser: settings.runtime.browser,
    }
}

/// The Docker runtime's options from the settings, for one conversation whose server starts `plugins`
/// (and whose image, unless `[docker] image` names one, is the variant that holds them).
pub fn docker_options(
    d: &DockerSettings,
    conversation_id: Option<String>,
    plugins: SandboxPlugins,
) -> DockerOptions {
    DockerOptions {
        plugins,
        image: d.image.clone(),
        memory_bytes: d.memory_bytes,
        nano_cpus: d.nano_cpus,
        pids_limit: d.pids_limit,
        env: d.env.clone(),
        mounts: d
            .mounts
            .iter()
            .map(|m| ExtraMount {
                host: m.host.clone(),
                container: m.container.clone(),
                read_only: m.read_only,
            })
            .collect(),
        user: None,
        conversation_id,
        socket: d.socket.clone(),
        build: match d.rootfs.as_deref() {
            Some(_) => ImageSource::DebianRootfs {
                suite: "bookworm".into(),
                mirror: "http://deb.debian.org/debian".into(),
            },
            None => ImageSource::Registry {
                base: d.base.clone(),
            },
        },
    }
}
