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
pub use preflight::{ImageCheck, check_image};
pub use runtime::DockerRuntime;

/// The tag of the sandbox image of this version of openhands-lsp.
pub fn default_image() -> String {
    format!("openhands-sandbox:{}", env!("CARGO_PKG_VERSION"))
}

/// The tag of the sandbox image with `plugins`: [`default_image`] without any, else a variant
/// (`openhands-sandbox:<version>-jupyter-browser`), so that the small image stays the default.
pub fn plugin_image(plugins: SandboxPlugins) -> String {
    if plugins.is_empty() {
        default_image()
    } else {
        format!("{}-{}", default_image(), plugins.names().join("-"))
    }
}

/// What a sandbox image holds beyond the shell, and what its server is started with: the IPython
/// kernel (Debian's `python3-ipykernel`) and headless Chromium (Debian's `chromium` and fonts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SandboxPlugins {
    pub jupyter: bool,
    pub browser: bool,
}

impl SandboxPlugins {
    pub const ALL: Self = Self {
        jupyter: true,
        browser: true,
    };

    pub fn is_empty(self) -> bool {
        !self.jupyter && !self.browser
    }

    /// `["jupyter", "browser"]`, in that order: the label's value and the tag's suffix.
    pub fn names(self) -> Vec<&'static str> {
        [("jupyter", self.jupyter), ("browser", self.browser)]
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }

    /// Parses `jupyter,browser` (the `--plugins` value and the image label); empty is none.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut plugins = Self::default();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "jupyter" => plugins.jupyter = true,
                "browser" => plugins.browser = true,
                other => {
                    return Err(format!(
                        "unknown sandbox plugin `{other}`: the plugins are jupyter and browser"
                    ));
                }
            }
        }
        Ok(plugins)
    }

    /// Those of `self` that `other` lacks.
    pub fn missing_from(self, other: Self) -> Self {
        Self {
            jupyter: self.jupyter && !other.jupyter,
            browser: self.browser && !other.browser,
        }
    }

    /// Together.
    pub fn union(self, other: Self) -> Self {
        Self {
            jupyter: self.jupyter || other.jupyter,
            browser: self.browser || other.browser,
        }
    }

    /// Debian's packages each plugin needs, installed into the image: the kernel from Debian (no pip),
    /// Chromium with the fonts pages assume (Liberation for Arial/Times/Courier metrics, DejaVu for the rest).
    pub(crate) fn packages(self) -> Vec<&'static str> {
        let mut packages = Vec::new();
        if self.jupyter {
            packages.push("python3-ipykernel");
        }
        if self.browser {
            packages.extend(["chromium", "fonts-liberation", "fonts-dejavu-core"]);
        }
        packages
    }
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
    /// The plugins the container's server starts; the image must have them (its label says).
    pub plugins: SandboxPlugins,
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
            plugins: SandboxPlugins::default(),
        }
    }
}

impl DockerOptions {
    /// The image tag these options run: the one named, else the variant with the plugins asked for.
    pub fn image_tag(&self) -> String {
        self.image
            .clone()
            .unwrap_or_else(|| plugin_image(self.plugins))
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
            base: Self::default_base(),
        }
    }
}

impl ImageSource {
    /// The registry base used unless `[docker] base` names another.
    pub fn default_base() -> String {
        "debian:bookworm-slim".to_owned()
    }

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
    /// The plugins it holds (its label).
    pub plugins: SandboxPlugins,
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
    /// On images: the plugins installed, `jupyter,browser` (empty or absent: none).
    pub const PLUGINS: &str = "openhands-lsp.plugins";
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

    #[test]
    fn plugins_name_their_image_and_packages() {
        let v = env!("CARGO_PKG_VERSION");
        assert_eq!(
            plugin_image(SandboxPlugins::default()),
            format!("openhands-sandbox:{v}")
        );
        assert_eq!(
            plugin_image(SandboxPlugins::ALL),
            format!("openhands-sandbox:{v}-jupyter-browser")
        );
        assert_eq!(
            SandboxPlugins::parse("browser, jupyter"),
            Ok(SandboxPlugins::ALL)
        );
        assert_eq!(SandboxPlugins::parse(""), Ok(SandboxPlugins::default()));
        assert!(
            SandboxPlugins::parse("vscode")
                .unwrap_err()
                .contains("jupyter and browser")
        );
        let jupyter = SandboxPlugins {
            jupyter: true,
            browser: false,
        };
        assert_eq!(
            SandboxPlugins::ALL.missing_from(jupyter).names(),
            ["browser"]
        );
        assert_eq!(
            SandboxPlugins::ALL.packages(),
            [
                "python3-ipykernel",
                "chromium",
                "fonts-liberation",
                "fonts-dejavu-core"
            ]
        );
        let o = DockerOptions {
            plugins: jupyter,
            ..DockerOptions::default()
        };
        assert_eq!(o.image_tag(), format!("openhands-sandbox:{v}-jupyter"));
    }
}
