//! `openhands-lsp sandbox build`: builds the Docker sandbox image.

use std::process::ExitCode;

use super::{SandboxArgs, exit, fail};
use crate::config;
use crate::runtime::docker::{ImageSource, SandboxPlugins, build_sandbox_image, engine_check};
use crate::session::docker_options;

pub(super) async fn build(args: SandboxArgs) -> ExitCode {
    let workspace = std::env::current_dir().unwrap_or_else(|_| "/".into());
    // The model settings do not matter here: read the files for [docker] only.
    let files = match config::load_files(&workspace) {
        Ok(f) => f,
        Err(e) => return fail(exit::USAGE, e),
    };
    let mut docker = match config::docker_settings(&files) {
        Ok(d) => d,
        Err(e) => return fail(exit::USAGE, e),
    };
    if let Some(rootfs) = &args.rootfs {
        if rootfs != "debian" {
            return fail(
                exit::USAGE,
                format!("--rootfs {rootfs} is not supported: use --rootfs debian"),
            );
        }
        docker.rootfs = Some(rootfs.clone());
    }
    if let Some(base) = &args.base {
        docker.base = base.clone();
        docker.rootfs = None;
    }
    if args.image.is_some() {
        docker.image = args.image.clone();
    }
    let plugins = match SandboxPlugins::parse(args.plugins.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(e) => return fail(exit::USAGE, format!("--plugins: {e}")),
    };
    if let Err(e) = engine_check(docker.socket.as_deref()).await {
        return fail(exit::USAGE, e);
    }
    let binary = match crate::runtime::find_runtime_binary(None) {
        Ok(b) => b,
        Err(e) => return fail(exit::USAGE, e),
    };
    let opts = docker_options(&docker, None, plugins);
    match &opts.build {
        ImageSource::DebianRootfs { suite, mirror } => eprintln!(
            "building the base from Debian's packages ({suite} from {mirror}) with debootstrap: no registry is used"
        ),
        ImageSource::Registry { base } => eprintln!("building on {base} from the registry"),
    }
    let progress = |line: &str| eprintln!("  {line}");
    match build_sandbox_image(&opts, &binary, args.force, &progress).await {
        Ok(info) => {
            println!(
                "{} {} {:.1} MiB, plugins: {}{} in {:.1} s",
                info.tag,
                info.id,
                info.size_bytes as f64 / 1048576.0,
                if info.plugins.is_empty() {
                    "none".to_owned()
                } else {
                    info.plugins.names().join(",")
                },
                if info.reused {
                    " (up to date, reused)"
                } else {
                    ""
                },
                info.build_time.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(exit::ERROR, e),
    }
}
