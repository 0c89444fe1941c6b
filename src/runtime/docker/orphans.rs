//! Who owns a sandbox container: removing those whose owner died without removing them (killed,
//! crashed), and adopting one to resume its conversation. The owner's pid, its start time (so a reused
//! pid does not count) and the host's name are in the container's labels, and the current owner also in
//! its name (an adopting process renames the container, since labels cannot change).

use std::collections::HashMap;
use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

use bollard::query_parameters::RenameContainerOptions;

use super::container::{Running, Spec, connect_server};
use super::engine::{connect, engine_message, is_not_found, socket_path, start_error};
use super::{labels, short_id};
use crate::runtime::RuntimeError;

const NAME_PREFIX: &str = "openhands-lsp-";

/// The process that owns a container.
pub(super) use crate::storage::ProcessOwner as Owner;

impl Owner {
    /// `openhands-lsp-<pid>-<start>-<suffix>`.
    pub(super) fn container_name(self, suffix: &str) -> String {
        format!("{NAME_PREFIX}{}-{}-{suffix}", self.pid, self.start)
    }

    /// The owner of a container: from its name (kept current by adoption), else its labels.
    pub(super) fn of(name: Option<&str>, labels: &HashMap<String, String>) -> Option<Self> {
        let from_name = name.and_then(|n| {
            let mut parts = n
                .trim_start_matches('/')
                .strip_prefix(NAME_PREFIX)?
                .split('-');
            Some(Self {
                pid: parts.next()?.parse().ok()?,
                start: parts.next()?.parse().ok()?,
            })
        });
        from_name.or_else(|| {
            Some(Self {
                pid: labels.get(labels::OWNER_PID)?.parse().ok()?,
                start: labels
                    .get(labels::OWNER_START)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            })
        })
    }
}

/// This machine's host name: pids only mean something on the host (pid namespace) that labelled them.
pub(super) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Removes the containers of ours (any state) whose owner process no longer runs; returns how many.
pub async fn remove_orphans(socket: Option<&Path>) -> Result<usize, RuntimeError> {
    let docker = connect(&socket_path(socket)?).await?;
    remove_orphans_with(&docker).await
}

pub(super) async fn remove_orphans_with(docker: &Docker) -> Result<usize, RuntimeError> {
    let host = host_name();
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_owned(),
            vec![format!("{}=true", labels::MANAGED)],
        )])),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|e| start_error("cannot list the sandbox containers", &e))?;
    let mut removed = 0;
    for c in containers {
        let (Some(id), Some(container_labels)) = (c.id, c.labels) else {
            continue;
        };
        let labelled_host = container_labels.get(labels::OWNER_HOST).map(String::as_str);
        let name = c.names.as_ref().and_then(|n| n.first()).map(String::as_str);
        let Some(owner) = Owner::of(name, &container_labels) else {
            continue;
        };
        if labelled_host.is_some_and(|h| h != host) || owner.is_alive() {
            continue;
        }
        match force_remove(docker, &id).await {
            Ok(()) => {
                tracing::info!(
                    container = short_id(&id),
                    pid = owner.pid,
                    "removed an orphaned sandbox container"
                );
                removed += 1;
            }
            Err(e) => tracing::warn!(
                "cannot remove the orphaned container {}: {e}",
                short_id(&id)
            ),
        }
    }
    Ok(removed)
}

/// Kills and removes a container with its anonymous volumes; one that is gone already is fine.
pub(super) async fn force_remove(docker: &Docker, id: &str) -> Result<(), String> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        // "removal of container ... is already in progress"
        Err(e) if engine_message(&e).contains("already in progress") => Ok(()),
        Err(e) => Err(engine_message(&e)),
    }
}

impl Spec {
    /// A running container of this conversation on this workspace whose owner is gone (or is us), made
    /// ours; containers of it that no longer answer are removed.
    pub async fn adopt(
        &self,
        docker: &Docker,
        conversation: &str,
    ) -> Result<Option<Running>, RuntimeError> {
        let options = ListContainersOptions {
            filters: Some(HashMap::from([
                (
                    "label".to_owned(),
                    vec![
                        format!("{}=true", labels::MANAGED),
                        format!("{}={conversation}", labels::CONVERSATION),
                    ],
                ),
                ("status".to_owned(), vec!["running".to_owned()]),
            ])),
            ..Default::default()
        };
        let found = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| start_error("cannot list the sandbox containers", &e))?;
        let me = Owner::current();
        let workspace = self.workspace.display().to_string();
        for c in found {
            let (Some(id), Some(l)) = (c.id, c.labels) else {
                continue;
            };
            let name = c
                .names
                .as_ref()
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/'));
            let owner = Owner::of(name, &l);
            let free = owner.is_none_or(|o| o == me || !o.is_alive());
            let here = l.get(labels::OWNER_HOST).is_none_or(|h| *h == host_name());
            let Some(key) = l.get(labels::KEY) else {
                continue;
            };
            if !free || !here || l.get(labels::WORKSPACE) != Some(&workspace) {
                continue;
            }
            match connect_server(docker, &id, key).await {
                Ok(client) => {
                    if owner != Some(me) {
                        let suffix = name.and_then(|n| n.rsplit('-').next()).unwrap_or("adopted");
                        let rename = RenameContainerOptions {
                            name: me.container_name(suffix),
                        };
                        if let Err(e) = docker.rename_container(&id, rename).await {
                            tracing::warn!(
                                "cannot rename the adopted container {}: {}",
                                short_id(&id),
                                engine_message(&e)
                            );
                        }
                    }
                    return Ok(Some(Running { id, client }));
                }
                Err(e) => {
                    tracing::warn!(
                        "removing the unresponsive container {} of conversation {conversation}: {e}",
                        short_id(&id)
                    );
                    let _ = force_remove(docker, &id).await;
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_come_from_names_then_labels() {
        let me = Owner::current();
        assert!(me.is_alive());
        assert_ne!(me.start, 0);
        let name = me.container_name("abcd1234");
        assert_eq!(
            Owner::of(Some(&format!("/{name}")), &HashMap::new()),
            Some(me)
        );
        let labelled = HashMap::from([
            (labels::OWNER_PID.to_owned(), "42".to_owned()),
            (labels::OWNER_START.to_owned(), "7".to_owned()),
        ]);
        assert_eq!(
            Owner::of(Some("/other"), &labelled),
            Some(Owner { pid: 42, start: 7 })
        );
        assert_eq!(Owner::of(None, &HashMap::new()), None);
        // Our pid with another start time is a process that has gone.
        assert!(
            !Owner {
                pid: me.pid,
                start: me.start + 1
            }
            .is_alive()
        );
    }
}
