//! The ACP client between the agent and its runtime: asks `session/request_permission` when the session's
//! mode says so, lets the agent's file actions see the client's text (`fs/read_text_file`, unsaved buffers
//! included) and lands its edits through `fs/write_text_file`, reported done only once the client confirmed.
//! A refusal or a silent client puts the sandbox back and becomes an error observation.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{
    Action, ActionEvent, FileReadAction, FileWriteAction, Observation, ObservationKind,
};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::client::{Caps, Peer};
use super::modes::Mode;
use crate::approval::rejection;
use crate::runtime::{Runtime, RuntimeError};

/// How long the client has to answer: permission requests, and file reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub permission: Duration,
    pub fs: Duration,
    /// How long a command in the client's terminal may run before it is killed.
    pub terminal: Duration,
}

impl Deadlines {
    /// 10 minutes for a person to answer, 30 s for the editor's files and terminal requests, 10 minutes for a
    /// command in its terminal; `OPENHANDS_ACP_PERMISSION_TIMEOUT`, `OPENHANDS_ACP_FS_TIMEOUT` and
    /// `OPENHANDS_ACP_TERMINAL_TIMEOUT` (seconds) change them.
    pub fn from_env() -> Self {
        let secs = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| *s > 0.0)
                .map(Duration::from_secs_f64)
                .unwrap_or(Duration::from_secs(d))
        };
        Self {
            permission: secs("OPENHANDS_ACP_PERMISSION_TIMEOUT", 600),
            fs: secs("OPENHANDS_ACP_FS_TIMEOUT", 30),
            terminal: secs("OPENHANDS_ACP_TERMINAL_TIMEOUT", 600),
        }
    }
}

/// What a session's runtime wrapper shares with the session.
#[derive(Clone)]
pub struct Link {
    pub peer: Peer,
    pub session_id: String,
    pub caps: Caps,
    pub mode: Arc<Mutex<Mode>>,
    /// Reasons the user allowed for the whole conversation ("allow always").
    pub allowed: Arc<Mutex<HashSet<&'static str>>>,
    /// Cancelled by `session/cancel`: a pending permission request is given up.
    pub cancel: Arc<Mutex<CancellationToken>>,
    /// The id of the last event sent as updates (a permission request follows its tool call).
    pub forwarded: watch::Receiver<i64>,
    /// The host directory the session works in.
    pub cwd: PathBuf,
    /// Commands run in the client's terminal (it offers one, the user chose it, the runtime is local).
    pub client_terminal: bool,
    /// The terminals shown in tool calls.
    pub terminals: super::terminal::Shown,
    /// The running turn is a plan-mode one: only reads and read-only commands run (`crate::plan_mode`).
    pub planning: Arc<AtomicBool>,
    pub deadlines: Deadlines,
}

/// A runtime whose permissions and file effects go through the ACP client.
pub struct ClientRuntime {
    inner: Arc<dyn Runtime>,
    link: Link,
    sandboxed: bool,
}

/// What a file action's path held before the client's text was put there.
struct Overlay {
    sandbox_path: String,
    /// The sandbox's text before (`None`: no such file, or not text).
    before: Option<String>,
    /// The client's text, which the sandbox held when the action ran.
    client: String,
}

impl ClientRuntime {
    pub fn new(inner: Arc<dyn Runtime>, link: Link, sandboxed: bool) -> Self {
        Self {
            inner,
            link,
            sandboxed,
        }
    }

    fn file_of(action: &Action) -> Option<&str> {
        match action {
            Action::Read(a) => Some(&a.path),
            Action::Write(a) => Some(&a.path),
            Action::Edit(a) => Some(&a.path),
            _ => None,
        }
    }

    fn changes_file(action: &Action) -> bool {
        matches!(action, Action::Write(_))
            || matches!(action, Action::Edit(e) if e.command != "view")
    }

    /// The host path of a path the agent gave (absolute in the sandbox, or relative to its workspace).
    fn to_host(&self, sandbox: &str) -> Option<PathBuf> {
        let p = Path::new(sandbox);
        let rel = if p.is_absolute() {
            p.strip_prefix(self.inner.workspace_dir()).ok()?
        } else {
            p
        };
        Some(self.link.cwd.join(rel))
    }

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

