//! What `DockerRuntime::start` checks before it starts a container: the workspace and mount paths (before
//! the engine is asked, so that a typo is not reported as a Docker problem), and the image: present, up to
//! date, and holding the plugins the server is to start.

use std::path::{Path, PathBuf};

use bollard::Docker;

use super::container::Spec;
use super::engine::{connect, is_not_found, socket_path, start_error};
use super::image::image_plugins;
use super::{DockerOptions, ImageSource, SandboxPlugins, build_sandbox_image, default_image};
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

/// Builds the image if the engine does not have it, then checks that it holds the plugins asked for (a
/// missing one is an error naming the build command that adds it, before any container starts).
pub(super) async fn ensure_image(
    docker: &Docker,
    spec: &Spec,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), RuntimeError> {
    ensure_built(docker, spec, progress).await?;
    let image = docker
        .inspect_image(&spec.image)
        .await
        .map_err(|e| start_error(format!("cannot inspect the image {}", spec.image), &e))?;
    let has = image_plugins(&image);
    let missing = spec.opts.plugins.missing_from(has);
    if missing.is_empty() {
        return Ok(());
    }
    Err(RuntimeError::Start(lacks_plugins(
        &spec.image,
        &spec.opts,
        has,
        missing,
    )))
}

/// The sandbox image a task with `opts` would run, as `openhands-lsp doctor` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageCheck {
    /// Present, with the plugins asked for (and maybe more).
    Ready {
        tag: String,
        plugins: SandboxPlugins,
    },
    /// Not built yet: the first task builds it (a named image that is missing is built too).
    Missing { tag: String },
    /// Present without a plugin asked for: the sentence a task would fail with.
    Lacks(String),
}

/// Whether the image of `opts` exists and holds `opts.plugins`, without building anything.
pub async fn check_image(opts: &DockerOptions) -> Result<ImageCheck, RuntimeError> {
    let docker = connect(&socket_path(opts.socket.as_deref())?).await?;
    let tag = opts.image_tag();
    let image = match docker.inspect_image(&tag).await {
        Ok(image) => image,
        Err(e) if is_not_found(&e) => return Ok(ImageCheck::Missing { tag }),
        Err(e) => return Err(start_error(format!("cannot inspect the image {tag}"), &e)),
    };
    let has = image_plugins(&image);
    let missing = opts.plugins.missing_from(has);
    Ok(if missing.is_empty() {
        ImageCheck::Ready { tag, plugins: has }
    } else {
        ImageCheck::Lacks(lacks_plugins(&tag, opts, has, missing))
    })
}

/// "the sandbox image X has no browser (...): build one that has it with `openhands-lsp sandbox build ...`".
fn lacks_plugins(
    image: &str,
    opts: &DockerOptions,
    has: SandboxPlugins,
    missing: SandboxPlugins,
) -> String {
    let what = |p: SandboxPlugins| {
        p.names()
            .iter()
            .map(|n| match *n {
                "jupyter" => "IPython kernel (jupyter)",
                _ => "Chromium (browser)",
            })
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut command = "openhands-lsp sandbox build".to_owned();
    match &opts.build {
        ImageSource::DebianRootfs { .. } => command.push_str(" --rootfs debian"),
        ImageSource::Registry { base } if *base != ImageSource::default_base() => {
            command.push_str(&format!(" --base {base}"));
        }
        ImageSource::Registry { .. } => {}
    }
    command.push_str(&format!(
        " --plugins {}",
        has.union(opts.plugins).names().join(",")
    ));
    if opts.image.is_some() {
        command.push_str(&format!(" --image {image}"));
    }
    let holds = if has.is_empty() {
        "no plugins".to_owned()
    } else {
        format!("only {}", has.names().join(","))
    };
    let hint = if opts.image.is_some() && image != default_image() {
        " (or remove `image` from [docker] to use the default variant, built on demand)"
    } else {
        ""
    };
    format!(
        "the sandbox image {image} has no {} ({holds}), which [runtime] asks for: build one that has it \
         with `{command}`{hint}, or turn it off in [runtime]",
        what(missing)
    )
}

/// Builds the image if the engine does not have it. The default image is also checked against the
/// runtime binary here and rebuilt if that changed; a check that fails leaves an existing image in use.
/// An image named in the options is used as it is.
async fn ensure_built(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_plugin_names_the_build_command_that_adds_it() {
        let browser = SandboxPlugins {
            jupyter: false,
            browser: true,
        };
        let jupyter = SandboxPlugins {
            jupyter: true,
            browser: false,
        };
        let opts = DockerOptions {
            image: Some("mine:1".to_owned()),
            build: ImageSource::debian_rootfs(),
            plugins: SandboxPlugins::ALL,
            ..DockerOptions::default()
        };
        expect_test::expect![[r#"
            the sandbox image mine:1 has no Chromium (browser) (only jupyter), which [runtime] asks for: build one that has it with `openhands-lsp sandbox build --rootfs debian --plugins jupyter,browser --image mine:1` (or remove `image` from [docker] to use the default variant, built on demand), or turn it off in [runtime]"#]]
        .assert_eq(&lacks_plugins("mine:1", &opts, jupyter, browser));
        let opts = DockerOptions {
            plugins: browser,
            ..DockerOptions::default()
        };
        expect_test::expect![[r#"
            the sandbox image openhands-sandbox:x has no Chromium (browser) (no plugins), which [runtime] asks for: build one that has it with `openhands-lsp sandbox build --plugins browser`, or turn it off in [runtime]"#]]
        .assert_eq(&lacks_plugins(
            "openhands-sandbox:x",
            &opts,
            SandboxPlugins::default(),
            browser,
        ));
    }
}
