//! One interactive bash on a PTY: spawns it with our prompt protocol, types into it (commands, input,
//! control keys, the second `C-c` that kills), and hands its byte stream to `stream.rs`.
//!
//! The prompt marker is printed by `PROMPT_COMMAND` with a per-shell random nonce, so program output can
//! never fake a completed command (OpenHands' `###PS1JSON###` can be spoofed by printing it).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::Notify;

use super::reaper::{MARKER_VAR, Reaper, kill_session};
use super::stream::{Stream, spawn_reader};

/// How long the second `C-c` kills foreground jobs before concluding the shell itself runs the command.
const KILL_WINDOW: Duration = Duration::from_secs(1);
/// How long after the first `C-c` a second one waits before it kills.
const INTERRUPT_GRACE: Duration = Duration::from_millis(500);

/// What a `C-c` did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Interrupt {
    /// Typed; the terminal sends SIGINT to the foreground job.
    Sent,
    /// The command had survived an earlier `C-c`: its foreground process group was killed with SIGKILL.
    KilledForeground,
    /// The command had survived an earlier `C-c` and the shell itself runs it (a loop in a shell that
    /// ignores SIGINT): the shell was killed, and is replaced like any shell that died.
    KilledShell,
}

pub(crate) struct Shell {
    pub pid: u32,
    keyboard: Keyboard,
    shared: Arc<(Mutex<Stream>, Notify)>,
    child: Arc<Mutex<Child>>,
    reaper: Reaper,
    _dir: tempfile::TempDir,
    cmd_file: PathBuf,
    /// The line we type to run a command (without its newline).
    cmd_line: String,
}

/// The script bash reads at start: our prompt protocol and agent-friendly defaults.
///
/// The marker names the shell's fds 0-2 that are no longer a terminal (checked before bash reads its next
/// line: after `exec </dev/null` that read ends the shell), and goes to `/dev/tty` when one is not, so a
/// command that redirects the shell's own output (`exec >/dev/null`) still ends. The prompt runs after every
/// command: it uses builtins only, no fork and, in the common case, no redirection (`type -P` prints nothing
/// when it finds nothing).
fn init_script(nonce: &str, dir: &Path) -> String {
    let dir = dir.display().to_string().replace('\'', r"'\''");
    let mark = format!(
        r#"builtin printf '\036{nonce}\037%s\037%s\037%s\037%s\037%s\037%s\037' "$__oh_ec" "${{!:-}}" "$__oh_user" "${{HOSTNAME:-}}" "${{PWD:-}}" "$__oh_d"
    builtin type -P python || builtin type -P python3
    builtin printf '\037{nonce}\036'"#
    );
    format!(
        r#"set +o history 2>/dev/null; unset HISTFILE; set +H
export PAGER=cat GIT_PAGER=cat SYSTEMD_PAGER= DEBIAN_FRONTEND=noninteractive PIP_PROGRESS_BAR=off
__oh_user=$(id -un 2>/dev/null || echo "${{USER:-}}")
# `\j` expanded as a prompt (bash 4.4+) counts jobs without a fork; older bash settles every time.
__oh_jp=
(( BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4) )) && __oh_jp='\j'
readonly __oh_jp
__oh_settle() {{
  # `kill %1` of a stopped job makes bash report the job again before it has seen it die ("Stopped" twice):
  # wait briefly until every job bash believes stopped really is, so its next notice is the true one.
  local __oh_i __oh_p __oh_s __oh_stale
  for __oh_i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    builtin jobs -sp > '{dir}/j' 2>/dev/null || return 0
    [[ -s '{dir}/j' ]] || return 0
    __oh_stale=
    while builtin read -r __oh_p; do
      __oh_s=
      builtin read -r __oh_s 2>/dev/null < "/proc/$__oh_p/stat"
      __oh_s=${{__oh_s##*) }}
      case ${{__oh_s%% *}} in T|t) ;; *) __oh_stale=1 ;; esac
    done < '{dir}/j'
    [[ -n $__oh_stale ]] || return 0
    builtin read -r -t 0.005 __oh_s <> '{dir}/w' 2>/dev/null
  done
  return 0
}}
__oh_prompt() {{
  local __oh_ec=$? __oh_d=
  if [[ -n $__oh_jp ]]; then [[ ${{__oh_jp@P}} == 0 ]] || __oh_settle; else __oh_settle; fi
  [[ -t 0 && -t 1 && -t 2 ]] || {{
    [[ -t 0 ]] || __oh_d+=0; [[ -t 1 ]] || __oh_d+=1; [[ -t 2 ]] || __oh_d+=2
  }}
  if [[ -z $__oh_d ]]; then
    {mark}
  else
    {{
    {mark}
    }} > /dev/tty
  fi
  PS1=''; PS2=''
}}
readonly -f __oh_prompt __oh_settle
PROMPT_COMMAND=__oh_prompt
readonly PROMPT_COMMAND
"#
    )
}

