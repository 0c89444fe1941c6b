//! Which process owns something on disk or in Docker: a pid with its start time, so that a dead owner is
//! told apart from a live one even after its pid was reused.

use serde::{Deserialize, Serialize};

/// A process, identified across pid reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessOwner {
    pub pid: u32,
    /// Clock ticks after boot when it started (0: unknown).
    pub start: u64,
}

impl ProcessOwner {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: process_start(pid).unwrap_or(0),
        }
    }

    /// The process still runs (and is the same process, when the start time is known).
    pub fn is_alive(self) -> bool {
        match process_start(self.pid) {
            Some(start) => self.start == 0 || start == self.start,
            None => false,
        }
    }
}

/// Field 22 of `/proc/<pid>/stat`; `None` if there is no such process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // A zombie (state Z) has ended; only its parent has not reaped it yet.
    if rest.split_whitespace().next() == Some("Z") {
        return None;
    }
    Some(rest.split_whitespace().nth(19)?.parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = ProcessOwner::current();
        assert!(me.start > 0);
        assert!(me.is_alive());
        let other = ProcessOwner {
            start: me.start + 1,
            ..me
        };
        assert!(!other.is_alive());
    }

    #[test]
    fn an_exited_process_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let owner = ProcessOwner {
            pid: child.id(),
            start: 0,
        };
        child.wait().unwrap();
        assert!(!owner.is_alive());
    }
}