    /// Asks the user; `None` when the action may run, else the observation that refuses it.
    async fn permit(&self, event: &ActionEvent) -> Option<Observation> {
        let mode = *self.link.mode.lock().ok()?;
        let why = mode.asks(&event.action, self.sandboxed, self.inner.workspace_dir())?;
        if self.link.allowed.lock().ok()?.contains(why) {
            return None;
        }
        let action_id = event.meta.id.unwrap_or_default();
        // The action's `tool_call` goes first.
        let mut seen = self.link.forwarded.clone();
        let _ = tokio::time::timeout(Duration::from_secs(2), seen.wait_for(|id| *id >= action_id))
            .await;
        let shown = crate::events::Event::Action(event.clone());
        let call = crate::updates::updates(&shown)
            .into_iter()
            .find(|u| u["sessionUpdate"] == "tool_call")
            .unwrap_or_default();
        let mut tool_call = json!({
            "toolCallId": crate::updates::call_id(action_id),
            "title": format!("{} ({why})", crate::approval::summarize(&event.action)),
            "kind": crate::updates::tool_kind(&event.action),
            "status": "pending",
        });
        for key in ["content", "locations", "rawInput"] {
            if let Some(v) = call.get(key) {
                tool_call[key] = v.clone();
            }
        }
        let request = json!({
            "sessionId": self.link.session_id,
            "toolCall": tool_call,
            "options": [
                {"optionId": "allow_once", "name": "Allow once", "kind": "allow_once"},
                {"optionId": "allow_always", "name": "Allow for this conversation", "kind": "allow_always"},
                {"optionId": "reject", "name": "Reject", "kind": "reject_once"},
            ],
        });
        let cancel = self.link.cancel.lock().ok()?.clone();
        let answer = tokio::select! {
            a = self.link.peer.request_permission(request, self.link.deadlines.permission) => a,
            _ = cancel.cancelled() => Ok(None),
        };
        match answer {
            Ok(Some(id)) if id == "allow_once" => None,
            Ok(Some(id)) if id == "allow_always" => {
                if let Ok(mut a) = self.link.allowed.lock() {
                    a.insert(why);
                }
                None
            }
            Ok(Some(_)) => Some(rejection("Waiting for further user input.")),
            Ok(None) => Some(rejection("The user cancelled the turn.")),
            Err(e) => Some(rejection(&e)),
        }
    }

    /// Puts the client's text of the action's file in the sandbox, so the action sees what the user sees.
    async fn overlay(&self, action: &Action) -> Option<Overlay> {
        if !self.link.caps.read_text_file {
            return None;
        }
        let path = Self::file_of(action)?;
        let host = self.to_host(path)?;
        if !host.starts_with(&self.link.cwd) {
            return None;
        }
        let client = self
            .link
            .peer
            .read_text(
                &self.link.session_id,
                &host.display().to_string(),
                self.link.deadlines.fs,
            )
            .await
            .ok()?;
        let sandbox_path = self.sandbox_path(&host)?;
        let before = self.sandbox_text(&sandbox_path).await;
        // A file the sandbox does not have as text is left alone: no file is created behind the user's back.
        let on_disk = before.as_deref()?;
        if on_disk != client
            && let Err(e) = self.put(&sandbox_path, &client).await
        {
            tracing::warn!("could not show the client's text of {path} to the agent: {e}");
            return None;
        }
        Some(Overlay {
            sandbox_path,
            before,
            client,
        })
    }

    fn sandbox_path(&self, host: &Path) -> Option<String> {
        let rel = host.strip_prefix(&self.link.cwd).ok()?;
        Some(self.inner.workspace_dir().join(rel).display().to_string())
    }

