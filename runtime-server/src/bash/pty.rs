//! One interactive bash on a PTY: spawns it, reads its byte stream on a thread, and cuts the stream
//! into segments at each prompt marker.
//!
//! The prompt marker is printed by `PROMPT_COMMAND` with a per-shell random nonce, so program output can
//! never fake a completed command (OpenHands' `###PS1JSON###` can be spoofed by printing it).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use anyhow::Context as _;
use tokio::sync::Notify;

/// Bytes of a segment kept from its start and from its end; the middle of a huge output is dropped
/// (the observation shows at most 30,000 characters anyway), so memory stays bounded.
const HEAD_CAP: usize = 4 * 1024 * 1024;
const TAIL_CAP: usize = 4 * 1024 * 1024;

/// What the prompt reported after a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prompt {
    pub exit_code: i64,
    pub pid: i64,
    pub username: String,
    pub hostname: String,
    pub working_dir: String,
    pub py_interpreter_path: String,
}

/// Output bytes of one segment, bounded: a head, a tail ring, and a count of what was skipped between.
#[derive(Debug, Default)]
pub(crate) struct Output {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    skipped: u64,
}

impl Output {
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD_CAP {
            let take = bytes.len().min(HEAD_CAP - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(TAIL_CAP);
        if over > 0 {
            self.tail.drain(..over);
            self.skipped += over as u64;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty()
    }

    /// The kept bytes, with a visible note where the middle was dropped.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = self.head;
        if self.skipped > 0 {
            out.extend_from_slice(
                format!("\n[... {} bytes of output omitted ...]\n", self.skipped).as_bytes(),
            );
        }
        out.extend(self.tail);
        out
    }

    /// Removes the first occurrence of `echo` within the first bytes (the terminal's echo of what we typed).
    pub fn strip_echo(&mut self, echo: &[u8]) {
        if echo.is_empty() {
            return;
        }
        let window = &self.head[..self.head.len().min(echo.len() + 4096)];
        if let Some(pos) = window.windows(echo.len()).position(|w| w == echo) {
            self.head.drain(pos..pos + echo.len());
        }
    }
}

/// State shared between the reader thread, the exit watcher and the session.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// Bytes since the last prompt (or the last drain), not yet returned.
    pub current: Output,
    /// Segments that ended with a prompt, oldest first.
    pub completed: VecDeque<(Output, Prompt)>,
    /// When bytes last arrived.
    pub last_output: Option<Instant>,
    /// The PTY reached end of file (every slave fd closed).
    pub eof: bool,
    /// The shell exited with this status.
    pub exited: Option<i32>,
    /// Bytes held back because they may be the start of a marker.
    pending: Vec<u8>,
}

pub(crate) struct Shell {
    pub pid: u32,
    writer: File,
    shared: Arc<(Mutex<Stream>, Notify)>,
    child: Arc<Mutex<Child>>,
    _dir: tempfile::TempDir,
    cmd_file: PathBuf,
}

/// The script bash reads at start: our prompt protocol and agent-friendly defaults.
fn init_script(nonce: &str) -> String {
    format!(
        r#"set +o history 2>/dev/null; unset HISTFILE; set +H
export PAGER=cat GIT_PAGER=cat SYSTEMD_PAGER= DEBIAN_FRONTEND=noninteractive PIP_PROGRESS_BAR=off
__oh_user=$(id -un 2>/dev/null || echo "${{USER:-}}")
__oh_prompt() {{
  local __oh_ec=$?
  builtin printf '\036{nonce}\037%s\037%s\037%s\037%s\037%s\037' "$__oh_ec" "${{!:-}}" "$__oh_user" "${{HOSTNAME:-}}" "${{PWD:-}}"
  builtin type -P python 2>/dev/null || builtin type -P python3 2>/dev/null
  builtin printf '\037{nonce}\036'
  PS1=''; PS2=''
}}
readonly -f __oh_prompt
PROMPT_COMMAND=__oh_prompt
readonly PROMPT_COMMAND
"#
    )
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:016x}{:08x}",
        u64::from_le_bytes(bytes),
        (t as u32) ^ std::process::id()
    )
}

