//! Finds and kills everything the bash sessions started when the server stops, before it exits.
//!
//! Three nets, because each alone misses something: the shells' sessions (the shell is its session's leader,
//! so every job is in it), the process groups of those processes (a job's pipeline), and every process that
//! carries this server's random marker variable in its environment, which catches `setsid` and daemonised
//! children that left the session. Only processes of the server's or the shell's uid are considered. A
//! process that clears its environment (`env -i`) after leaving the session escapes; that is accepted.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use super::pty::lock;

/// The variable every shell (and so every command) inherits. Not `OPENHANDS_*` nor `*_KEY`: those names are
/// reserved for credentials, which must never reach the sandbox.
pub(crate) const MARKER_VAR: &str = "OH_RUNTIME_SESSION";

/// How long the final sweep may take: killing must be done within a second of the signal.
const SWEEP_BUDGET: Duration = Duration::from_millis(800);

#[derive(Debug, Clone)]
pub(crate) struct Reaper(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    marker: String,
    /// Session ids of live shells (each shell is its session's leader, so sid = its pid).
    shells: Mutex<BTreeSet<u32>>,
    /// Set once the server stops: no shell may start after that.
    closed: AtomicBool,
    /// The uids whose processes may be ours: the server's and the shell's.
    uids: Vec<u32>,
}

impl Reaper {
    pub fn new(shell_uid: Option<u32>) -> Self {
        let mut uids = vec![nix::unistd::geteuid().as_raw()];
        uids.extend(shell_uid);
        Self(Arc::new(Inner {
            marker: super::pty::random_nonce(),
            shells: Mutex::new(BTreeSet::new()),
            closed: AtomicBool::new(false),
            uids,
        }))
    }

    /// The marker's value, for the shell's environment.
    pub fn marker(&self) -> &str {
        &self.0.marker
    }

    /// Records a new shell; false (and the caller must kill it) if the server is already stopping.
    pub fn register(&self, sid: u32) -> bool {
        lock(&self.0.shells).insert(sid);
        !self.is_closed()
    }

    pub fn unregister(&self, sid: u32) {
        lock(&self.0.shells).remove(&sid);
    }

    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::SeqCst)
    }

    /// Refuses new shells and kills every process of ours, repeating while any are found (a process may fork
    /// while we sweep). Blocking: /proc is read synchronously. Returns how many processes were signalled.
    pub fn close_and_kill(&self) -> usize {
        self.0.closed.store(true, Ordering::SeqCst);
        let started = Instant::now();
        let mut total = 0;
        loop {
            let found = self.scan();
            if found.is_empty() || started.elapsed() > SWEEP_BUDGET {
                return total;
            }
            total += found.len();
            let own_group = nix::unistd::getpgrp().as_raw();
            let groups: BTreeSet<i32> = found
                .iter()
                .map(|p| p.pgid)
                .filter(|&g| g > 1 && g != own_group)
                .collect();
            for g in groups {
                let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
            }
            for p in &found {
                let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Live (not zombie) processes that belong to a shell's session or carry the marker.
    fn scan(&self) -> Vec<Proc> {
        let shells = lock(&self.0.shells).clone();
        let me = std::process::id() as i32;
        let needle = format!("{MARKER_VAR}={}", self.0.marker);
        let mut found = Vec::new();
        for (pid, entry) in processes() {
            if pid == me
                || !entry
                    .metadata()
                    .is_ok_and(|m| self.0.uids.contains(&m.uid()))
            {
                continue;
            }
            let Some(stat) = read_stat(pid) else {
                continue;
            };
            if stat.zombie {
                continue;
            }
            let ours = shells.contains(&(stat.sid as u32))
                || std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == needle.as_bytes()));
            if ours {
                found.push(Proc {
                    pid,
                    pgid: stat.pgid,
                });
            }
        }
        found
    }
}

struct Proc {
    pid: i32,
    pgid: i32,
}

struct Stat {
    zombie: bool,
    pgid: i32,
    sid: i32,
}

/// The fields of `/proc/<pid>/stat` we need; the command name may hold spaces and parentheses.
fn read_stat(pid: i32) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // state ppid pgrp session ...
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgid = fields.next()?.parse().ok()?;
    let sid = fields.next()?.parse().ok()?;
    Some(Stat {
        zombie: state == "Z" || state == "X",
        pgid,
        sid,
    })
}

/// Every process in /proc, with its directory entry.
fn processes() -> impl Iterator<Item = (i32, std::fs::DirEntry)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flat_map(|entries| entries.flatten())
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            Some((pid, entry))
        })
}

/// Kills every process of session `sid` (a shell being replaced takes its jobs with it).
pub(crate) fn kill_session(sid: u32) {
    for (pid, _) in processes() {
        if read_stat(pid).is_some_and(|s| s.sid as u32 == sid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
