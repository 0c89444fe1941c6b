//! Putting restored files in place from the editor's side: open buffers through version-checked
//! `workspace/applyEdit`s that count only once the editor's `didChange` shows them, closed files on disk; and
//! how the outcome of a background restore or revert is reported.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tower_lsp_server::Client;
use tower_lsp_server::ls_types::request::ApplyWorkspaceEdit;
use tower_lsp_server::ls_types::{ApplyWorkspaceEditParams, MessageType, Uri};

use crate::checkpoint::FileRestore;
use crate::lsp::edits::minimal_edits;
use crate::lsp::{State, uri_path};

/// How long the editor has to show a restored buffer's text after it accepted the edit.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

/// What applying files to the editor needs.
pub(super) struct EditorSide {
    pub client: Client,
    pub state: Arc<Mutex<State>>,
    pub changed: Arc<tokio::sync::Notify>,
}

impl EditorSide {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open buffer showing `path`, if any.
    fn open_uri(&self, path: &Path) -> Option<String> {
        let st = self.lock();
        st.docs
            .uris()
            .find(|u| {
                u.parse::<Uri>()
                    .ok()
                    .and_then(|u| uri_path(&u))
                    .is_some_and(|p| p == path)
            })
            .map(str::to_owned)
    }

    /// Puts `files` in place: open buffers through the editor, the rest on disk. Returns the paths that
    /// failed, each with why.
    pub async fn apply(&self, files: &[FileRestore]) -> Vec<String> {
        let mut failed = Vec::new();
        for f in files {
            let result = match (self.open_uri(&f.abs), &f.content) {
                (Some(uri), Some(bytes)) if std::str::from_utf8(bytes).is_ok() => {
                    self.set_buffer(&uri, String::from_utf8_lossy(bytes).into_owned())
                        .await
                }
                _ => crate::checkpoint::write_to_disk(f).map_err(|e| e.to_string()),
            };
            if let Err(why) = result {
                failed.push(format!("{} ({why})", f.path));
            }
        }
        failed
    }

    /// Replaces a buffer's text with `target`, done only when the editor's `didChange` shows it.
    async fn set_buffer(&self, uri: &str, target: String) -> Result<(), String> {
        let (edits, version, profile, wait) = {
            let st = self.lock();
            let doc = st.docs.get(uri).ok_or("the file was closed meanwhile")?;
            let current = doc.text.to_string();
            if current == target {
                return Ok(());
            }
            let edits = minimal_edits(&st.docs, &doc.text, &current, &target);
            (edits, doc.version, st.client.clone(), st.edit_timeout)
        };
        if !profile.apply_edit {
            return Err("the editor does not accept edits from the server".into());
        }
        let parsed: Uri = uri.parse().map_err(|_| format!("bad URI {uri}"))?;
        let edit = crate::lsp::edits::buffer_edit(&profile, parsed, version, edits);
        let notified = self.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let label =
            (!profile.name.eq_ignore_ascii_case("neovim")).then(|| "OpenHands: restore".to_owned());
        let answer = tokio::time::timeout(
            wait,
            self.client
                .send_request::<ApplyWorkspaceEdit>(ApplyWorkspaceEditParams { label, edit }),
        )
        .await
        .map_err(|_| format!("the editor did not answer within {} s", wait.as_secs()))?
        .map_err(|e| format!("the editor answered with an error: {}", e.message))?;
        if !answer.applied {
            return Err(format!(
                "the editor refused it ({})",
                answer
                    .failure_reason
                    .unwrap_or_else(|| "no reason given".into())
            ));
        }
        let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
        loop {
            if self
                .lock()
                .docs
                .get(uri)
                .is_some_and(|d| d.text == target.as_str())
            {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified.as_mut())
                .await
                .is_err()
            {
                return Err(
                    "the editor said it applied the edit, but the buffer did not change".into(),
                );
            }
            notified.set(self.changed.notified());
            notified.as_mut().enable();
        }
    }
}

/// Tells the editor how a background revert or restore ended: a log line (shown too when it failed or no
/// panel follows) and, to a rich client, `openhands/reviewUpdated` (`note` with `ok` and `message` added).
pub(super) async fn report(
    client: &Client,
    editor: &EditorSide,
    outcome: Result<String, String>,
    mut note: serde_json::Value,
) {
    let outbox = editor.lock().outbox.clone();
    let panel = outbox.is_on();
    let (kind, line) = match &outcome {
        Ok(l) => (MessageType::INFO, l.clone()),
        Err(l) => (MessageType::ERROR, format!("OpenHands: {l}")),
    };
    if panel {
        note["ok"] = outcome.is_ok().into();
        note["message"] = match &outcome {
            Ok(l) | Err(l) => l.clone().into(),
        };
        outbox.send(crate::lsp::rich::Rich::Review(note));
    }
    client.log_message(kind, line.clone()).await;
    if kind == MessageType::ERROR || !panel {
        client
            .show_message(kind, crate::lsp::tasks::short(&line))
            .await;
    }
}