impl Shell {
    /// Starts `bash -i` on a new PTY in `cwd`, as `uid` when given (the server must be root for that).
    pub fn spawn(cwd: &Path, uid: Option<u32>) -> anyhow::Result<Self> {
        let nonce = random_nonce();
        let dir = tempfile::Builder::new()
            .prefix("openhands-bash-")
            .tempdir()
            .context("cannot create the shell's private directory")?;
        let init = dir.path().join("init.sh");
        std::fs::write(&init, init_script(&nonce)).context("cannot write the shell init script")?;
        if let Some(uid) = uid {
            chown_for_shell(dir.path(), uid)?;
        }
        let winsize = nix::pty::Winsize {
            ws_row: 1000,
            ws_col: 1000,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&winsize, None).context("cannot open a PTY")?;
        // openpty does not set close-on-exec: without it bash and every command would inherit the master,
        // and the terminal would never hang up when the server dies (leaving the shell and its jobs behind).
        for fd in [&pty.master, &pty.slave] {
            nix::fcntl::fcntl(
                fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .context("cannot mark the PTY close-on-exec")?;
        }
        let slave: OwnedFd = pty.slave;
        let mut cmd = Command::new("setsid");
        cmd.arg("--ctty")
            .arg("bash")
            .arg("--noediting")
            .arg("--rcfile")
            .arg(&init)
            .arg("-i")
            .current_dir(cwd)
            .env_remove("SESSION_API_KEY")
            .env_remove("OPENHANDS_EXIT_WITH_PARENT")
            .env_remove("NO_CHANGE_TIMEOUT_SECONDS")
            .env("TERM", "xterm-256color")
            .env("COLUMNS", "1000")
            .env("LINES", "1000")
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        if let Some(uid) = uid {
            run_as(&mut cmd, uid);
        }
        let child = cmd.spawn().context(
            "cannot start bash through setsid (util-linux): are bash and setsid installed?",
        )?;
        let pid = child.id();
        let master = File::from(pty.master);
        let reader = master.try_clone().context("cannot clone the PTY")?;
        let shared = Arc::new((Mutex::new(Stream::default()), Notify::new()));
        let child = Arc::new(Mutex::new(child));
        spawn_reader(reader, shared.clone(), nonce.clone());
        spawn_exit_watcher(child.clone(), shared.clone());
        let cmd_file = dir.path().join("c");
        Ok(Self {
            pid,
            writer: master,
            shared,
            child,
            _dir: dir,
            cmd_file,
        })
    }

    pub fn stream(&self) -> MutexGuard<'_, Stream> {
        lock(&self.shared.0)
    }

    pub fn notify(&self) -> &Notify {
        &self.shared.1
    }

    /// A handle that can type into the terminal while the session is busy (for `C-c`).
    pub fn keyboard(&self) -> std::io::Result<Keyboard> {
        Ok(Keyboard(Arc::new(Mutex::new(self.writer.try_clone()?))))
    }

