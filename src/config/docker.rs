//! The `[docker]` section: how the Docker sandbox is built and limited (image, memory, CPUs, processes,
//! environment, mounts), with sizes and mounts parsed and checked.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, section};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocker {
    image: Option<String>,
    memory: Option<String>,
    cpus: Option<f64>,
    pids: Option<i64>,
    env: Option<std::collections::BTreeMap<String, String>>,
    mounts: Option<Vec<String>>,
    base: Option<String>,
    rootfs: Option<String>,
    fallback_to_local: Option<bool>,
    socket: Option<PathBuf>,
}

/// A host directory mounted into the sandbox container.
#[derive(Debug, Clone, PartialEq)]
pub struct MountSpec {
    pub host: PathBuf,
    pub container: String,
    pub read_only: bool,
}

/// How the Docker sandbox is built and limited.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerSettings {
    /// `None`: `openhands-sandbox:<version>`.
    pub image: Option<String>,
    pub memory_bytes: i64,
    pub nano_cpus: i64,
    pub pids_limit: i64,
    pub env: Vec<(String, String)>,
    pub mounts: Vec<MountSpec>,
    /// The registry base image when the sandbox image must be built.
    pub base: String,
    /// `Some("debian")`: build the base from Debian's packages instead of pulling it.
    pub rootfs: Option<String>,
    /// Use the local runtime when the Docker Engine is not reachable (off: that is an error).
    pub fallback_to_local: bool,
    pub socket: Option<PathBuf>,
}

impl Default for DockerSettings {
    fn default() -> Self {
        Self {
            image: None,
            memory_bytes: 4 << 30,
            nano_cpus: 2_000_000_000,
            pids_limit: 1024,
            env: Vec::new(),
            mounts: Vec::new(),
            base: "debian:bookworm-slim".to_owned(),
            rootfs: None,
            fallback_to_local: false,
            socket: None,
        }
    }
}

/// `512m`, `4g`, `1048576` (bytes) into bytes.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, mult) = match t.strip_suffix(['k', 'm', 'g']) {
        Some(d) => (
            d.trim_end_matches('i').trim(),
            match t.chars().last() {
                Some('k') => 1i64 << 10,
                Some('m') => 1 << 20,
                _ => 1 << 30,
            },
        ),
        None => (t.trim_end_matches('b'), 1),
    };
    let n: f64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size: use e.g. 512m, 4g or a number of bytes"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("`{text}` must be a positive size"));
    }
    Ok((n * mult as f64) as i64)
}

pub(super) fn parse_mount(text: &str) -> Result<MountSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = || format!("mount `{text}` must be HOST:CONTAINER or HOST:CONTAINER:ro");
    let (host, container, read_only) = match parts.as_slice() {
        [h, c] => (*h, *c, false),
        [h, c, "ro"] => (*h, *c, true),
        [h, c, "rw"] => (*h, *c, false),
        _ => return Err(bad()),
    };
    if !host.starts_with('/') || !container.starts_with('/') {
        return Err(format!("mount `{text}`: both paths must be absolute"));
    }
    Ok(MountSpec {
        host: PathBuf::from(host),
        container: container.to_owned(),
        read_only,
    })
}
/// The `[docker]` settings of the config files (user first, workspace second).
pub fn docker_settings(files: &[(PathBuf, toml::Table)]) -> Result<DockerSettings, ConfigError> {
    let mut docker = DockerSettings::default();
    for (path, table) in files {
        let d: RawDocker = section(table, "docker", path)?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.clone(),
            message: format!("[docker]: {message}"),
        };
        if d.image.is_some() {
            docker.image = d.image;
        }
        if let Some(m) = d.memory {
            docker.memory_bytes = parse_size(&m).map_err(invalid)?;
        }
        if let Some(c) = d.cpus {
            if !(c.is_finite() && c > 0.0) {
                return Err(invalid(format!("cpus must be positive, got {c}")));
            }
            docker.nano_cpus = (c * 1e9) as i64;
        }
        if let Some(p) = d.pids {
            if p < 16 {
                return Err(invalid(format!("pids must be at least 16, got {p}")));
            }
            docker.pids_limit = p;
        }
        if let Some(env) = d.env {
            docker.env.extend(env);
        }
        for m in d.mounts.unwrap_or_default() {
            docker.mounts.push(parse_mount(&m).map_err(invalid)?);
        }
        if let Some(b) = d.base {
            docker.base = b;
        }
        if let Some(r) = d.rootfs {
            if r != "debian" {
                return Err(invalid(format!(
                    "rootfs `{r}` is not supported: use \"debian\""
                )));
            }
            docker.rootfs = Some(r);
        }
        if let Some(f) = d.fallback_to_local {
            docker.fallback_to_local = f;
        }
        if d.socket.is_some() {
            docker.socket = d.socket;
        }
    }
    Ok(docker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_mounts_parse_or_explain() {
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("4g"), Ok(4 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert_eq!(
            parse_mount("/data:/mnt/data:ro"),
            Ok(MountSpec {
                host: "/data".into(),
                container: "/mnt/data".into(),
                read_only: true
            })
        );
        assert!(parse_mount("data:/x").unwrap_err().contains("absolute"));
        assert!(parse_mount("/a").is_err());
    }
}
