//! Finds and starts headless Chromium with a fresh profile, wired to us by `--remote-debugging-pipe`, and
//! makes sure it cannot outlive the server.
//!
//! Three safeguards keep Chromium from being orphaned: it runs in its own process group, which
//! [`Chromium::kill`] (and `Drop`) kill as a whole; `PR_SET_PDEATHSIG` kills the browser process if the
//! server dies without cleaning up; and Chromium itself quits when the CDP pipe closes, which happens
//! whenever the server process ends. Its helper processes (zygotes, renderers, crashpad) exit with it.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;

use super::BrowserError;
use super::cdp::Cdp;

/// Executables tried, in order, when no path is configured. Debian's `/usr/bin/chromium` is a launcher
/// script that adds flags (extensions, remote extensions) and Google API keys from `/etc/chromium.d`;
/// the binary behind it is started directly so that only our closed-network flags apply.
const CANDIDATES: &[&str] = &[
    "/usr/lib/chromium/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// The viewport, BrowserGym's default; screenshots have this size.
pub(crate) const VIEWPORT: (u32, u32) = (1280, 720);

/// How long Chromium may take to answer its first CDP call.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Profile directories are `<temp>/openhands-chromium-<server pid>-<random>`.
const PROFILE_PREFIX: &str = "openhands-chromium-";

/// Lines of Chromium's stderr kept to explain a failed start or a crash.
const STDERR_LINES: usize = 30;

/// Flags for a browser on a closed network: nothing phones home, updates, syncs or asks questions.
const FLAGS: &[&str] = &[
    "--headless=new",
    "--remote-debugging-pipe",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-component-extensions-with-background-pages",
    "--metrics-recording-only",
    "--disable-breakpad",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--no-pings",
    "--no-service-autorun",
    "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,DialMediaRouteProvider",
    "--disable-dev-shm-usage",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-hang-monitor",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    // A wheel scroll lands at once, so the observation after `scroll` shows where it went.
    "--disable-smooth-scrolling",
    "--force-color-profile=srgb",
];

/// Resolves the executable: the configured path, else the first candidate that exists.
pub(crate) fn find_executable(configured: Option<&Path>) -> Result<PathBuf, BrowserError> {
    if let Some(path) = configured {
        let resolved = if path.components().count() > 1 {
            Some(path.to_path_buf()).filter(|p| p.is_file())
        } else {
            on_path(&path.to_string_lossy())
        };
        return resolved.ok_or_else(|| BrowserError::NotInstalled {
            looked_for: path.display().to_string(),
        });
    }
    CANDIDATES
        .iter()
        .find_map(|c| {
            if c.starts_with('/') {
                Some(PathBuf::from(c)).filter(|p| p.is_file())
            } else {
                on_path(c)
            }
        })
        .ok_or_else(|| BrowserError::NotInstalled {
            looked_for: CANDIDATES.join(", "),
        })
}

fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A running Chromium: its process (group) and its throwaway profile.
pub(crate) struct Chromium {
    child: tokio::process::Child,
    pid: i32,
    /// Profile, config and cache directories; removed once the process group is dead.
    profile: Option<tempfile::TempDir>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Chromium {
    /// Starts Chromium and waits until it answers on the CDP pipe. `no_sandbox`: without Chromium's own
    /// sandbox whatever the user (a container that cannot give it namespaces is the sandbox instead).
    pub async fn launch(executable: &Path, no_sandbox: bool) -> Result<(Self, Cdp), BrowserError> {
        tokio::task::spawn_blocking(remove_stale_profiles);
        let profile = tempfile::Builder::new()
            .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| BrowserError::Launch(format!("cannot create a profile directory: {e}")))?;
        let (to_browser_read, to_browser_write) = pipe()?;
        let (from_browser_read, from_browser_write) = pipe()?;

        let mut cmd = tokio::process::Command::new(executable);
        cmd.args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ))
            .arg(format!("--window-size={},{}", VIEWPORT.0, VIEWPORT.1));
        // Chromium refuses to start as root with its sandbox on; as any other user the sandbox stays,
        // unless the server was told it runs where Chromium cannot build one (a container whose seccomp
        // profile refuses user namespaces and whose no-new-privileges disarms the setuid helper).
        if no_sandbox || nix::unistd::geteuid().is_root() {
            cmd.arg("--no-sandbox");
        }
        cmd.arg("about:blank")
            // Crash reports and caches land in the throwaway directory, not in the user's home.
            .env("XDG_CONFIG_HOME", profile.path().join("config"))
            .env("XDG_CACHE_HOME", profile.path().join("cache"))
            .env_remove("SESSION_API_KEY")
            .env_remove("OPENHANDS_EXIT_WITH_PARENT")
            .env_remove("GOOGLE_API_KEY")
            .env_remove("GOOGLE_DEFAULT_CLIENT_ID")
            .env_remove("GOOGLE_DEFAULT_CLIENT_SECRET")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        child_setup(
            &mut cmd,
            to_browser_read.as_raw_fd(),
            from_browser_write.as_raw_fd(),
        );
        let mut child = cmd.spawn().map_err(|e| {
            BrowserError::Launch(format!("cannot start {}: {e}", executable.display()))
        })?;
        // The child has its copies; ours of its ends must close so that EOF means "browser gone".
        drop(to_browser_read);
        drop(from_browser_write);
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| BrowserError::Launch("Chromium exited at once".into()))?;

        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(err) = child.stderr.take() {
            let tail = stderr.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(target: "chromium", "{line}");
                    if let Ok(mut t) = tail.lock() {
                        if t.len() == STDERR_LINES {
                            t.pop_front();
                        }
                        t.push_back(line);
                    }
                }
            });
        }
        let mut chromium = Self {
            child,
            pid,
            profile: Some(profile),
            stderr,
        };
        let cdp = Cdp::new(to_browser_write, from_browser_read)
            .map_err(|e| BrowserError::Launch(format!("cannot use the CDP pipe: {e}")))?;
        let first = cdp.call(
            "Browser.getVersion",
            serde_json::json!({}),
            None,
            STARTUP_TIMEOUT,
        );
        tokio::select! {
            answer = first => match answer {
                Ok(v) => tracing::info!(pid, version = %v["product"].as_str().unwrap_or("?"), "Chromium started"),
                Err(e) => {
                    let why = format!("Chromium did not answer on the DevTools pipe ({e}){}", chromium.stderr_tail());
                    chromium.kill().await;
                    return Err(BrowserError::Launch(why));
                }
            },
            status = chromium.child.wait() => {
                let why = format!(
                    "Chromium exited during start-up ({}){}",
                    status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
                    chromium.stderr_tail()
                );
                chromium.kill().await;
                return Err(BrowserError::Launch(why));
            }
        }
        Ok((chromium, cdp))
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether the browser process has ended (crashed or killed).
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines Chromium wrote on stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().map(|t| t.clone()).unwrap_or_default();
        if lines.is_empty() {
            String::new()
        } else {
            format!(
                "; its last output:\n{}",
                lines.into_iter().collect::<Vec<_>>().join("\n")
            )
        }
    }

    /// Kills the whole process group, reaps the browser and removes the profile.
    pub async fn kill(&mut self) {
        kill_group(self.pid);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                pid = self.pid,
                "Chromium did not exit within 5 s of SIGKILL"
            );
        }
        // The helpers die from the same signal but may take a moment: wait, so that a server that
        // exits right after this leaves nothing behind.
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while group_alive(self.pid) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Helpers outside the group (crashpad) may still be writing for a moment.
        if let Some(dir) = self.profile.take() {
            remove_profile(dir).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if self.profile.is_some() {
            kill_group(self.pid);
        }
    }
}