    /// Writes raw bytes to the terminal (keystrokes).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)?;
        self.writer.flush()
    }

    /// Delivers `command` literally through a file the shell sources; returns the line the terminal echoes.
    ///
    /// No keystroke escaping is involved (OpenHands' tmux `send-keys` corrupts `\;`, `\|` and key names),
    /// and a multi-line script runs as one command.
    pub fn send_command(&mut self, command: &str) -> std::io::Result<Vec<u8>> {
        std::fs::write(&self.cmd_file, command)?;
        let line = format!(" . '{}'", self.cmd_file.display());
        self.write(format!("{line}\n").as_bytes())?;
        Ok(format!("{line}\r\n").into_bytes())
    }

    /// The path of the sourced command file, which bash names in its error messages.
    pub fn cmd_file(&self) -> &Path {
        &self.cmd_file
    }

    /// Kills the terminal's foreground process group if it is not the shell itself; true if it did.
    pub fn kill_foreground(&self) -> bool {
        let Ok(pgrp) = nix::unistd::tcgetpgrp(&self.writer) else {
            return false;
        };
        if pgrp.as_raw() <= 1 || pgrp.as_raw() as u32 == self.pid {
            return false;
        }
        nix::sys::signal::killpg(pgrp, nix::sys::signal::Signal::SIGKILL).is_ok()
    }

    /// Sends SIGKILL to every process of the shell's session (background jobs included).
    pub fn kill(&self) {
        kill_session(self.pid);
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Types into a shell's terminal without holding the session (a clone of the PTY master).
#[derive(Clone)]
pub(crate) struct Keyboard(Arc<Mutex<File>>);

impl Keyboard {
    pub fn press(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = lock(&self.0);
        f.write_all(bytes)?;
        f.flush()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes `cmd` run as `uid` with that user's group and home (the server must be root).
pub(crate) fn run_as(cmd: &mut Command, uid: u32) {
    use std::os::unix::process::CommandExt as _;
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten();
    let gid = user.as_ref().map_or(uid, |u| u.gid.as_raw());
    cmd.uid(uid).gid(gid);
    if let Some(user) = user {
        cmd.env("HOME", &user.dir)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
}

fn chown_for_shell(dir: &Path, uid: u32) -> anyhow::Result<()> {
    for p in [dir.to_path_buf(), dir.join("init.sh")] {
        std::os::unix::fs::chown(&p, Some(uid), Some(uid))
            .with_context(|| format!("cannot hand {} to uid {uid}", p.display()))?;
    }
    Ok(())
}

/// Kills every process whose session id is `sid` (the shell is its session's leader).
fn kill_session(sid: u32) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state ppid pgrp session ...
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let session = rest
            .split_whitespace()
            .nth(3)
            .and_then(|s| s.parse::<u32>().ok());
        if session == Some(sid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn spawn_exit_watcher(child: Arc<Mutex<Child>>, shared: Arc<(Mutex<Stream>, Notify)>) {
    std::thread::Builder::new()
        .name("bash-exit".into())
        .spawn(move || {
            loop {
                let status = lock(&child).try_wait();
                match status {
                    Ok(Some(status)) => {
                        use std::os::unix::process::ExitStatusExt as _;
                        let code = status
                            .code()
                            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
                        lock(&shared.0).exited = Some(code);
                        shared.1.notify_one();
                        return;
                    }
                    Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                    Err(_) => return,
                }
            }
        })
        .ok();
}

fn spawn_reader(mut reader: File, shared: Arc<(Mutex<Stream>, Notify)>, nonce: String) {
    let start = format!("\x1e{nonce}\x1f").into_bytes();
    let end = format!("\x1f{nonce}\x1e").into_bytes();
    std::thread::Builder::new()
        .name("bash-pty".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        lock(&shared.0).eof = true;
                        shared.1.notify_one();
                        return;
                    }
                    Ok(n) => {
                        let mut stream = lock(&shared.0);
                        stream.last_output = Some(Instant::now());
                        stream.pending.extend_from_slice(&buf[..n]);
                        scan(&mut stream, &start, &end);
                        drop(stream);
                        shared.1.notify_one();
                    }
                }
            }
        })
        .ok();
}

/// Moves pending bytes into segments, cutting at complete markers and holding back a possible partial one.
fn scan(stream: &mut Stream, start: &[u8], end: &[u8]) {
    loop {
        let pending = std::mem::take(&mut stream.pending);
        match find(&pending, start) {
            Some(s) => match find(&pending[s + start.len()..], end) {
                Some(e) => {
                    let fields_end = s + start.len() + e;
                    stream.current.push(&pending[..s]);
                    let prompt = parse_prompt(&pending[s + start.len()..fields_end]);
                    let out = std::mem::take(&mut stream.current);
                    stream.completed.push_back((out, prompt));
                    stream.pending = pending[fields_end + end.len()..].to_vec();
                }
                None => {
                    stream.current.push(&pending[..s]);
                    stream.pending = pending[s..].to_vec();
                    return;
                }
            },
            None => {
                // Keep a tail that could be the beginning of a marker.
                let keep = partial_suffix(&pending, start);
                stream.current.push(&pending[..pending.len() - keep]);
                stream.pending = pending[pending.len() - keep..].to_vec();
                return;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        if hay.len() - at < needle.len() {
            return None;
        }
        from = at + 1;
    }
    None
}

/// The length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(hay.len() + 1))
        .rev()
        .find(|&k| hay.ends_with(&needle[..k]))
        .unwrap_or(0)
}

fn parse_prompt(fields: &[u8]) -> Prompt {
    let text = String::from_utf8_lossy(fields);
    let parts: Vec<&str> = text.split('\x1f').collect();
    let get = |i: usize| {
        parts
            .get(i)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let num = |i: usize| get(i).parse::<i64>().unwrap_or(-1);
    Prompt {
        exit_code: num(0),
        pid: num(1),
        username: get(2),
        hostname: get(3),
        working_dir: get(4),
        py_interpreter_path: get(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: &[&[u8]]) -> Stream {
        let mut s = Stream::default();
        for c in chunks {
            s.pending.extend_from_slice(c);
            scan(&mut s, b"\x1eN\x1f", b"\x1fN\x1e");
        }
        s
    }

    #[test]
    fn markers_split_segments_even_across_reads() {
        let s = stream_of(&[
            b"out\r\n\x1e",
            b"N\x1f0\x1f\x1fme\x1fhost\x1f/w\x1f/usr/bin/python\r\n\x1fN",
            b"\x1emore",
        ]);
        assert_eq!(s.completed.len(), 1);
        let (out, prompt) = &s.completed[0];
        assert_eq!(out.head, b"out\r\n");
        assert_eq!(prompt.exit_code, 0);
        assert_eq!(prompt.pid, -1);
        assert_eq!(prompt.working_dir, "/w");
        assert_eq!(prompt.py_interpreter_path, "/usr/bin/python");
        assert_eq!(s.current.head, b"more");
    }

    #[test]
    fn a_marker_without_the_nonce_is_plain_output() {
        let s = stream_of(&[b"\x1eX\x1f0\x1f\x1fme\x1fh\x1f/\x1f\x1fX\x1e"]);
        assert!(s.completed.is_empty());
    }

    #[test]
    fn huge_output_keeps_head_and_tail() {
        let mut out = Output::default();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..12 {
            out.push(&chunk);
        }
        out.push(b"END");
        let bytes = out.into_bytes();
        assert!(bytes.len() < HEAD_CAP + TAIL_CAP + 100);
        assert!(bytes.ends_with(b"xEND"));
        assert!(String::from_utf8_lossy(&bytes).contains("bytes of output omitted"));
    }

    #[test]
    fn echo_is_stripped_once() {
        let mut out = Output::default();
        out.push(b" . '/t/c'\r\nhi\r\n . '/t/c'\r\n");
        out.strip_echo(b" . '/t/c'\r\n");
        assert_eq!(out.head, b"hi\r\n . '/t/c'\r\n");
    }
}
