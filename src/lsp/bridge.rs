//! The editor between the agent and its runtime: asks for approvals, shows the sandbox the user's unsaved
//! buffers, and turns agent edits of open files into `workspace/applyEdit`s that are confirmed by the
//! editor's `didChange`, or reported to the agent as failed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{
    Action, ActionEvent, FileReadAction, FileWriteAction, Observation, ObservationKind,
};
use tokio::sync::Notify;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::request::ApplyWorkspaceEdit;
use tower_lsp_server::ls_types::{ApplyWorkspaceEditParams, MessageType, Uri};

use super::approvals::Gate;
use super::edits::{merge3, minimal_edits, proposed_text};
use super::saved::Saved;
use super::tasks::TaskInfo;
use super::{State, uri_path};
use crate::runtime::{Runtime, RuntimeError};

/// How long an editor that accepted an edit has to send the matching `didChange`.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a refused edit waits for the user's change that made it stale.
const STALE_GRACE: Duration = Duration::from_millis(500);
/// Open buffers mirrored around a command; more are left to the disk.
const MAX_MIRRORED: usize = 32;

/// What the bridge shares with the language server.
#[derive(Clone)]
pub struct Link {
    pub client: Client,
    pub state: Arc<Mutex<State>>,
    /// Woken on every `didChange`.
    pub changed: Arc<Notify>,
    pub workspace: PathBuf,
    pub task: TaskInfo,
}

