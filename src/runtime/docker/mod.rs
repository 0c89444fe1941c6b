//! The Docker runtime: `openhands-runtime` inside a locked-down container of a locally built sandbox
//! image, reached over a loopback-published port with the same REST protocol as the local runtime.
//! This module tree is the only code that knows Docker (through `bollard`, over the engine's Unix socket).

mod container;
mod engine;
mod image;
mod oom;
mod orphans;
mod preflight;
mod rootfs;
mod runtime;

use std::path::PathBuf;

pub use engine::engine_check;
pub use image::build_sandbox_image;
pub use orphans::remove_orphans;
pub use runtime::DockerRuntime;

/// The tag of the sandbox image of this version of openhands-lsp.
pub fn default_image() -> String {
    format!("openhands-sandbox:{}", env!("CARGO_PKG_VERSION"))
}

/// What the Docker runtime runs and how the container is confined.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// The sandbox image; `None`: [`default_image`]. A missing image is built under this tag.
    pub image: Option<String>,
    /// Memory limit in bytes; swap is disabled (MemorySwap = Memory).
    pub memory_bytes: i64,
    /// CPU limit in billionths of a CPU.
    pub nano_cpus: i64,
    /// Maximum number of processes (and threads) in the container.
    pub pids_limit: i64,
    /// Extra environment variables of the runtime server and its shell.
    pub env: Vec<(String, String)>,
    /// Extra bind mounts besides the workspace.
    pub mounts: Vec<ExtraMount>,
    /// `uid:gid` the container runs as; `None`: ours, so that files written in /workspace are the user's.
    pub user: Option<(u32, u32)>,
    /// Labels the container so that a resumed conversation reconnects to it.
    pub conversation_id: Option<String>,
    /// The engine's Unix socket; `None`: `DOCKER_HOST` (a `unix://` URL) or `/var/run/docker.sock`.
    pub socket: Option<PathBuf>,
    /// How the image is built when it is missing.
    pub build: ImageSource,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            image: None,
            memory_bytes: 4 << 30,
            nano_cpus: 2_000_000_000,
            pids_limit: 1024,
            env: Vec::new(),
            mounts: Vec::new(),
            user: None,
            conversation_id: None,
            socket: None,
            build: ImageSource::default(),
        }
    }
}

impl DockerOptions {
    /// The image tag these options run.
    pub fn image_tag(&self) -> String {
        self.image.clone().unwrap_or_else(default_image)
    }
}

/// A host path mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraMount {
    pub host: PathBuf,
    /// Absolute path inside the container.
    pub container: String,
    pub read_only: bool,
}

/// Where the sandbox image's base comes from. The host's `openhands-runtime` is linked against glibc,
/// so the base must be Debian bookworm (glibc 2.36) or newer, or another distribution at least as recent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Pulled from a registry (`docker pull`); the packages the sandbox needs are installed with apt.
    Registry { base: String },
    /// Built here from Debian's packages with `debootstrap` (needs root), for machines without a registry.
    DebianRootfs { suite: String, mirror: String },
}

impl Default for ImageSource {
    fn default() -> Self {
        Self::Registry {
            base: "debian:bookworm-slim".to_owned(),
        }
    }
}

impl ImageSource {
    /// `--rootfs debian`: Debian bookworm from deb.debian.org.
    pub fn debian_rootfs() -> Self {
        Self::DebianRootfs {
            suite: "bookworm".to_owned(),
            mirror: "http://deb.debian.org/debian".to_owned(),
        }
    }
}

/// The sandbox image after [`build_sandbox_image`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub tag: String,
    pub id: String,
    pub size_bytes: i64,
    /// An image with the same inputs existed and was kept.
    pub reused: bool,
    pub build_time: std::time::Duration,
}

/// Label keys on our images and containers.
mod labels {
    /// On every container we create: what `remove_orphans` and listings select on.
    pub const MANAGED: &str = "openhands-lsp.managed";
    /// The pid of the process that created the container.
    pub const OWNER_PID: &str = "openhands-lsp.owner-pid";
    /// That process' start time (clock ticks after boot), so a reused pid is not taken for the owner.
    pub const OWNER_START: &str = "openhands-lsp.owner-start";
    /// The owner's host name: its pid means nothing in another pid namespace.
    pub const OWNER_HOST: &str = "openhands-lsp.owner-host";
    pub const CONVERSATION: &str = "openhands-lsp.conversation";
    /// The SESSION_API_KEY of the server inside, so that a later process can reconnect.
    pub const KEY: &str = "openhands-lsp.key";
    /// The host directory mounted at /workspace.
    pub const WORKSPACE: &str = "openhands-lsp.workspace";
    /// On images: the hash of what the image was built from.
    pub const INPUTS: &str = "openhands-lsp.inputs";
}

/// `MiB`/`GiB` for messages.
fn human_bytes(bytes: i64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    let b = bytes as f64;
    if b >= 1024.0 * MIB {
        format!("{:.1} GiB", b / (1024.0 * MIB))
    } else {
        format!("{:.0} MiB", b / MIB)
    }
}

/// The first 12 characters of a container or image id, without `sha256:`.
fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_formatting() {
        let o = DockerOptions::default();
        assert_eq!(
            o.image_tag(),
            format!("openhands-sandbox:{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(
            (o.memory_bytes, o.nano_cpus, o.pids_limit),
            (4 << 30, 2_000_000_000, 1024)
        );
        assert_eq!(human_bytes(256 << 20), "256 MiB");
        assert_eq!(human_bytes(4 << 30), "4.0 GiB");
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
    }
}
