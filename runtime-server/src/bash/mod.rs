//! The persistent bash session on a PTY, with OpenHands' command state machine (reference §3).
//!
//! Completion is the prompt marker (see `pty`); the soft timeout fires after `no_change_timeout` without
//! new bytes unless the action is `blocking`; the hard timeout after the action's `timeout`. A timed-out
//! command keeps running: the next empty command polls it, `is_input` text or `C-x` keys go to it, and a
//! new command is refused with OpenHands' "NOT executed" text until it completes.

mod pty;
mod reaper;
mod render;
mod stream;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use openhands_runtime_api::{CmdOutputMetadata, CmdRunAction, Observation};

use pty::Shell;
pub(crate) use pty::{Interrupt, Keyboard, run_as};
pub(crate) use reaper::{MARKER_VAR, Reaper};
use stream::{Output, Prompt};

/// OpenHands' `TIMEOUT_MESSAGE_TEMPLATE`, verbatim: models are trained on it.
pub(crate) const TIMEOUT_MESSAGE_TEMPLATE: &str = "You may wait longer to see additional output by sending empty command '', send other commands to interact with the current process, send keys (\"C-c\", \"C-z\", \"C-d\") to interrupt/kill the previous command before sending your new command, or use the timeout parameter in execute_bash for future commands.";
const CONTINUE_PREFIX: &str = "[Below is the output of the previous command.]\n";
const NO_PREVIOUS_LOGS: &str = "ERROR: No previous running command to retrieve logs from.";
const NO_PREVIOUS_INPUT: &str = "ERROR: No previous running command to interact with.";
/// How long a new shell may take to print its first prompt.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How to start a shell.
#[derive(Debug, Clone)]
pub(crate) struct BashOptions {
    pub working_dir: PathBuf,
    pub user_id: Option<u32>,
    pub no_change_timeout: Duration,
    /// Tracks every shell and what it started, so the server can kill them all when it stops.
    pub reaper: Reaper,
}

/// The session's current directory, published after every prompt for file actions to resolve against.
#[derive(Debug, Clone)]
pub(crate) struct SharedCwd(Arc<RwLock<PathBuf>>);

