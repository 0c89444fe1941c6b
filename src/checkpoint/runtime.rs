//! A `Runtime` wrapper that takes a checkpoint before every action that may change files and records it in
//! the action's observation, so the conversation says which checkpoint each step made.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use openhands_runtime_api::{ActionEvent, Observation};

use super::{Checkpoints, may_change_files};
use crate::runtime::{Runtime, RuntimeError};

/// Texts a front end shows the user that the disk does not hold yet (an editor's unsaved buffers): a
/// checkpoint records them instead of the disk's bytes.
pub trait BufferSource: Send + Sync {
    /// `(absolute path, text)` of every open buffer.
    fn buffers(&self) -> Vec<(PathBuf, String)>;
}

/// The runtime with a checkpoint before each step that may change files.
pub struct CheckpointRuntime {
    inner: Arc<dyn Runtime>,
    checkpoints: Arc<Checkpoints>,
}

impl CheckpointRuntime {
    pub fn new(inner: Arc<dyn Runtime>, checkpoints: Arc<Checkpoints>) -> Self {
        Self { inner, checkpoints }
    }

    async fn run(&self, action: &ActionEvent) -> Result<Observation, RuntimeError> {
        let checkpoint = match may_change_files(&action.action) {
            true => self.checkpoints.snapshot_now().await,
            false => None,
        };
        let mut obs = self.inner.execute(action).await?;
        obs.meta.checkpoint = checkpoint;
        Ok(obs)
    }
}

impl Runtime for CheckpointRuntime {
    fn execute<'a>(
        &'a self,
        action: &'a ActionEvent,
    ) -> BoxFuture<'a, Result<Observation, RuntimeError>> {
        self.run(action).boxed()
    }
    crate::runtime::pass_on!(
        interrupt,
        health,
        close,
        workspace_dir,
        description,
        secrets,
        client,
        confirm,
        before_finish
    );
}
