//! A task's changes as a set: each run of a conversation records the workspace before and after it
//! (`tasks.json` beside the conversation's events); its changes are the difference, and each file can be
//! kept or reverted (a three-way merge when the user edited the file since, or a refusal; never lost work).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::rewind::FileRestore;
use super::{CheckpointError, Shadow};
use crate::storage::{ConversationId, Storage};

const TASKS_FILE: &str = "tasks.json";

/// What the user decided about a changed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Settled {
    Kept,
    Reverted,
}

/// One run of a conversation (one user message to the agent's answer) and the workspace around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The id of the run's first event (the user's message).
    pub first_event: i64,
    /// The id of its last event.
    pub last_event: i64,
    /// The workspace before the run (a tree in the shadow repository).
    pub base: String,
    /// The workspace when the run ended.
    pub end: String,
    #[serde(default)]
    pub settled: BTreeMap<String, Settled>,
}

/// A changed file of a task, for a list the user reviews.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    pub path: String,
    /// `added`, `modified` or `deleted`.
    pub status: &'static str,
    /// Lines added and removed; `None` for a binary file.
    pub added: Option<u64>,
    pub removed: Option<u64>,
    pub binary: bool,
    pub settled: Option<Settled>,
}

/// The task records of one conversation.
pub struct TaskRecords {
    path: PathBuf,
}

impl TaskRecords {
    pub fn open(storage: &Storage, conversation: &str) -> Result<Self, CheckpointError> {
        let id = ConversationId::parse(conversation)
            .map_err(|e| CheckpointError::Usage(e.to_string()))?;
        Ok(Self {
            path: storage.conversation_dir(&id).join(TASKS_FILE),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Vec<TaskRecord>, CheckpointError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                CheckpointError::Failed(format!("{} is unreadable: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(CheckpointError::Failed(format!(
                "cannot read {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// Replaces the file atomically.
    pub fn save(&self, records: &[TaskRecord]) -> Result<(), CheckpointError> {
        let text = serde_json::to_string_pretty(records)
            .map_err(|e| CheckpointError::Failed(e.to_string()))?;
        let tmp = self
            .path
            .with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                CheckpointError::Failed(format!("cannot write {}: {e}", self.path.display()))
            })
    }
}

/// Appends a run's record; a failure costs only the review of that task (logged).
pub fn record_task(storage: &Storage, conversation: &str, record: TaskRecord) {
    let saved = TaskRecords::open(storage, conversation).and_then(|r| {
        let mut all = r.load()?;
        all.push(record);
        r.save(&all)
    });
    if let Err(e) = saved {
        tracing::warn!("cannot record the task's checkpoints: {e}");
    }
}

impl TaskRecord {
    /// Every file the task changed, with its line counts and what the user decided.
    pub fn changes(&self, shadow: &Shadow) -> Result<Vec<FileChange>, CheckpointError> {
        let counts = shadow.line_counts(&self.base, &self.end)?;
        let changes = shadow.changes(&self.base, &self.end, None)?;
        Ok(changes
            .into_iter()
            .map(|c| {
                let lines = counts
                    .iter()
                    .find(|n| n.path == c.path)
                    .and_then(|n| n.lines);
                FileChange {
                    status: match (&c.before, &c.after) {
                        (None, _) => "added",
                        (_, None) => "deleted",
                        _ => "modified",
                    },
                    added: lines.map(|l| l.0),
                    removed: lines.map(|l| l.1),
                    binary: lines.is_none(),
                    settled: self.settled.get(&c.path).copied(),
                    path: c.path,
                }
            })
            .collect())
    }

    /// The files to write to undo the task's change to `file` (or every file not yet settled), given the
    /// workspace as it is now (`current`). A file the user changed since the task is merged; if the
    /// changes overlap, nothing is reverted and the error names the file.
    pub fn revert_plan(
        &self,
        shadow: &Shadow,
        current: &str,
        file: Option<&str>,
    ) -> Result<Vec<FileRestore>, CheckpointError> {
        let changes = shadow.changes(&self.base, &self.end, file)?;
        if let Some(f) = file
            && changes.is_empty()
        {
            return Err(CheckpointError::Usage(format!(
                "the task did not change {f}"
            )));
        }
        let mut plan = Vec::new();
        for c in changes {
            if file.is_none() && self.settled.contains_key(&c.path) {
                continue;
            }
            let now = shadow.entry(current, &c.path)?;
            let content = |b: &Option<super::Blob>| -> Result<Option<Vec<u8>>, CheckpointError> {
                match b {
                    Some(b) => Ok(shadow.read_blobs(&[&b.id])?.pop()),
                    None => Ok(None),
                }
            };
            let target = if now == c.after {
                content(&c.before)?
            } else {
                // The user changed the file after the task: undo only the task's change, on top of theirs.
                let (Some(_), Some(_), Some(_)) = (&now, &c.after, &c.before) else {
                    return Err(CheckpointError::Usage(format!(
                        "{} was created or deleted since the task changed it; revert it by hand (nothing was reverted)",
                        c.path
                    )));
                };
                let (ours, base, theirs) =
                    (content(&now)?, content(&c.after)?, content(&c.before)?);
                let (ours, base, theirs) = (
                    ours.unwrap_or_default(),
                    base.unwrap_or_default(),
                    theirs.unwrap_or_default(),
                );
                if [&ours, &base, &theirs].iter().any(|b| b.contains(&0)) {
                    return Err(CheckpointError::Usage(format!(
                        "{} is binary and was changed since the task; revert it by hand (nothing was reverted)",
                        c.path
                    )));
                }
                match shadow.merge(&ours, &base, &theirs)? {
                    Some(merged) => Some(merged),
                    None => {
                        return Err(CheckpointError::Usage(format!(
                            "{} was edited since the task on the lines the task changed; nothing was reverted (undo it by hand or keep it)",
                            c.path
                        )));
                    }
                }
            };
            plan.push(FileRestore {
                abs: shadow.workspace().join(&c.path),
                mode: c.before.as_ref().map(|b| b.mode.clone()),
                path: c.path,
                content: target,
            });
        }
        Ok(plan)
    }
}

/// A run under way: the workspace before it, recorded with the workspace after it when it ends.
pub struct TaskRun {
    checkpoints: Option<std::sync::Arc<super::Checkpoints>>,
    stream: std::sync::Arc<crate::events::EventStream>,
    first_event: i64,
    base: Option<String>,
}

impl TaskRun {
    /// Takes the checkpoint before a run (nothing without checkpoints).
    pub async fn begin(
        checkpoints: &Option<std::sync::Arc<super::Checkpoints>>,
        stream: &std::sync::Arc<crate::events::EventStream>,
    ) -> Self {
        let first_event = stream.events().last().map_or(0, |e| e.id() + 1);
        let base = match checkpoints {
            Some(c) => c.snapshot_now().await,
            None => None,
        };
        Self {
            checkpoints: checkpoints.clone(),
            stream: stream.clone(),
            first_event,
            base,
        }
    }

    /// Records the run with the workspace as it ends.
    pub async fn end(self, storage: &Storage, conversation: &str) {
        let (Some(c), Some(base)) = (&self.checkpoints, self.base) else {
            return;
        };
        let Some(end) = c.snapshot_now().await else {
            return;
        };
        let last_event = self.stream.events().last().map_or(-1, |e| e.id());
        record_task(
            storage,
            conversation,
            TaskRecord {
                first_event: self.first_event,
                last_event,
                base,
                end,
                settled: BTreeMap::new(),
            },
        );
    }
}
