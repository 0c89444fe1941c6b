//! Reaching the Docker Engine: which socket, an API version both sides speak, and errors that say what
//! to do when the engine is not there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{ClientVersion, Docker};

use crate::runtime::RuntimeError;

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Per request, until the response headers arrive.
const REQUEST_TIMEOUT_SECS: u64 = 120;
/// For image imports and builds, which upload hundreds of MiB first.
pub(super) const UPLOAD_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the first request (the version handshake) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Engines older than bollard's API version say so and name the version they speak.
const TOO_NEW: &str = "Maximum supported API version is ";

/// The socket named by the options, else `DOCKER_HOST` (`unix://` only), else the default.
pub(super) fn socket_path(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => match host.strip_prefix("unix://") {
            Some(path) => Ok(PathBuf::from(path)),
            None => Err(RuntimeError::Start(format!(
                "DOCKER_HOST={host} is not supported: the Docker runtime speaks to the engine over a \
                 Unix socket only (unix:///path)"
            ))),
        },
        _ => Ok(PathBuf::from(DEFAULT_SOCKET)),
    }
}

/// A client of the engine at `socket` that has agreed on an API version with it.
pub(super) async fn connect(socket: &Path) -> Result<Docker, RuntimeError> {
    let unreachable = |e: &dyn std::fmt::Display| engine_down(socket, e);
    let path = socket
        .to_str()
        .ok_or_else(|| unreachable(&"the path is not UTF-8"))?;
    let docker =
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(|e| unreachable(&engine_message(&e)))?;
    match handshake(docker.clone()).await {
        Ok(docker) => Ok(docker),
        // An older engine (20.10 speaks 1.41) refuses bollard's version and names its own: use that.
        Err(message) if message.contains(TOO_NEW) => {
            let version = parse_version(&message).ok_or_else(|| unreachable(&message))?;
            let docker = Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, &version)
                .map_err(|e| unreachable(&engine_message(&e)))?;
            handshake(docker).await.map_err(|e| unreachable(&e))
        }
        Err(message) => Err(unreachable(&message)),
    }
}

async fn handshake(docker: Docker) -> Result<Docker, String> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, docker.negotiate_version()).await {
        Ok(Ok(docker)) => Ok(docker),
        Ok(Err(e)) => Err(engine_message(&e)),
        Err(_) => Err(format!(
            "no answer within {} s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
    }
}

fn parse_version(message: &str) -> Option<ClientVersion> {
    let rest = &message[message.find(TOO_NEW)? + TOO_NEW.len()..];
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (major, minor) = version.trim_end_matches('.').split_once('.')?;
    Some(ClientVersion {
        major_version: major.parse().ok()?,
        minor_version: minor.parse().ok()?,
    })
}

/// Checks that the engine answers, with an error that says how to start it.
pub async fn engine_check(socket: Option<&Path>) -> Result<(), RuntimeError> {
    connect(&socket_path(socket)?).await.map(drop)
}

fn engine_down(socket: &Path, e: &dyn std::fmt::Display) -> RuntimeError {
    let e = e.to_string();
    let hint = if e.to_lowercase().contains("permission denied") {
        " (run as root or add your user to the `docker` group)"
    } else {
        ""
    };
    RuntimeError::Start(format!(
        "cannot reach the Docker Engine at {}: {e}{hint}. Start it with `sudo systemctl start docker` \
         (or `sudo dockerd &`), or choose --runtime local",
        socket.display()
    ))
}

/// The engine's own message for its errors, bollard's description otherwise.
pub(super) fn engine_message(e: &bollard::errors::Error) -> String {
    use bollard::errors::Error;
    match e {
        Error::DockerResponseServerError { message, .. } => message.trim().to_owned(),
        Error::DockerStreamError { error } => error.trim().to_owned(),
        Error::SocketNotFoundError(path) => format!("{path} does not exist"),
        other => other.to_string(),
    }
}

/// `context: message` as a start error.
pub(super) fn start_error(
    context: impl std::fmt::Display,
    e: &bollard::errors::Error,
) -> RuntimeError {
    RuntimeError::Start(format!("{context}: {}", engine_message(e)))
}

/// The engine answered 404 (no such container or image).
pub(super) fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_engines_refusal() {
        let v =
            parse_version("client version 1.49 is too new. Maximum supported API version is 1.41")
                .unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(parse_version("something else").is_none());
    }

    #[test]
    fn the_down_message_says_how_to_start_the_engine() {
        let e = engine_down(Path::new("/x.sock"), &"/x.sock does not exist");
        assert_eq!(
            e.to_string(),
            "cannot start the runtime: cannot reach the Docker Engine at /x.sock: /x.sock does not exist. \
             Start it with `sudo systemctl start docker` (or `sudo dockerd &`), or choose --runtime local"
        );
    }
}