impl SharedCwd {
    pub fn new(dir: PathBuf) -> Self {
        Self(Arc::new(RwLock::new(dir)))
    }
    pub fn get(&self) -> PathBuf {
        self.0.read().map(|p| p.clone()).unwrap_or_default()
    }
    pub fn set(&self, dir: PathBuf) {
        if let Ok(mut p) = self.0.write() {
            *p = dir;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Status {
    Completed,
    NoChangeTimeout,
    HardTimeout,
}

/// How waiting for a command ended.
enum Outcome {
    Completed(Output, Prompt),
    SoftTimeout(Output),
    HardTimeout(Output, f64),
    ShellExited(Output, i64),
}

pub(crate) struct BashSession {
    options: BashOptions,
    cwd: SharedCwd,
    shell: Shell,
    prev_status: Option<Status>,
}

impl BashSession {
    pub async fn start(options: BashOptions, cwd: SharedCwd) -> anyhow::Result<Self> {
        let shell = start_shell(&options.working_dir, options.user_id, &options.reaper).await?;
        cwd.set(options.working_dir.clone());
        Ok(Self {
            options,
            cwd,
            shell,
            prev_status: None,
        })
    }

    fn is_running(&self) -> bool {
        matches!(
            self.prev_status,
            Some(Status::NoChangeTimeout | Status::HardTimeout)
        )
    }

    fn shell_gone(&self) -> bool {
        let s = self.shell.stream();
        s.exited.is_some() || s.eof
    }

    /// Replaces a dead shell with a new one in the last known directory; returns a note for the agent.
    async fn restart(&mut self) -> anyhow::Result<String> {
        let dir = self.replace_shell().await?;
        Ok(format!(
            "[The bash session had exited, so a new one was started in {}; variables, aliases and functions defined earlier are gone.]",
            dir.display()
        ))
    }

    /// Kills the shell and starts a new one in the last known directory; returns that directory.
    async fn replace_shell(&mut self) -> anyhow::Result<PathBuf> {
        self.shell.kill();
        let mut dir = self.cwd.get();
        if !dir.is_dir() {
            dir = self.options.working_dir.clone();
        }
        self.shell = start_shell(&dir, self.options.user_id, &self.options.reaper).await?;
        self.cwd.set(dir.clone());
        self.prev_status = None;
        Ok(dir)
    }

    /// After a prompt: a shell whose own stdin, stdout or stderr left the terminal (`exec >/dev/null`,
    /// `exec 2>/dev/null`, `exec </dev/null`) would hide every later output or exit; it is replaced at once.
    async fn replace_if_detached(&mut self, prompt: &Prompt) -> anyhow::Result<Option<String>> {
        if prompt.detached.is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = prompt
            .detached
            .chars()
            .map(|fd| match fd {
                '0' => "input",
                '1' => "output",
                _ => "error output",
            })
            .collect();
        let dir = self.replace_shell().await?;
        Ok(Some(format!(
            "[The command moved the shell's own standard {} away from the terminal, which would hide or end every later command; a new bash session was started in {}; variables, aliases and functions defined earlier are gone.]",
            names.join(" and standard "),
            dir.display()
        )))
    }

    pub async fn execute(
        &mut self,
        action: &CmdRunAction,
        timeout: Option<f64>,
    ) -> anyhow::Result<Observation> {
        let command = action.command.trim().to_owned();
        let mut restart_note = None;
        if self.shell_gone() {
            restart_note = Some(self.restart().await?);
        }
        if !self.is_running() {
            if command.is_empty() {
                return Ok(plain(NO_PREVIOUS_LOGS, action.hidden));
            }
            if action.is_input {
                return Ok(plain(NO_PREVIOUS_INPUT, action.hidden));
            }
        }
        let mut leading = String::new();
        if self.is_running() && !action.is_input && !command.is_empty() {
            let finished = self.shell.stream().completed.pop_front();
            match finished {
                None => return Ok(self.not_executed(&command, action.hidden)),
                Some((out, _prompt)) => {
                    // The previous command ended unobserved: show its tail before the new output.
                    leading = self.render_output(out).0;
                    self.prev_status = Some(Status::Completed);
                }
            }
        }
        let was_running = self.is_running();
        let special = special_key(&command);
        let start = Instant::now();
        let mut kill_note = None;
        if special == Some(3) {
            let done = self
                .shell
                .keyboard()
                .interrupt()
                .await
                .context("cannot write to the shell")?;
            kill_note = interrupt_note(done);
        } else if let Some(byte) = special {
            self.shell
                .write(&[byte])
                .context("cannot write to the shell")?;
        } else if action.is_input {
            self.shell
                .send_input(&command)
                .context("cannot write to the shell")?;
        } else if !command.is_empty() {
            self.shell
                .send_command(&command)
                .context("cannot hand the command to the shell")?;
        }
        let outcome = self.wait(start, action.blocking, timeout).await;
        let mut obs = match outcome {
            Outcome::Completed(out, prompt) => {
                let (text, cleared_lines) = self.render_output(out);
                let mut meta = metadata_from(&prompt);
                if let Some(n) = cleared_lines.filter(|_| !was_running) {
                    meta.prefix = format!(
                        "[Previous command outputs are truncated. Showing the last {n} lines of the output below.]\n"
                    );
                }
                meta.suffix = match special {
                    Some(_) => format!(
                        "\n[The command completed with exit code {}. CTRL+{} was sent.]",
                        prompt.exit_code,
                        command[2..].to_uppercase()
                    ),
                    None => format!(
                        "\n[The command completed with exit code {}.]",
                        prompt.exit_code
                    ),
                };
                if !prompt.working_dir.is_empty() {
                    self.cwd.set(PathBuf::from(&prompt.working_dir));
                }
                self.prev_status = Some(Status::Completed);
                if let Some(note) = self.replace_if_detached(&prompt).await? {
                    meta.suffix = format!("{}\n{note}", meta.suffix);
                }
                Observation::cmd_output(join(&leading, &text), command.clone(), meta, action.hidden)
            }
            Outcome::SoftTimeout(out) => {
                let (text, _) = self.render_output(out);
                let meta = CmdOutputMetadata {
                    prefix: continuation(was_running),
                    suffix: format!(
                        "\n[The command has no new output after {} seconds. {TIMEOUT_MESSAGE_TEMPLATE}]",
                        seconds_int_or_float(self.options.no_change_timeout.as_secs_f64())
                    ),
                    ..CmdOutputMetadata::default()
                };
                self.prev_status = Some(Status::NoChangeTimeout);
                Observation::cmd_output(join(&leading, &text), command.clone(), meta, action.hidden)
            }
            Outcome::HardTimeout(out, secs) => {
                let (text, _) = self.render_output(out);
                let meta = CmdOutputMetadata {
                    prefix: continuation(was_running),
                    suffix: format!(
                        "\n[The command timed out after {secs:?} seconds. {TIMEOUT_MESSAGE_TEMPLATE}]"
                    ),
                    ..CmdOutputMetadata::default()
                };
                self.prev_status = Some(Status::HardTimeout);
                Observation::cmd_output(join(&leading, &text), command.clone(), meta, action.hidden)
            }
            Outcome::ShellExited(out, code) => {
                let (text, _) = self.render_output(out);
                let note = self.restart().await?;
                let meta = CmdOutputMetadata {
                    exit_code: code,
                    working_dir: Some(self.cwd.get().display().to_string()),
                    suffix: format!("\n[The command completed with exit code {code}.]\n{note}"),
                    ..CmdOutputMetadata::default()
                };
                Observation::cmd_output(join(&leading, &text), command.clone(), meta, action.hidden)
            }
        };
        if let openhands_runtime_api::ObservationKind::Run(extras) = &mut obs.kind {
            if let Some(note) = kill_note {
                extras.metadata.prefix = format!("{note}\n{}", extras.metadata.prefix);
            }
            if let Some(note) = restart_note {
                extras.metadata.prefix = format!("{note}\n{}", extras.metadata.prefix);
            }
        }
        Ok(obs)
    }

    /// Waits for the prompt, the soft timeout, the hard timeout or the shell's end, whichever comes first.
    async fn wait(&mut self, start: Instant, blocking: bool, timeout: Option<f64>) -> Outcome {
        let hard = timeout.filter(|t| t.is_finite() && *t > 0.0);
        let soft = self.options.no_change_timeout;
        let mut exited_at: Option<Instant> = None;
        loop {
            let notified = self.shell.notify().notified();
            let (last_change, gone) = {
                let mut s = self.shell.stream();
                if let Some((mut out, mut prompt)) = s.completed.pop_front() {
                    // Several prompts (e.g. a key that aborted a line) merge into one observation.
                    while let Some((more, p)) = s.completed.pop_front() {
                        out = merge(out, more);
                        prompt = p;
                    }
                    return Outcome::Completed(out, prompt);
                }
                // The PTY's end of file and the exit status arrive separately: give them a moment to agree,
                // and the reader a moment to drain what the shell printed last.
                let gone = if s.exited.is_some() || s.eof {
                    let t = *exited_at.get_or_insert_with(Instant::now);
                    match s.exited {
                        Some(code) if s.eof => Some(code),
                        code if t.elapsed() > Duration::from_millis(300) => {
                            Some(code.unwrap_or(-1))
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                (s.last_output.map_or(start, |t| t.max(start)), gone)
            };
            if let Some(code) = gone {
                let out = std::mem::take(&mut self.shell.stream().current);
                return Outcome::ShellExited(out, i64::from(code));
            }
            let now = Instant::now();
            let soft_deadline = (!blocking).then(|| last_change + soft);
            // `execute_action` refuses absurd timeouts; still, never panic on one.
            let hard_deadline = hard
                .and_then(|h| Duration::try_from_secs_f64(h).ok())
                .and_then(|h| start.checked_add(h));
            if hard_deadline.is_some_and(|d| now >= d) {
                let out = std::mem::take(&mut self.shell.stream().current);
                return Outcome::HardTimeout(out, hard.unwrap_or_default());
            }
            if soft_deadline.is_some_and(|d| now >= d) {
                let out = std::mem::take(&mut self.shell.stream().current);
                return Outcome::SoftTimeout(out);
            }
            let mut deadline = [soft_deadline, hard_deadline]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + Duration::from_secs(3600));
            if exited_at.is_some() {
                deadline = deadline.min(now + Duration::from_millis(20));
            }
            let _ = tokio::time::timeout_at(deadline.into(), notified).await;
        }
    }

    /// Renders output as the terminal shows it; returns the text and, if the screen was cleared, its line count.
    fn render_output(&mut self, out: Output) -> (String, Option<usize>) {
        let rendered = render::render(&out.into_bytes());
        // bash names the sourced command file in its errors; `bash -c` would say "line 1" alone.
        let file_mention = format!("{}: ", self.shell.cmd_file().display());
        let text = rendered.text.replace(&file_mention, "");
        // The reader removes the echo of the line that runs a command; should any copy get through (the
        // terminal's settings changed how it echoes), it still never reaches the agent.
        let internal = self.shell.cmd_line();
        let text = if text.contains(internal) {
            text.lines()
                .filter(|l| l.trim_end() != internal && l.trim_end() != internal.trim_start())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text
        };
        let text = tidy(&text);
        let lines = rendered.cleared.then(|| text.lines().count());
        (text, lines)
    }

    /// OpenHands' answer to a new command while the previous one still runs.
    fn not_executed(&mut self, command: &str, hidden: bool) -> Observation {
        let out = std::mem::take(&mut self.shell.stream().current);
        let (text, _) = self.render_output(out);
        let meta = CmdOutputMetadata {
            prefix: CONTINUE_PREFIX.to_owned(),
            suffix: format!(
                "\n[Your command \"{command}\" is NOT executed. The previous command is still running - You CANNOT send new commands until the previous command is completed. By setting `is_input` to `true`, you can interact with the current process: {TIMEOUT_MESSAGE_TEMPLATE}]"
            ),
            ..CmdOutputMetadata::default()
        };
        Observation::cmd_output(text, command.to_owned(), meta, hidden)
    }

    /// Types into the current shell even while a command holds the session; follows restarts.
    pub fn keyboard(&self) -> Keyboard {
        self.shell.keyboard()
    }

    /// Kills the shell and everything it started.
    pub fn close(&mut self) {
        self.shell.kill();
    }
}

/// Starts a shell and waits for its first prompt, discarding what its start-up printed.
async fn start_shell(
    dir: &std::path::Path,
    uid: Option<u32>,
    reaper: &Reaper,
) -> anyhow::Result<Shell> {
    let shell = Shell::spawn(dir, uid, reaper)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let notified = shell.notify().notified();
        {
            let mut s = shell.stream();
            if s.completed.pop_front().is_some() {
                s.completed.clear();
                s.current = Output::default();
                break;
            }
            if s.exited.is_some() || s.eof {
                let out = std::mem::take(&mut s.current);
                anyhow::bail!(
                    "bash exited during start-up: {}",
                    render::render(&out.into_bytes()).text.trim()
                );
            }
        }
        if Instant::now() >= deadline {
            anyhow::bail!("bash printed no prompt within {START_TIMEOUT:?}");
        }
        let _ = tokio::time::timeout_at(deadline.into(), notified).await;
    }
    Ok(shell)
}

/// Runs an `is_static` command in a fresh shell, leaving the main session untouched.
pub(crate) async fn run_static(
    options: &BashOptions,
    action: &CmdRunAction,
    timeout: Option<f64>,
) -> anyhow::Result<Observation> {
    let dir = action
        .cwd
        .as_deref()
        .map_or_else(|| options.working_dir.clone(), PathBuf::from);
    if !dir.is_dir() {
        return Ok(Observation::error(format!(
            "Cannot run the command: working directory {} does not exist",
            dir.display()
        )));
    }
    let opts = BashOptions {
        working_dir: dir.clone(),
        ..options.clone()
    };
    let mut session = BashSession::start(opts, SharedCwd::new(dir)).await?;
    let mut once = action.clone();
    once.is_static = false;
    let obs = session.execute(&once, timeout).await;
    session.close();
    obs
}

fn plain(content: &str, hidden: bool) -> Observation {
    Observation::cmd_output(
        content.to_owned(),
        String::new(),
        CmdOutputMetadata::default(),
        hidden,
    )
}

fn metadata_from(p: &Prompt) -> CmdOutputMetadata {
    CmdOutputMetadata {
        exit_code: p.exit_code,
        pid: p.pid,
        username: Some(p.username.clone()),
        hostname: Some(p.hostname.clone()),
        working_dir: Some(p.working_dir.clone()),
        py_interpreter_path: Some(p.py_interpreter_path.clone()),
        prefix: String::new(),
        suffix: String::new(),
    }
}

/// What the agent is told about a `C-c` that had to kill.
pub(crate) fn interrupt_note(done: Interrupt) -> Option<&'static str> {
    match done {
        Interrupt::Sent => None,
        Interrupt::KilledForeground => Some(
            "[The process ignored the previous CTRL+C, so its process group was killed with SIGKILL.]",
        ),
        Interrupt::KilledShell => Some(
            "[The command ignored the previous CTRL+C and runs in the shell itself, so the shell was killed with SIGKILL.]",
        ),
    }
}

fn continuation(was_running: bool) -> String {
    if was_running {
        CONTINUE_PREFIX.to_owned()
    } else {
        String::new()
    }
}

/// `C-c`, `C-d`, `C-z`, ... (OpenHands: exactly three characters starting with `C-`) as a control byte.
fn special_key(command: &str) -> Option<u8> {
    let b = command.as_bytes();
    if b.len() == 3 && command.starts_with("C-") && b[2].is_ascii_alphabetic() {
        Some(b[2].to_ascii_lowercase() & 0x1f)
    } else {
        None
    }
}

fn merge(a: Output, b: Output) -> Output {
    let mut merged = Output::default();
    merged.push(&a.into_bytes());
    merged.push(&b.into_bytes());
    merged
}

/// Drops leading blank lines and trailing whitespace, keeping the first line's indentation.
fn tidy(text: &str) -> String {
    let trimmed = text.trim_end();
    let start = trimmed
        .char_indices()
        .take_while(|(_, c)| c.is_whitespace())
        .filter(|(_, c)| *c == '\n')
        .last()
        .map_or(0, |(i, _)| i + 1);
    trimmed[start..].to_owned()
}

fn join(leading: &str, text: &str) -> String {
    match (leading.is_empty(), text.is_empty()) {
        (true, _) => text.to_owned(),
        (false, true) => leading.to_owned(),
        (false, false) => format!("{leading}\n{text}"),
    }
}

/// The soft timeout as OpenHands prints it: an integer (`10`), or the float when it has a fraction.
fn seconds_int_or_float(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{}", secs as i64)
    } else {
        format!("{secs}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_keys_are_control_bytes() {
        assert_eq!(special_key("C-c"), Some(3));
        assert_eq!(special_key("C-d"), Some(4));
        assert_eq!(special_key("C-z"), Some(26));
        assert_eq!(special_key("C-cc"), None);
        assert_eq!(special_key("ls"), None);
    }

    #[test]
    fn tidy_keeps_indentation_of_the_first_line() {
        assert_eq!(
            tidy("\n\n   indented\n  second\n\n"),
            "   indented\n  second"
        );
        assert_eq!(tidy("a\n\n\nb\n"), "a\n\n\nb");
    }

    #[test]
    fn timeout_numbers_print_like_openhands() {
        assert_eq!(seconds_int_or_float(10.0), "10");
        assert_eq!(seconds_int_or_float(1.5), "1.5");
        assert_eq!(format!("{:?}", 5.0f64), "5.0");
        assert_eq!(format!("{:?}", 2.5f64), "2.5");
    }
}
