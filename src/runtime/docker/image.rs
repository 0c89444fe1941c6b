//! The sandbox image: a base (pulled, or debootstrapped here) plus the host's `openhands-runtime` as the
//! entry point, built through the engine's build API. A hash of the inputs in a label makes a rebuild
//! happen only when the binary, the Dockerfile (its package list included) or the base changed; another
//! label says which plugins (IPython kernel, Chromium) the image holds.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, CreateImageOptions, RemoveImageOptions};
use futures_util::StreamExt;

use super::engine::{
    UPLOAD_TIMEOUT, connect, engine_message, is_not_found, socket_path, start_error,
};
use super::rootfs::{ScratchDir, ensure_base, finish_tar, tar_stream};
use super::{DockerOptions, ImageInfo, ImageSource, SandboxPlugins, human_bytes, labels, short_id};
use crate::runtime::RuntimeError;

const RUNTIME_IN_IMAGE: &str = "/usr/local/bin/openhands-runtime";

/// Builds the sandbox image `opts.image_tag()` unless one with the same inputs exists (or `force`).
/// `force` also rebuilds a debootstrapped base and pulls a registry base again.
pub async fn build_sandbox_image(
    opts: &DockerOptions,
    runtime_binary: &Path,
    force: bool,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<ImageInfo, RuntimeError> {
    let started = Instant::now();
    let docker = connect(&socket_path(opts.socket.as_deref())?)
        .await?
        .with_timeout(UPLOAD_TIMEOUT);
    let tag = opts.image_tag();
    let binary_hash = hash_file(runtime_binary).await?;
    let (base, base_id, install) = match &opts.build {
        ImageSource::Registry { base } => {
            let id = ensure_pulled(&docker, base, force, progress).await?;
            (base.clone(), id, true)
        }
        ImageSource::DebianRootfs { suite, mirror } => {
            let (base, id) = ensure_base(&docker, suite, mirror, force, progress).await?;
            (base, id, false)
        }
    };
    let plugins = opts.plugins;
    let dockerfile = dockerfile(&base, install, plugins);
    let inputs = InputsHash::default()
        .update(&binary_hash)
        .update(dockerfile.as_bytes())
        .update(base_id.as_bytes())
        .hex();

    let previous = match docker.inspect_image(&tag).await {
        Ok(image) if !force && image_label(&image, labels::INPUTS) == Some(inputs.as_str()) => {
            let info = ImageInfo {
                tag: tag.clone(),
                id: image.id.unwrap_or_default(),
                size_bytes: image.size.unwrap_or(0),
                plugins,
                reused: true,
                build_time: started.elapsed(),
            };
            progress(&format!(
                "using {tag} ({}, {}): its inputs are unchanged",
                short_id(&info.id),
                human_bytes(info.size_bytes)
            ));
            return Ok(info);
        }
        Ok(image) => {
            if !force {
                progress(&format!("{tag} is out of date; rebuilding it"));
            }
            image.id
        }
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(start_error(format!("cannot inspect the image {tag}"), &e)),
    };

    progress(&format!(
        "building {tag} from {base} with {}{}",
        runtime_binary.display(),
        if plugins.is_empty() {
            String::new()
        } else {
            format!(" and {}", plugins.packages().join(" "))
        }
    ));
    let context = ScratchDir::new("context")?;
    std::fs::write(context.path().join("Dockerfile"), &dockerfile)
        .and_then(|()| {
            std::os::unix::fs::symlink(runtime_binary, context.path().join("openhands-runtime"))
        })
        .map_err(|e| RuntimeError::Start(format!("cannot prepare the build context: {e}")))?;
    let (tar, chunks) = tar_stream(context.path(), true)?;
    let options = BuildImageOptions {
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        labels: Some(HashMap::from([
            (labels::INPUTS.to_owned(), inputs),
            (labels::PLUGINS.to_owned(), plugins.names().join(",")),
            (
                "openhands-lsp.version".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
            ),
        ])),
        ..Default::default()
    };
    let body = bollard::body_try_stream(chunks.map(|c| c.map(Into::into)));
    let mut stream = docker.build_image(options, None, Some(body));
    let mut built = Ok(());
    while let Some(item) = stream.next().await {
        let failure = match item {
            Ok(info) => {
                for line in info
                    .stream
                    .iter()
                    .chain(&info.status)
                    .flat_map(|s| s.lines())
                {
                    if !line.trim().is_empty() {
                        progress(line.trim_end());
                    }
                }
                info.error
            }
            Err(e) => Some(engine_message(&e)),
        };
        if let Some(error) = failure {
            built = Err(RuntimeError::Start(format!(
                "building {tag} failed: {}",
                error.trim()
            )));
            break;
        }
    }
    drop(stream);
    finish_tar(tar).await?;
    built?;

    let image = docker
        .inspect_image(&tag)
        .await
        .map_err(|e| start_error(format!("cannot inspect the image {tag} just built"), &e))?;
    let info = ImageInfo {
        tag,
        id: image.id.unwrap_or_default(),
        size_bytes: image.size.unwrap_or(0),
        plugins,
        reused: false,
        build_time: started.elapsed(),
    };
    if let Some(old) = previous.filter(|old| *old != info.id) {
        remove_if_untagged(&docker, &old).await;
    }
    progress(&format!(
        "built {}: {} ({}) in {:.1} s",
        info.tag,
        short_id(&info.id),
        human_bytes(info.size_bytes),
        info.build_time.as_secs_f64()
    ));
    Ok(info)
}

/// Removes an image the tag named before a rebuild if nothing names it now (another tag may share the
/// same content); the engine keeps it while a container uses it.
async fn remove_if_untagged(docker: &Docker, id: &str) {
    let Ok(image) = docker.inspect_image(id).await else {
        return;
    };
    if image.repo_tags.is_some_and(|tags| !tags.is_empty()) {
        return;
    }
    if let Err(e) = docker
        .remove_image(id, None::<RemoveImageOptions>, None)
        .await
    {
        tracing::debug!(
            "keeping the previous image {}: {}",
            short_id(id),
            engine_message(&e)
        );
    }
}

/// The Dockerfile on top of `base`; `install`: the base is a stock image that lacks git, Python and ps.
/// The plugins' packages come from the base's own apt sources (a debootstrapped base has Debian's
/// mirror), in one layer that keeps neither package lists nor the downloaded packages (a debootstrapped
/// base lacks the stock image's apt clean-up hook: without `apt-get clean` they would be 400 MiB more).
fn dockerfile(base: &str, install: bool, plugins: SandboxPlugins) -> String {
    let mut text = format!("FROM {base}\n");
    let mut packages = Vec::new();
    if install {
        packages.extend([
            "bash",
            "coreutils",
            "git",
            "python3",
            "procps",
            "ca-certificates",
        ]);
    }
    packages.extend(plugins.packages());
    if !packages.is_empty() {
        text.push_str(&format!(
            "RUN apt-get update \\\n \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {} \\\n \
             && apt-get clean && rm -rf /var/lib/apt/lists/*\n",
            packages.join(" ")
        ));
    }
    text.push_str(&format!(
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8\n\
         COPY openhands-runtime {RUNTIME_IN_IMAGE}\n\
         ENTRYPOINT [\"{RUNTIME_IN_IMAGE}\"]\n"
    ));
    text
}

/// The id of `base`, pulled unless it is here already (or `force`).
async fn ensure_pulled(
    docker: &Docker,
    base: &str,
    force: bool,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, RuntimeError> {
    if !force && let Ok(image) = docker.inspect_image(base).await {
        return Ok(image.id.unwrap_or_default());
    }
    progress(&format!("pulling {base}"));
    let options = CreateImageOptions {
        from_image: Some(base.to_owned()),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), None, None);
    while let Some(item) = stream.next().await {
        match item {
            // Progress bars repeat many times a second; the status lines between them are enough.
            Ok(info) if info.progress.is_none() => {
                if let Some(status) = info.status {
                    match info.id {
                        Some(id) => progress(&format!("{id}: {status}")),
                        None => progress(&status),
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                return Err(RuntimeError::Start(format!(
                    "cannot pull the base image {base}: {}. Without a registry, build the base from \
                     Debian's packages instead: --rootfs debian (uses debootstrap, needs root)",
                    engine_message(&e)
                )));
            }
        }
    }
    let image = docker
        .inspect_image(base)
        .await
        .map_err(|e| start_error(format!("cannot inspect the pulled image {base}"), &e))?;
    Ok(image.id.unwrap_or_default())
}

/// The plugins an image holds, by its label; an image without the label (built before plugins existed,
/// or by someone else) holds none.
pub(super) fn image_plugins(image: &bollard::models::ImageInspect) -> SandboxPlugins {
    image_label(image, labels::PLUGINS)
        .and_then(|text| SandboxPlugins::parse(text).ok())
        .unwrap_or_default()
}

fn image_label<'a>(image: &'a bollard::models::ImageInspect, key: &str) -> Option<&'a str> {
    image
        .config
        .as_ref()?
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// The hash of a file's bytes (read off the async threads: the binary is tens of MiB).
async fn hash_file(path: &Path) -> Result<Vec<u8>, RuntimeError> {
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut file = std::fs::File::open(&owned)?;
        let mut hash = InputsHash::default();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(hash.hex());
            }
            hash.feed(&buf[..n]);
        }
    })
    .await
    .map_err(|e| RuntimeError::Start(format!("hashing {} failed: {e}", path.display())))?;
    read.map(String::into_bytes).map_err(|e| {
        RuntimeError::Start(format!(
            "cannot read the runtime binary {}: {e}",
            path.display()
        ))
    })
}

