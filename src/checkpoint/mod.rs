//! Checkpoints: the workspace recorded before every step that may change files, in a shadow git repository
//! under the data directory, so a user can rewind files and conversation and review a task's changes. Knows
//! no front end: editors give their unsaved buffers through [`BufferSource`].

/// The workspace directory where the LSP server writes its transcripts: ours, never part of a snapshot (a
/// task's first step could otherwise catch its `.gitignore` half-written and list it as a change).
pub const TRANSCRIPTS_DIR: &str = ".openhands/transcripts";

mod incremental;
mod objects;
mod rewind;
mod runtime;
mod shadow;
mod tasks;
mod tree;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use openhands_runtime_api::Action;

use crate::config::{RuntimeKind, Settings};

pub use rewind::{
    Branch, FileRestore, RestorePlan, Step, ensure_idle, plan_restore, rewind_note, steps,
    truncate_conversation, write_to_disk,
};
pub use runtime::{BufferSource, CheckpointRuntime};
pub use shadow::{Blob, Change, EMPTY_TREE, LineCount, Shadow};
pub use tasks::{FileChange, Settled, TaskRecord, TaskRecords, TaskRun, record_task};

/// Why a checkpoint operation failed; the text is a sentence for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckpointError {
    /// The runtime keeps the files where we cannot snapshot them.
    #[error("{0}")]
    Unavailable(String),
    /// The store no longer holds a checkpoint (it was deleted).
    #[error(
        "checkpoint {0} is no longer in the checkpoint store (was the store deleted?); nothing was changed"
    )]
    Missing(String),
    /// The conversation's task is running.
    #[error("{0}")]
    Busy(String),
    /// The request does not make sense (no such step, no such file).
    #[error("{0}")]
    Usage(String),
    /// git or the disk failed.
    #[error("{0}")]
    Failed(String),
}

/// Whether a checkpoint precedes `action`: it may write files.
pub fn may_change_files(action: &Action) -> bool {
    matches!(
        action,
        Action::Write(_) | Action::Edit(_) | Action::Run(_) | Action::RunIpython(_)
    )
}

/// A workspace's checkpoint store with the front end's unsaved buffers.
pub struct Checkpoints {
    shadow: Arc<Shadow>,
    /// The workspace as the front end names it (buffers' paths start with it, maybe not canonical).
    workspace: PathBuf,
    buffers: Option<Arc<dyn BufferSource>>,
}

impl Checkpoints {
    /// The store of `workspace` under `data_dir`.
    pub fn open(
        data_dir: &Path,
        workspace: &Path,
        buffers: Option<Arc<dyn BufferSource>>,
    ) -> Result<Self, CheckpointError> {
        Ok(Self {
            shadow: Arc::new(Shadow::open(data_dir, workspace)?),
            workspace: workspace.to_owned(),
            buffers,
        })
    }

    /// [`Self::open`] for a store that snapshots at every step (a session's): a watcher names the files
    /// that changed since the last snapshot and only those are read.
    pub fn open_watched(
        data_dir: &Path,
        workspace: &Path,
        buffers: Option<Arc<dyn BufferSource>>,
    ) -> Result<Self, CheckpointError> {
        Ok(Self {
            shadow: Arc::new(Shadow::open_watched(data_dir, workspace)?),
            workspace: workspace.to_owned(),
            buffers,
        })
    }

    /// The store for a session's settings: `Unavailable` with the remote runtime, whose files are not on
    /// this machine.
    pub fn for_settings(
        settings: &Settings,
        workspace: &Path,
        buffers: Option<Arc<dyn BufferSource>>,
    ) -> Result<Self, CheckpointError> {
        if settings.runtime.kind == RuntimeKind::Remote {
            return Err(unavailable_remote());
        }
        Self::open_watched(&settings.data_dir, workspace, buffers)
    }

    pub fn shadow(&self) -> &Arc<Shadow> {
        &self.shadow
    }

    /// The unsaved buffers inside the workspace, relative, that differ from the disk.
    fn overlay(&self) -> Vec<(String, String)> {
        let Some(source) = &self.buffers else {
            return Vec::new();
        };
        source
            .buffers()
            .into_iter()
            .filter_map(|(abs, text)| {
                let rel = abs
                    .strip_prefix(&self.workspace)
                    .or_else(|_| abs.strip_prefix(self.shadow.workspace()))
                    .ok()?;
                let rel = rel.to_str()?.to_owned();
                let on_disk = std::fs::read(&abs).ok();
                (on_disk.as_deref() != Some(text.as_bytes())).then_some((rel, text))
            })
            .collect()
    }

    /// Records the workspace (with the unsaved buffers) now; blocking.
    pub fn snapshot(&self) -> Result<String, CheckpointError> {
        let overlay = self.overlay();
        self.shadow.snapshot(&overlay)
    }

    /// [`Self::snapshot`] off the async threads; a failure is logged and costs only this checkpoint.
    pub async fn snapshot_now(self: &Arc<Self>) -> Option<String> {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || me.snapshot()).await {
            Ok(Ok(tree)) => Some(tree),
            Ok(Err(e)) => {
                tracing::warn!("no checkpoint for this step: {e}");
                None
            }
            Err(e) => {
                tracing::warn!("no checkpoint for this step: {e}");
                None
            }
        }
    }
}

/// What the user reads when checkpoints are asked of a remote runtime.
pub fn unavailable_remote() -> CheckpointError {
    CheckpointError::Unavailable(
        "checkpoints are unavailable with the remote runtime: its files are not on this machine"
            .into(),
    )
}

/// Attaches checkpoints to a session's runtime: the wrapped runtime and the store, or the runtime as it is
/// when checkpoints are unavailable (the remote runtime, a store that cannot be created: logged).
pub fn attach(
    settings: &Settings,
    workspace: &Path,
    buffers: Option<Arc<dyn BufferSource>>,
    runtime: Arc<dyn crate::runtime::Runtime>,
) -> (Arc<dyn crate::runtime::Runtime>, Option<Arc<Checkpoints>>) {
    match Checkpoints::for_settings(settings, workspace, buffers) {
        Ok(c) => {
            let c = Arc::new(c);
            (
                Arc::new(CheckpointRuntime::new(runtime, c.clone())),
                Some(c),
            )
        }
        Err(e) => {
            tracing::info!("no checkpoints for this session: {e}");
            (runtime, None)
        }
    }
}