pub(crate) fn random_nonce() -> String {
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
    pub fn spawn(cwd: &Path, uid: Option<u32>, reaper: &Reaper) -> anyhow::Result<Self> {
        anyhow::ensure!(!reaper.is_closed(), "the server is shutting down");
        let nonce = random_nonce();
        let dir = tempfile::Builder::new()
            .prefix("openhands-bash-")
            .tempdir()
            .context("cannot create the shell's private directory")?;
        let init = dir.path().join("init.sh");
        // A FIFO nobody writes to: `read -t` on it is a sleep that needs no child process.
        nix::unistd::mkfifo(
            &dir.path().join("w"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .context("cannot create the shell's FIFO")?;
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
        std::fs::write(&init, init_script(&nonce, dir.path()))
            .context("cannot write the shell init script")?;
        if let Some(uid) = uid {
            chown_for_shell(dir.path(), uid)?;
        }
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
            .env(MARKER_VAR, reaper.marker())
            .env("TERM", "xterm-256color")
            .env("COLUMNS", "1000")
            .env("LINES", "1000")
            .stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        if let Some(uid) = uid {
            run_as(&mut cmd, uid);
        }
        let mut child = cmd.spawn().context(
            "cannot start bash through setsid (util-linux): are bash and setsid installed?",
        )?;
        let pid = child.id();
        if !reaper.register(pid) {
            let _ = child.kill();
            reaper.unregister(pid);
            anyhow::bail!("the server is shutting down");
        }
        let master = File::from(pty.master);
        let reader = master.try_clone().context("cannot clone the PTY")?;
        let shared = Arc::new((Mutex::new(Stream::new(&nonce)), Notify::new()));
        let child = Arc::new(Mutex::new(child));
        spawn_reader(reader, shared.clone());
        spawn_exit_watcher(child.clone(), shared.clone());
        let cmd_file = dir.path().join("c");
        Ok(Self {
            pid,
            keyboard: Keyboard {
                file: Arc::new(Mutex::new(master)),
                shared: shared.clone(),
                shell_pid: pid,
            },
            shared,
            child,
            reaper: reaper.clone(),
            cmd_line: format!(" . '{}'", cmd_file.display()),
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
    pub fn keyboard(&self) -> Keyboard {
        self.keyboard.clone()
    }

    /// Writes raw bytes to the terminal (keystrokes).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.keyboard.press(bytes)
    }

    /// Types `text` and Enter into the running program; its echo is removed only if the terminal echoes.
    pub fn send_input(&mut self, text: &str) -> std::io::Result<()> {
        self.keyboard.type_line(text, false)
    }

    /// Delivers `command` literally through a file the shell sources.
    ///
    /// No keystroke escaping is involved (OpenHands' tmux `send-keys` corrupts `\;`, `\|` and key names),
    /// and a multi-line script runs as one command.
    pub fn send_command(&mut self, command: &str) -> std::io::Result<()> {
        std::fs::write(&self.cmd_file, command)?;
        self.keyboard.type_line(&self.cmd_line, true)
    }

    /// The path of the sourced command file, which bash names in its error messages.
    pub fn cmd_file(&self) -> &Path {
        &self.cmd_file
    }

    /// The line typed to run a command, which the agent must never see.
    pub fn cmd_line(&self) -> &str {
        &self.cmd_line
    }

    /// Sends SIGKILL to every process of the shell's session (background jobs included).
    pub fn kill(&self) {
        kill_session(self.pid);
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
        }
        self.reaper.unregister(self.pid);
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Types into a shell's terminal without holding the session (a clone of the PTY master).
#[derive(Clone)]
pub(crate) struct Keyboard {
    file: Arc<Mutex<File>>,
    shared: Arc<(Mutex<Stream>, Notify)>,
    shell_pid: u32,
}

impl Keyboard {
    pub fn press(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = lock(&self.file);
        f.write_all(bytes)?;
        f.flush()
    }

    /// Types a line, telling the reader to remove its echo if the terminal echoes input right now (a program
    /// reading a password turns echo off: then nothing of the output may be taken for an echo).
    fn type_line(&self, line: &str, internal: bool) -> std::io::Result<()> {
        let mut f = lock(&self.file);
        let echoes = nix::sys::termios::tcgetattr(&*f).map_or(true, |t| {
            t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO)
        });
        if echoes {
            lock(&self.shared.0).expect_echo(format!("{line}\r\n").into_bytes(), internal);
        }
        f.write_all(format!("{line}\n").as_bytes())?;
        f.flush()
    }

    /// Types `C-c`. If the running command already survived one (no prompt since), ends it, whichever request
    /// path the two `C-c`s came through: kills the terminal's foreground process group until the prompt
    /// comes back (a script's next command takes the terminal after the killed one), and the shell itself if
    /// it has not within a second (the shell runs the command and ignores SIGINT).
    pub async fn interrupt(&self) -> std::io::Result<Interrupt> {
        let first = {
            let mut s = lock(&self.shared.0);
            s.interrupts += 1;
            if s.interrupts == 1 {
                s.first_interrupt = Some(Instant::now());
            }
            s.first_interrupt.filter(|_| s.interrupts > 1)
        };
        self.press(&[3])?;
        let Some(first) = first else {
            return Ok(Interrupt::Sent);
        };
        // A program handling the first SIGINT (cleaning up, printing a summary) gets a moment to end by itself.
        while first.elapsed() < INTERRUPT_GRACE {
            if lock(&self.shared.0).interrupts == 0 {
                return Ok(Interrupt::Sent);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let deadline = Instant::now() + KILL_WINDOW;
        let mut killed = false;
        loop {
            if lock(&self.shared.0).interrupts == 0 {
                // The prompt is back: the command ended.
                return Ok(if killed {
                    Interrupt::KilledForeground
                } else {
                    Interrupt::Sent
                });
            }
            let pgrp = nix::unistd::tcgetpgrp(&*lock(&self.file)).map(|p| p.as_raw());
            if let Ok(pgrp) = pgrp
                && pgrp > 1
                && pgrp as u32 != self.shell_pid
            {
                killed |= nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pgrp),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .is_ok();
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.shell_pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        Ok(Interrupt::KilledShell)
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
    for p in [dir.to_path_buf(), dir.join("init.sh"), dir.join("w")] {
        std::os::unix::fs::chown(&p, Some(uid), Some(uid))
            .with_context(|| format!("cannot hand {} to uid {uid}", p.display()))?;
    }
    Ok(())
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