/// A stable 128-bit hash (two FNV-1a style lanes over 64-bit words, with a shift that spreads high bits
/// down): it only tells whether an image's inputs changed, which needs no cryptographic strength. Words
/// rather than bytes keep it fast on a debug build's 70 MiB binary.
#[derive(Default)]
struct InputsHash {
    lanes: [u64; 2],
    /// Bytes of an incomplete word, so that any split of the same bytes gives the same hash.
    carry: Vec<u8>,
    started: bool,
}

impl InputsHash {
    const OFFSETS: [u64; 2] = [0xcbf2_9ce4_8422_2325, 0x6c62_272e_07bb_0142];
    const PRIMES: [u64; 2] = [0x0000_0100_0000_01b3, 0x9e37_79b9_7f4a_7c15];

    fn word(&mut self, word: u64) {
        if !self.started {
            self.lanes = Self::OFFSETS;
            self.started = true;
        }
        for (lane, prime) in self.lanes.iter_mut().zip(Self::PRIMES) {
            let h = (*lane ^ word).wrapping_mul(prime);
            *lane = h ^ (h >> 29);
        }
    }

    /// Adds bytes to the stream.
    fn feed(&mut self, mut bytes: &[u8]) {
        if !self.carry.is_empty() {
            let take = (8 - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < 8 {
                return;
            }
            let word = std::mem::take(&mut self.carry);
            self.word(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.word(u64::from_le_bytes(w.try_into().unwrap_or_default()));
        }
        self.carry.extend_from_slice(words.remainder());
    }

    /// Adds one input, framed by its length so that inputs cannot run into each other.
    fn update(mut self, bytes: &[u8]) -> Self {
        self.feed(&(bytes.len() as u64).to_le_bytes());
        self.feed(bytes);
        self
    }

    fn hex(&self) -> String {
        let mut last = Self {
            lanes: self.lanes,
            carry: Vec::new(),
            started: self.started,
        };
        // The tail, padded, and the carry's length so that trailing zero bytes still count.
        let mut tail = [0u8; 8];
        tail[..self.carry.len()].copy_from_slice(&self.carry);
        last.word(u64::from_le_bytes(tail));
        last.word(self.carry.len() as u64);
        format!("{:016x}{:016x}", last.lanes[0], last.lanes[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_stable_and_sees_every_change() {
        let h = |parts: &[&[u8]]| {
            parts
                .iter()
                .fold(InputsHash::default(), |h, p| h.update(p))
                .hex()
        };
        assert_eq!(h(&[b"binary", b"FROM x"]), h(&[b"binary", b"FROM x"]));
        assert_ne!(h(&[b"binary", b"FROM x"]), h(&[b"binary", b"FROM y"]));
        assert_ne!(h(&[b"ab", b"c"]), h(&[b"a", b"bc"]));
        let text = b"hello, a text longer than two words";
        let mut whole = InputsHash::default();
        whole.feed(text);
        for at in [0, 1, 3, 8, 9, 20, text.len()] {
            let mut split = InputsHash::default();
            split.feed(&text[..at]);
            split.feed(&text[at..]);
            assert_eq!(split.hex(), whole.hex(), "split at {at}");
        }
        assert_eq!(whole.hex().len(), 32);
        let mut zero = InputsHash::default();
        zero.feed(b"\0");
        assert_ne!(zero.hex(), InputsHash::default().hex());
    }

    #[test]
    fn dockerfiles() {
        expect_test::expect![[r#"
            FROM openhands-sandbox-base:bookworm
            ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
            COPY openhands-runtime /usr/local/bin/openhands-runtime
            ENTRYPOINT ["/usr/local/bin/openhands-runtime"]
        "#]]
        .assert_eq(&dockerfile(
            "openhands-sandbox-base:bookworm",
            false,
            SandboxPlugins::default(),
        ));
        expect_test::expect![[r#"
            FROM debian:bookworm-slim
            RUN apt-get update \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bash coreutils git python3 procps ca-certificates \
             && apt-get clean && rm -rf /var/lib/apt/lists/*
            ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
            COPY openhands-runtime /usr/local/bin/openhands-runtime
            ENTRYPOINT ["/usr/local/bin/openhands-runtime"]
        "#]]
        .assert_eq(&dockerfile(
            "debian:bookworm-slim",
            true,
            SandboxPlugins::default(),
        ));
        expect_test::expect![[r#"
            FROM openhands-sandbox-base:bookworm
            RUN apt-get update \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-ipykernel chromium fonts-liberation fonts-dejavu-core \
             && apt-get clean && rm -rf /var/lib/apt/lists/*
            ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
            COPY openhands-runtime /usr/local/bin/openhands-runtime
            ENTRYPOINT ["/usr/local/bin/openhands-runtime"]
        "#]]
        .assert_eq(&dockerfile(
            "openhands-sandbox-base:bookworm",
            false,
            SandboxPlugins::ALL,
        ));
    }
}
