//! Telling that a killed command hit the memory limit. The engine's `OOMKilled` flag only covers the
//! container's main process, so the kernel's own count of OOM kills in the container's memory cgroup is
//! read on the host (cgroup v1 `memory.oom_control`, v2 `memory.events`), with the flag as a fallback.

use std::sync::atomic::{AtomicU64, Ordering};

use bollard::models::ContainerInspectResponse;

/// OOM kills seen so far in one container.
#[derive(Default)]
pub(super) struct OomWatch {
    seen: AtomicU64,
}

impl OomWatch {
    /// Whether the kernel killed a process of the container for memory since the last call (or since
    /// the container started).
    pub(super) fn new_kill(&self, info: &ContainerInspectResponse) -> bool {
        let state = info.state.as_ref();
        match state.and_then(|s| s.pid).and_then(oom_kills) {
            Some(count) => self.seen.fetch_max(count, Ordering::SeqCst) < count,
            None => state.and_then(|s| s.oom_killed) == Some(true),
        }
    }

    /// A new container starts with no kills.
    pub(super) fn reset(&self) {
        self.seen.store(0, Ordering::SeqCst);
    }
}

/// The `oom_kill` count of the memory cgroup of host process `pid`; `None` if it cannot be read here
/// (another pid namespace, no cgroup file system, a kernel without the counter).
fn oom_kills(pid: i64) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let file = if controllers.split(',').any(|c| c == "memory") {
            format!("/sys/fs/cgroup/memory{path}/memory.oom_control")
        } else if controllers.is_empty() {
            format!("/sys/fs/cgroup{path}/memory.events")
        } else {
            return None;
        };
        let text = std::fs::read_to_string(file).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_pid_means_unknown() {
        assert_eq!(oom_kills(0), None);
        assert_eq!(oom_kills(-1), None);
    }
}
