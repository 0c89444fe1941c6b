//! A base image without a registry: `debootstrap` a Debian root filesystem into a scratch directory and
//! import it as `openhands-sandbox-base:<suite>`, kept for later builds. Also the scratch directories and
//! the subprocess plumbing (output as progress lines, `tar` streamed into the engine) image builds share.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use bollard::Docker;
use bollard::query_parameters::CreateImageOptions;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::engine::{is_not_found, start_error};
use super::{human_bytes, short_id};
use crate::runtime::RuntimeError;
use crate::runtime::process::random_key;

/// What the sandbox needs beyond minbase: the shell tools, git, Python, `ps`/`kill`, TLS roots.
const INCLUDE: &str = "bash,coreutils,git,python3,util-linux,ca-certificates,procps";
const BASE_REPOSITORY: &str = "openhands-sandbox-base";
/// Lines of a failed command's output quoted in its error.
const TAIL_LINES: usize = 30;

/// The base image for `suite`, built with debootstrap unless it exists (and `force` is off). Returns its
/// tag and id.
pub(super) async fn ensure_base(
    docker: &Docker,
    suite: &str,
    mirror: &str,
    force: bool,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(String, String), RuntimeError> {
    let tag = format!("{BASE_REPOSITORY}:{suite}");
    // The import's comment records how the base was made: a different recipe means a new base.
    let recipe = format!("debootstrap --variant=minbase --include={INCLUDE} {suite} {mirror}");
    match docker.inspect_image(&tag).await {
        Ok(image) if !force && image.comment.as_deref() == Some(recipe.as_str()) => {
            let id = image.id.unwrap_or_default();
            progress(&format!(
                "using the base image {tag} ({}, built earlier with debootstrap)",
                short_id(&id)
            ));
            return Ok((tag, id));
        }
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(start_error(format!("cannot inspect the image {tag}"), &e)),
    }
    let debootstrap = find_debootstrap()?;
    if !nix::unistd::geteuid().is_root() {
        return Err(RuntimeError::Start(
            "building the sandbox base with debootstrap needs root (it creates device files and chroots): \
             run the build once as root, e.g. with sudo"
                .to_owned(),
        ));
    }
    progress(&format!(
        "building the base image {tag} from Debian's packages, no registry needed: {recipe}"
    ));
    let dir = ScratchDir::new("rootfs")?;
    let mut cmd = Command::new(&debootstrap);
    cmd.arg("--variant=minbase")
        .arg(format!("--include={INCLUDE}"))
        .arg(suite)
        .arg(dir.path())
        .arg(mirror);
    run_with_progress(cmd, "debootstrap", progress).await?;

    progress(&format!("importing the root filesystem as {tag}"));
    let (tar, chunks) = tar_stream(dir.path(), false)?;
    let body = bollard::body_try_stream(chunks.map(|c| c.map(Into::into)));
    let options = CreateImageOptions {
        from_src: Some("-".to_owned()),
        repo: Some(BASE_REPOSITORY.to_owned()),
        tag: Some(suite.to_owned()),
        message: Some(recipe),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), Some(body), None);
    let mut imported = Ok(());
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            imported = Err(start_error(
                format!("cannot import the root filesystem as {tag}"),
                &e,
            ));
            break;
        }
    }
    drop(stream);
    finish_tar(tar).await?;
    imported?;
    let image = docker
        .inspect_image(&tag)
        .await
        .map_err(|e| start_error(format!("cannot inspect the imported image {tag}"), &e))?;
    let id = image.id.unwrap_or_default();
    progress(&format!(
        "imported {tag}: {} ({})",
        short_id(&id),
        human_bytes(image.size.unwrap_or(0))
    ));
    Ok((tag, id))
}

fn find_debootstrap() -> Result<PathBuf, RuntimeError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join("debootstrap"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            RuntimeError::Start(
                "`debootstrap` is not installed: install it with `sudo apt-get install debootstrap` to \
                 build the sandbox base from Debian's packages"
                    .to_owned(),
            )
        })
}

