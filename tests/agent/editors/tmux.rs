//! A terminal editor in a private tmux server (`tmux -L`), for tests that type keys and read the screen;
//! dropping it kills that server only.

use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (run by `sh -c`) in a 120x30 window of a new tmux server of its own.
    pub fn start(name: &str, command: &str) -> Self {
        Self::start_sized(name, command, 120, 30)
    }

    /// Starts `command` in a `width`x`height` window of a new tmux server of its own.
    pub fn start_sized(name: &str, command: &str, width: u16, height: u16) -> Self {
        let tmux = Self {
            socket: format!("openhands-{name}-{}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&["new-session", "-d", "-s", "ed", "-x", &w, "-y", &h, command]);
        tmux
    }

    /// Whether tmux can be run, for the skip message.
    pub fn available() -> bool {
        Command::new("tmux").arg("-V").output().is_ok()
    }

    /// Runs a tmux command on this server.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "ed"])
    }

    /// The screen with its colours as terminal escape sequences.
    pub fn screen_coloured(&self) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", "ed"])
    }

    /// Sends keys as tmux names them (`Enter`, `Escape`, `Space`, or literal text).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ed"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits up to `seconds` for the screen to satisfy `f`; panics with the screen and `context()` otherwise.
    pub fn wait(
        &self,
        what: &str,
        seconds: u64,
        f: impl Fn(&str) -> bool,
        context: impl Fn() -> String,
    ) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{s}\n{}",
                context()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}