impl Link {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A runtime whose file effects on open buffers go through the editor.
pub struct EditorRuntime {
    inner: Arc<dyn Runtime>,
    link: Link,
    gate: Gate,
    /// The sandbox is the user's own disk (the local runtime).
    local: bool,
    /// Edits the editor applied after they were reported as not applied: told to the agent with its next
    /// observation, so it never works from a wrong belief about a file.
    late: Arc<Mutex<Vec<String>>>,
}

/// An open buffer the action may touch, as it was before the action.
struct Mirrored {
    uri: String,
    /// The file as the sandbox names it.
    sandbox_path: String,
    version: i32,
    /// The buffer's text, which the sandbox file held when the action ran.
    base: String,
}

impl EditorRuntime {
    pub fn new(inner: Arc<dyn Runtime>, link: Link, sandboxed: bool) -> Self {
        let gate = Gate::new(link.clone(), sandboxed, inner.workspace_dir().to_owned());
        Self {
            inner,
            link,
            gate,
            local: !sandboxed,
            late: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// With the local runtime, what the open files hold on disk before the action touches them.
    fn save_disk(&self, touched: &[(String, PathBuf)]) -> Vec<Saved> {
        match self.local {
            true => touched
                .iter()
                .filter_map(|(_, host)| Saved::read(host))
                .collect(),
            false => Vec::new(),
        }
    }

    /// Puts each open file back on disk as the user last saved it (see [`Saved`]).
    async fn restore_disk(&self, saved: Vec<Saved>) {
        for s in saved {
            if let Err(e) = s.restore() {
                self.log(format!(
                    "could not put {} back as it was saved: {e}",
                    s.host.display()
                ))
                .await;
            }
        }
    }

    /// The change a file action proposes, as `{path, oldText, newText}` (for an approval that shows it).
    async fn proposed_diff(&self, action: &Action) -> Option<serde_json::Value> {
        let path = match action {
            Action::Write(w) => &w.path,
            Action::Edit(e) => &e.path,
            _ => return None,
        };
        let host = self.to_host(path)?;
        let open = {
            let st = self.link.lock();
            st.docs
                .uris()
                .find(|u| {
                    u.parse::<Uri>()
                        .ok()
                        .and_then(|u| uri_path(&u))
                        .is_some_and(|p| p == host)
                })
                .and_then(|u| st.docs.get(u).map(|d| d.text.to_string()))
        };
        let old = match open {
            Some(text) => Some(text),
            None => self.sandbox_text(path).await,
        };
        let new = proposed_text(action, old.as_deref())?;
        Some(serde_json::json!({"path": path, "oldText": old, "newText": new}))
    }

    /// The sandbox path of a host path in the workspace.
    fn to_sandbox(&self, host: &Path) -> Option<String> {
        let rel = host.strip_prefix(&self.link.workspace).ok()?;
        Some(self.inner.workspace_dir().join(rel).display().to_string())
    }

    /// The host path of a path the agent gave (absolute in the sandbox, or relative to its workspace).
    fn to_host(&self, sandbox: &str) -> Option<PathBuf> {
        let p = Path::new(sandbox);
        let rel = if p.is_absolute() {
            p.strip_prefix(self.inner.workspace_dir()).ok()?
        } else {
            p
        };
        Some(self.link.workspace.join(rel))
    }

    /// The open buffers `action` may change: the file of a file action, every buffer for code.
    fn touched(&self, action: &Action) -> Vec<(String, PathBuf)> {
        let path = match action {
            Action::Read(a) => Some(&a.path),
            Action::Write(a) => Some(&a.path),
            Action::Edit(a) => Some(&a.path),
            Action::Run(_) | Action::RunIpython(_) => None,
            _ => return Vec::new(),
        };
        let wanted = path.and_then(|p| self.to_host(p));
        if path.is_some() && wanted.is_none() {
            return Vec::new();
        }
        let st = self.link.lock();
        let mut out: Vec<(String, PathBuf)> = st
            .docs
            .uris()
            .filter_map(|uri| {
                let host = uri_path(&uri.parse::<Uri>().ok()?)?;
                let inside = host.starts_with(&self.link.workspace);
                let matches = wanted.as_ref().is_none_or(|w| *w == host);
                (inside && matches).then(|| (uri.to_owned(), host))
            })
            .collect();
        out.truncate(MAX_MIRRORED);
        out
    }

    /// The text the sandbox holds at `path`, or `None` if it is missing or not text.
    async fn sandbox_text(&self, path: &str) -> Option<String> {
        let obs = self
            .inner
            .execute(&ActionEvent::new(Action::Read(FileReadAction::new(path))))
            .await
            .ok()?;
        match obs.kind {
            ObservationKind::Read { .. } if !obs.content.starts_with("data:") => Some(obs.content),
            _ => None,
        }
    }

    async fn put(&self, path: &str, text: &str) -> Result<(), String> {
        let obs = self
            .inner
            .execute(&ActionEvent::new(Action::Write(FileWriteAction::new(
                path, text,
            ))))
            .await
            .map_err(|e| e.to_string())?;
        match obs.kind {
            ObservationKind::Write { .. } => Ok(()),
            _ => Err(obs.content),
        }
    }

    /// Puts each buffer's unsaved text in the sandbox, so the action sees what the user sees.
    async fn overlay(&self, touched: Vec<(String, PathBuf)>) -> Vec<Mirrored> {
        let mut out = Vec::new();
        for (uri, host) in touched {
            let Some(sandbox_path) = self.to_sandbox(&host) else {
                continue;
            };
            let Some((version, base)) = self
                .link
                .lock()
                .docs
                .get(&uri)
                .map(|d| (d.version, d.text.to_string()))
            else {
                continue;
            };
            // A buffer never saved, or a file that is not text in the sandbox, is left alone: the overlay
            // must not create files behind the user's back or write text over a binary.
            let Some(on_disk) = self.sandbox_text(&sandbox_path).await else {
                continue;
            };
            if on_disk != base
                && let Err(e) = self.put(&sandbox_path, &base).await
            {
                self.log(format!(
                    "could not show the unsaved text of {} to the agent: {e}",
                    host.display()
                ))
                .await;
                continue;
            }
            out.push(Mirrored {
                uri,
                sandbox_path,
                version,
                base,
            });
        }
        out
    }

    async fn log(&self, text: String) {
        self.link
            .client
            .log_message(
                MessageType::WARNING,
                format!("[{}] {text}", self.link.task.task_id),
            )
            .await;
    }

    /// Brings every changed file into its buffer; returns why an edit did not land, per file. With the local
    /// runtime the open files go back on disk as the user saved them *before* the edits are sent: an editor
    /// applying an edit may look at the disk (Eglot does, and asked "changed on disk; reread?").
    async fn deliver_all(&self, mirrored: Vec<Mirrored>, saved: Vec<Saved>) -> Vec<String> {
        let mut changed = Vec::new();
        for m in mirrored {
            if let Some(after) = self.sandbox_text(&m.sandbox_path).await
                && after != m.base
            {
                changed.push((m, after));
            }
        }
        self.restore_disk(saved).await;
        let mut failures = Vec::new();
        for (m, after) in changed {
            if let Err(why) = self.deliver(&m, &after).await {
                failures.push(format!(
                    "The edit to {} was NOT applied: {why}. The file is unchanged; view it again before retrying.",
                    m.sandbox_path
                ));
            }
        }
        failures
    }

    /// Applies `after` (the agent's text) to the buffer, rebased onto what the user typed meanwhile.
    async fn deliver(&self, m: &Mirrored, after: &str) -> Result<(), String> {
        let outcome = self.apply(m, after).await;
        // With the local runtime the disk is already back as the user saved it; the buffer's text must not
        // land in the user's file.
        if outcome.is_err() && !self.local {
            // The sandbox goes back to what the user sees: a failed edit changes nothing anywhere.
            let current = self
                .link
                .lock()
                .docs
                .get(&m.uri)
                .map(|d| d.text.to_string());
            if let Some(text) = current {
                let _ = self.put(&m.sandbox_path, &text).await;
            }
        }
        outcome
    }

    /// Sends the edit; an editor that refuses it because the user typed meanwhile gets one rebased retry.
    async fn apply(&self, m: &Mirrored, after: &str) -> Result<(), String> {
        match self.attempt(m, after).await {
            Err((_, true)) => self.attempt(m, after).await.map_err(|(why, _)| why),
            other => other.map_err(|(why, _)| why),
        }
    }

    /// One `applyEdit`; on failure, the reason and whether the buffer changed since (worth a retry).
    async fn attempt(&self, m: &Mirrored, after: &str) -> Result<(), (String, bool)> {
        let fail = |why: String| (why, false);
        let (edits, version, target, profile) = {
            let st = self.link.lock();
            let doc = st.docs.get(&m.uri).ok_or_else(|| {
                fail("the user closed the file in the editor while the agent edited it".into())
            })?;
            let current = if doc.version == m.version {
                m.base.clone()
            } else {
                doc.text.to_string()
            };
            let target = merge3(&m.base, after, &current).map_err(|c| {
                fail(format!(
                    "the user changed the same lines in the editor meanwhile ({c})"
                ))
            })?;
            let edits = minimal_edits(&st.docs, &doc.text, &current, &target);
            (edits, doc.version, target, st.client.clone())
        };
        if !profile.apply_edit {
            return Err(fail(
                "the editor does not accept edits from the server (no workspace.applyEdit)".into(),
            ));
        }
        let uri: Uri = m
            .uri
            .parse()
            .map_err(|_| fail(format!("bad URI {}", m.uri)))?;
        let edit = super::edits::buffer_edit(&profile, uri, version, edits);
        // Neovim's own handler prints the label ("Workspace edit ..."), and that message, stacked on
        // others, raised its hit-enter prompt: Neovim gets none (VS Code names its undo step with it).
        let label = (!profile.name.eq_ignore_ascii_case("neovim")).then(|| {
            format!(
                "OpenHands: edit {}",
                Path::new(&m.sandbox_path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        });
        let notified = self.link.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let wait = self.link.lock().edit_timeout;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let client = self.link.client.clone();
        let late = self.late.clone();
        let path = m.sandbox_path.clone();
        tokio::spawn(async move {
            let answer = client
                .send_request::<ApplyWorkspaceEdit>(ApplyWorkspaceEditParams { label, edit })
                .await;
            // Nobody waits any more: the agent was told the edit was not applied. If the editor applied it
            // after all, the agent is told with its next observation.
            if let Err(Ok(answer)) = tx.send(answer)
                && answer.applied
            {
                let note = format!(
                    "Note: the editor applied the earlier edit to {path} late, after it was reported as NOT applied; the file in the editor now holds that edit. View the file before changing it again."
                );
                client.log_message(MessageType::WARNING, note.clone()).await;
                late.lock().unwrap_or_else(|p| p.into_inner()).push(note);
            }
        });
        let answer = tokio::time::timeout(wait, rx)
            .await
            .map_err(|_| {
                fail(format!(
                    "the editor did not answer the edit within {} s",
                    wait.as_secs()
                ))
            })?
            .map_err(|_| fail("the connection to the editor closed".into()))?
            .map_err(|e| {
                fail(format!(
                    "the editor answered the edit with an error: {}",
                    e.message
                ))
            })?;
        if !answer.applied {
            // An editor that refuses a stale edit has sent the user's change first, but that `didChange`
            // may still be on its way through the server: give it a moment before deciding.
            let moved = || {
                self.link
                    .lock()
                    .docs
                    .get(&m.uri)
                    .is_some_and(|d| d.version != version)
            };
            if !moved() {
                let _ = tokio::time::timeout(STALE_GRACE, notified.as_mut()).await;
            }
            let moved = moved();
            let reason = answer
                .failure_reason
                .unwrap_or_else(|| "no reason given".into());
            return Err((format!("the editor refused it ({reason})"), moved));
        }
        // `applied: true` is not enough (Neovim says so even when it skips a stale edit): wait for the
        // buffer to hold the text.
        let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
        loop {
            let same =
                self.link.lock().docs.get(&m.uri).is_some_and(|d| {
                    d.text.len_bytes() == target.len() && d.text == target.as_str()
                });
            if same {
                break;
            }
            if tokio::time::timeout_at(deadline, notified.as_mut())
                .await
                .is_err()
            {
                return Err(fail(format!(
                    "the editor said it applied the edit, but the buffer did not change within {} s",
                    CONFIRM_TIMEOUT.as_secs()
                )));
            }
            notified.set(self.link.changed.notified());
            notified.as_mut().enable();
        }
        if target != after && !self.local {
            // Merged with the user's typing: the sandbox gets the merged text too.
            self.put(&m.sandbox_path, &target).await.map_err(fail)?;
        }
        Ok(())
    }

    async fn run(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        let mut obs = self.run_gated(action).await?;
        // Taken after the action: an edit the editor applied while it ran is told with its result.
        let late: Vec<String> =
            std::mem::take(&mut *self.late.lock().unwrap_or_else(|p| p.into_inner()));
        if !late.is_empty() {
            obs.content = format!("{}\n\n{}", obs.content, late.join("\n"));
        }
        Ok(obs)
    }

    async fn run_gated(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        if let Some(why) = self.gate.needs(&action.action) {
            let diff = match self.gate.client_ui() {
                true => self.proposed_diff(&action.action).await,
                false => None,
            };
            if let Some(rejection) = self.gate.ask(action, why, diff).await {
                return Ok(rejection);
            }
        }
        let touched = self.touched(&action.action);
        if touched.is_empty() {
            return self.inner.execute(action).await;
        }
        let saved = self.save_disk(&touched);
        let mirrored = self.overlay(touched).await;
        let result = self.inner.execute(action).await;
        let failures = match (&result, &action.action) {
            (Ok(_), Action::Read(_)) | (Err(_), _) => {
                self.restore_disk(saved).await;
                Vec::new()
            }
            (Ok(_), _) => self.deliver_all(mirrored, saved).await,
        };
        let obs = result?;
        if failures.is_empty() {
            return Ok(obs);
        }
        for f in &failures {
            self.log(f.clone()).await;
        }
        Ok(match action.action {
            // The file tool's whole effect failed: say so instead of its success text.
            Action::Write(_) | Action::Edit(_) => Observation::error(failures.join("\n")),
            _ => {
                let mut obs = obs;
                obs.content = format!("{}\n\n{}", obs.content, failures.join("\n"));
                obs
            }
        })
    }
}

impl Runtime for EditorRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        self.run(action).boxed()
    }
    /// An MCP tool call is asked about as an action the runtime runs would be.
    fn confirm<'a>(&'a self, action: &'a ActionEvent) -> BoxFuture<'a, Option<Observation>> {
        Box::pin(async move {
            if let Some(why) = self.gate.needs(&action.action)
                && let Some(rejection) = self.gate.ask(action, why, None).await
            {
                return Some(rejection);
            }
            self.inner.confirm(action).await
        })
    }
    crate::runtime::pass_on!(
        interrupt,
        health,
        close,
        workspace_dir,
        description,
        secrets,
        client,
        before_finish
    );
}