    /// Sends the file's new text to the client; on a refusal the sandbox is put back as it was (`before`:
    /// its text, `None` for a file the action created).
    async fn deliver(&self, action: &Action, before: Option<String>) -> Result<(), String> {
        let Some(path) = Self::file_of(action) else {
            return Ok(());
        };
        let Some(host) = self.to_host(path).filter(|h| h.starts_with(&self.link.cwd)) else {
            return Ok(());
        };
        let Some(sandbox_path) = self.sandbox_path(&host) else {
            return Ok(());
        };
        let Some(after) = self.sandbox_text(&sandbox_path).await else {
            return Ok(());
        };
        let sent = self
            .link
            .peer
            .write_text(
                &self.link.session_id,
                &host.display().to_string(),
                &after,
                self.link.deadlines.fs,
            )
            .await;
        let Err(e) = sent else {
            return Ok(());
        };
        // The sandbox goes back to what it held, so the agent's view of the file stays true.
        let undone = match &before {
            Some(text) => self.put(&sandbox_path, text).await,
            None => self.remove(&sandbox_path).await,
        };
        let state = match undone {
            Ok(()) => "The file is unchanged.".to_owned(),
            Err(u) => format!("Putting the file back failed too ({u}): check it before going on."),
        };
        Err(format!("The edit of {path} was NOT applied: {e}. {state}"))
    }

    /// Deletes a file the action created and the client refused.
    async fn remove(&self, sandbox_path: &str) -> Result<(), String> {
        let quoted = format!("'{}'", sandbox_path.replace('\'', "'\\''"));
        let obs = self
            .inner
            .execute(&ActionEvent::new(Action::Run(
                openhands_runtime_api::CmdRunAction::new(format!("rm -f -- {quoted}")),
            )))
            .await
            .map_err(|e| e.to_string())?;
        match obs.kind {
            ObservationKind::Run(r) if r.metadata.exit_code == 0 => Ok(()),
            _ => Err(obs.content),
        }
    }

    async fn run(&self, event: &ActionEvent) -> Result<Observation, RuntimeError> {
        if self.link.planning.load(Ordering::SeqCst)
            && let Some(why) = crate::plan_mode::refusal(&event.action)
        {
            return Ok(Observation::error(why));
        }
        if let Some(refused) = self.permit(event).await {
            return Ok(refused);
        }
        if let (true, Action::Run(cmd)) = (self.link.client_terminal, &event.action) {
            let cancel = self
                .link
                .cancel
                .lock()
                .map(|c| c.clone())
                .unwrap_or_default();
            let id = event.meta.id.unwrap_or_default();
            return Ok(
                super::terminal::run(&self.link, &self.link.terminals, cmd, id, cancel).await,
            );
        }
        let action = &event.action;
        let overlay = self.overlay(action).await;
        let through_client = Self::changes_file(action) && self.link.caps.write_text_file;
        // What the file is to go back to if the client refuses the edit: the user's disk for the local
        // runtime, the client's text for a sandbox.
        let before = match (&overlay, through_client) {
            (_, false) => None,
            (Some(o), true) if self.sandboxed => Some(o.client.clone()),
            (Some(o), true) => o.before.clone(),
            (None, true) => match Self::file_of(action)
                .and_then(|p| self.to_host(p))
                .and_then(|h| self.sandbox_path(&h))
            {
                Some(p) => self.sandbox_text(&p).await,
                None => None,
            },
        };
        let result = self.inner.execute(event).await;
        let obs = match result {
            Ok(obs) => obs,
            Err(e) => {
                self.restore(overlay.as_ref()).await;
                return Err(e);
            }
        };
        let failed =
            matches!(obs.kind, ObservationKind::Error { .. }) || obs.content.starts_with("ERROR:");
        if through_client && !failed {
            if let Err(e) = self.deliver(action, before).await {
                return Ok(Observation::error(e));
            }
            return Ok(obs);
        }
        if !Self::changes_file(action) || failed {
            self.restore(overlay.as_ref()).await;
        }
        Ok(obs)
    }

    /// With the local runtime the sandbox is the user's disk: the client's unsaved text shown to a read goes
    /// back off the disk afterwards.
    async fn restore(&self, overlay: Option<&Overlay>) {
        let Some(o) = overlay else { return };
        if self.sandboxed {
            return;
        }
        if let Some(before) = &o.before
            && *before != o.client
        {
            let _ = self.put(&o.sandbox_path, before).await;
        }
    }
}

impl Runtime for ClientRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        self.run(action).boxed()
    }
    /// An MCP tool call is asked about as an action the runtime runs would be.
    fn confirm<'a>(&'a self, action: &'a ActionEvent) -> BoxFuture<'a, Option<Observation>> {
        Box::pin(async move {
            if self.link.planning.load(Ordering::SeqCst) {
                return Some(crate::plan_mode::mcp_refusal());
            }
            if let Some(refused) = self.permit(action).await {
                return Some(refused);
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