fn kill_group(pid: i32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
}

/// A process's state letter and process group from `/proc/<pid>/stat`; `None` once it is gone.
fn state_and_group(pid: u32) -> Option<(String, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name: state, ppid, pgrp.
    let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
    let state = fields.next()?.to_owned();
    Some((state, fields.nth(1)?.parse().ok()?))
}

/// Whether the process runs (a zombie, which only waits to be reaped, does not).
pub(crate) fn process_alive(pid: i32) -> bool {
    u32::try_from(pid)
        .ok()
        .and_then(state_and_group)
        .is_some_and(|(state, _)| state != "Z")
}

/// Whether any process of the group still runs.
fn group_alive(pgid: i32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(state_and_group)
        .any(|(state, group)| state != "Z" && group == pgid)
}

/// Removes the profiles of servers that died without cleaning up (`kill -9`): their Chromium died with
/// them, so nothing uses the directory any more.
fn remove_stale_profiles() {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let owner = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok());
        let Some(owner) = owner else { continue };
        let mine = entry.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        if mine && !process_alive(owner) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    tracing::info!(path = %entry.path().display(), "removed the profile of a dead server's browser")
                }
                Err(e) => {
                    tracing::debug!(path = %entry.path().display(), "cannot remove a stale profile: {e}")
                }
            }
        }
    }
}

async fn remove_profile(dir: tempfile::TempDir) {
    let path = dir.keep();
    for attempt in 0..10 {
        match tokio::fs::remove_dir_all(&path).await {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if attempt == 9 => {
                tracing::warn!(path = %path.display(), "cannot remove Chromium's profile: {e}");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), BrowserError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| BrowserError::Launch(format!("cannot create a pipe: {e}")))
}

/// Puts the CDP pipe on fds 3 (commands in) and 4 (answers out), where `--remote-debugging-pipe` expects
/// them, and arms the parent-death signal.
///
/// `PR_SET_PDEATHSIG` fires when the thread that forked exits; the browser is started from a tokio worker
/// thread, which lives as long as the runtime, so in practice it fires when the server process dies.
#[allow(unsafe_code)]
fn child_setup(cmd: &mut tokio::process::Command, commands_in: i32, answers_out: i32) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec and only calls async-signal-safe
    // functions (prctl, getppid, fcntl, dup2, _exit) on plain integers; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The server may have died between fork and prctl: then nobody would ever send the signal.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            // Move both ends above 4 first so that dup2 cannot clobber one with the other.
            let a = libc::fcntl(commands_in, libc::F_DUPFD_CLOEXEC, 10);
            let b = libc::fcntl(answers_out, libc::F_DUPFD_CLOEXEC, 10);
            if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
