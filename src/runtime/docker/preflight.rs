//! What `DockerRuntime::start` checks before it starts a container: the workspace and mount paths (before
//! the engine is asked, so that a typo is not reported as a Docker problem), and the image.

use std::path::{Path, PathBuf};

use bollard::Docker;

use super::container::Spec;
use super::engine::{is_not_found, start_error};
use super::{DockerOptions, build_sandbox_image};
use crate::runtime::{RuntimeError, find_runtime_binary};

/// The canonical workspace directory, once it and every extra mount source exist.
pub(super) fn check_paths(workspace: &Path, opts: &DockerOptions) -> Result<PathBuf, RuntimeError> {
    let workspace = existing_dir(workspace, "the workspace")?;
    for m in &opts.mounts {
        if !m.host.exists() {
            return Err(RuntimeError::Start(format!(
                "the mount source {} does not exist",
                m.host.display()
            )));
        }
        if !m.container.starts_with('/') {
            return Err(RuntimeError::Start(format!(
                "the mount target {} is not an absolute path",
                m.container
            )));
        }
    }
    Ok(workspace)
}

/// Builds the image if the engine does not have it. The default image is also checked against the
/// runtime binary here and rebuilt if that changed; a check that fails leaves an existing image in use.
/// An image named in the options is used as it is.
pub(super) async fn ensure_image(
    docker: &Docker,
    spec: &Spec,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), RuntimeError> {
    let exists = match docker.inspect_image(&spec.image).await {
        Ok(_) => true,
        Err(e) if is_not_found(&e) => false,
        Err(e) => {
            let context = format!("cannot inspect the image {}", spec.image);
            return Err(start_error(context, &e));
        }
    };
    if exists && spec.opts.image.is_some() {
        return Ok(());
    }
    if !exists {
        progress(&format!(
            "the sandbox image {} is missing; building it",
            spec.image
        ));
    }
    let built = match find_runtime_binary(None) {
        Ok(binary) => build_sandbox_image(&spec.opts, &binary, false, progress).await,
        Err(e) => Err(e),
    };
    match built {
        Ok(_) => Ok(()),
        Err(e) if exists => {
            progress(&format!(
                "cannot check whether {} is up to date ({e}); using it as it is",
                spec.image
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn existing_dir(path: &Path, what: &str) -> Result<PathBuf, RuntimeError> {
    match std::fs::canonicalize(path) {
        Ok(p) if p.is_dir() => Ok(p),
        Ok(p) => Err(RuntimeError::Start(format!(
            "{what} {} is not a directory",
            p.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(RuntimeError::Start(format!(
            "{what} {} does not exist",
            path.display()
        ))),
        Err(e) => Err(RuntimeError::Start(format!(
            "{what} {}: {e}",
            path.display()
        ))),
    }
}