/// Runs a command, passing each line it prints (stdout and stderr) to `progress`; a failure quotes its
/// last lines.
pub(super) async fn run_with_progress(
    mut cmd: Command,
    what: &str,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), RuntimeError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| RuntimeError::Start(format!("cannot run {what}: {e}")))?;
    let mut tail = VecDeque::new();
    let status = forward_output(&mut child, progress, &mut tail).await;
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(RuntimeError::Start(format!(
            "{what} failed ({status}); its last output:\n{}",
            Vec::from(tail).join("\n")
        ))),
        Err(e) => Err(RuntimeError::Start(format!("{what} failed: {e}"))),
    }
}

async fn forward_output(
    child: &mut Child,
    progress: &(dyn Fn(&str) + Send + Sync),
    tail: &mut VecDeque<String>,
) -> std::io::Result<ExitStatus> {
    fn lines(
        pipe: Option<impl AsyncRead + Unpin>,
    ) -> Option<tokio::io::Lines<impl AsyncBufReadExt + Unpin>> {
        pipe.map(|p| BufReader::new(p).lines())
    }
    let mut out = lines(child.stdout.take());
    let mut err = lines(child.stderr.take());
    let mut push = |line: String| {
        let line = line.trim_end().to_owned();
        if !line.is_empty() {
            progress(&line);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    };
    while out.is_some() || err.is_some() {
        tokio::select! {
            line = async { out.as_mut()?.next_line().await.ok().flatten() }, if out.is_some() => match line {
                Some(line) => push(line),
                None => out = None,
            },
            line = async { err.as_mut()?.next_line().await.ok().flatten() }, if err.is_some() => match line {
                Some(line) => push(line),
                None => err = None,
            },
        }
    }
    child.wait().await
}

/// `tar -c` of `dir` as a stream of chunks (for `bollard::body_try_stream`); `dereference`: archive what
/// symlinks point to. The child must be passed to [`finish_tar`] once the stream is consumed.
pub(super) fn tar_stream(
    dir: &Path,
    dereference: bool,
) -> Result<
    (
        Child,
        impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    ),
    RuntimeError,
> {
    let mut cmd = Command::new("tar");
    cmd.arg("-C").arg(dir).arg("--numeric-owner").arg("-c");
    if dereference {
        cmd.arg("-h");
    }
    cmd.arg(".")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| RuntimeError::Start(format!("cannot run tar: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| RuntimeError::Start("tar has no stdout".to_owned()))?;
    Ok((child, read_chunks(stdout)))
}

fn read_chunks(
    stdout: ChildStdout,
) -> impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::unfold(Some(stdout), |pipe| async move {
        let mut pipe = pipe?;
        let mut buf = vec![0u8; 256 << 10];
        match pipe.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(pipe)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Waits for `tar` and turns its failure into an error with what it printed.
pub(super) async fn finish_tar(mut tar: Child) -> Result<(), RuntimeError> {
    let mut stderr = String::new();
    if let Some(mut pipe) = tar.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    match tar.wait().await {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(RuntimeError::Start(format!(
            "tar failed ({status}): {}",
            stderr.trim()
        ))),
        Err(e) => Err(RuntimeError::Start(format!("tar failed: {e}"))),
    }
}

/// A directory under `TMPDIR` (else /var/tmp), removed on drop (after unmounting anything
/// debootstrap left mounted in it).
pub(super) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(super) fn new(what: &str) -> Result<Self, RuntimeError> {
        let name = format!(
            "openhands-{what}-{}-{}",
            std::process::id(),
            &random_key()?[..8]
        );
        // A root file system is hundreds of MiB: /var/tmp is on disk where /tmp may be a small tmpfs.
        let base = std::env::var_os("TMPDIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from);
        let path = base.join(name);
        std::fs::create_dir(&path).map_err(|e| {
            RuntimeError::Start(format!(
                "cannot create the directory {}: {e}",
                path.display()
            ))
        })?;
        Ok(Self(path))
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        // Deepest first; a failed debootstrap can leave /proc or /sys mounted inside its target.
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mounts")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
            .filter(|m| Path::new(m).starts_with(&self.0))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mount in mounts {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&mount)
                .status();
        }
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!("cannot remove {}: {e}", self.0.display());
        }
    }
}
