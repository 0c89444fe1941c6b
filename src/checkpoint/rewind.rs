//! Rewind: the steps of a conversation that have a checkpoint, the files to write to go back to one, and the
//! conversation cut there (the rest kept as a branch in storage, the agent told with a message it reads).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::tasks::TaskRecords;
use super::{CheckpointError, Checkpoints};
use crate::events::{Event, EventSource, EventStream, kinds};
use crate::storage::{ConversationId, Storage};

/// A step that made a checkpoint: the workspace as it was just before the step's action ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The action's event id; rewinding to it undoes this action and everything after.
    pub event_id: i64,
    pub checkpoint: String,
    pub timestamp: String,
    /// One line: what the action did.
    pub summary: String,
}

/// The steps of `events` that have a checkpoint, oldest first.
pub fn steps(events: &[Event]) -> Vec<Step> {
    events
        .iter()
        .filter_map(|e| {
            let obs = e.as_observation()?;
            let checkpoint = obs.meta.checkpoint.clone()?;
            let cause = obs.meta.cause?;
            let action = events.iter().find(|a| a.id() == cause)?;
            let summary = action.as_action().map(summary).unwrap_or_default();
            Some(Step {
                event_id: cause,
                checkpoint,
                timestamp: action.meta().timestamp.clone().unwrap_or_default(),
                summary,
            })
        })
        .collect()
}

/// One line saying what an action did.
fn summary(action: &openhands_runtime_api::ActionEvent) -> String {
    use openhands_runtime_api::Action;
    let text = match &action.action {
        Action::Run(r) => format!("$ {}", r.command),
        Action::RunIpython(c) => format!("python: {}", c.code),
        Action::Edit(e) => format!("edit {} ({})", e.path, e.command),
        Action::Write(w) => format!("write {}", w.path),
        other => other.kind().to_owned(),
    };
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_owned(),
    }
}

/// One file to put back: its text or bytes, or `None` to remove it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRestore {
    /// Relative to the workspace.
    pub path: String,
    pub abs: PathBuf,
    pub content: Option<Vec<u8>>,
    /// The git mode of `content` (`100755` executable, `120000` a symlink).
    pub mode: Option<String>,
}

/// What a restore will write, computed before anything is changed.
#[derive(Debug, Clone)]
pub struct RestorePlan {
    /// The checkpoint restored.
    pub target: String,
    /// The workspace just before the restore (kept, so the restore itself can be undone).
    pub current: String,
    pub files: Vec<FileRestore>,
}

/// The files that differ between the workspace now (with the unsaved buffers) and `target`.
pub fn plan_restore(
    checkpoints: &Checkpoints,
    target: &str,
) -> Result<RestorePlan, CheckpointError> {
    let shadow = checkpoints.shadow();
    if !shadow.has(target) {
        return Err(CheckpointError::Missing(target.to_owned()));
    }
    let current = checkpoints.snapshot()?;
    let changes: Vec<_> = shadow
        .changes(&current, target, None)?
        .into_iter()
        // A nested repository is the user's own business.
        .filter(|c| c.after.as_ref().is_none_or(|b| b.mode != "160000"))
        .filter(|c| c.before.as_ref().is_none_or(|b| b.mode != "160000"))
        .collect();
    let ids: Vec<&str> = changes
        .iter()
        .filter_map(|c| c.after.as_ref().map(|b| b.id.as_str()))
        .collect();
    let mut blobs = shadow.read_blobs(&ids)?.into_iter();
    let files = changes
        .iter()
        .map(|c| FileRestore {
            path: c.path.clone(),
            abs: shadow.workspace().join(&c.path),
            content: c.after.as_ref().and_then(|_| blobs.next()),
            mode: c.after.as_ref().map(|b| b.mode.clone()),
        })
        .collect();
    Ok(RestorePlan {
        target: target.to_owned(),
        current,
        files,
    })
}

/// Writes one file as `file` says (through a temporary file and a rename), or removes it.
pub fn write_to_disk(file: &FileRestore) -> Result<(), CheckpointError> {
    let fail = |e: std::io::Error| {
        CheckpointError::Failed(format!("cannot restore {}: {e}", file.abs.display()))
    };
    let Some(bytes) = &file.content else {
        return match std::fs::remove_file(&file.abs) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
            _ => Ok(()),
        };
    };
    if let Some(parent) = file.abs.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    if file.mode.as_deref() == Some("120000") {
        let _ = std::fs::remove_file(&file.abs);
        let target = String::from_utf8_lossy(bytes).into_owned();
        return std::os::unix::fs::symlink(target, &file.abs).map_err(fail);
    }
    let name = file
        .abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = file
        .abs
        .with_file_name(format!(".{name}.openhands-restore.{}", std::process::id()));
    let perms = match file.mode.as_deref() {
        Some("100755") => 0o755,
        _ => 0o644,
    };
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(perms)))
        .and_then(|_| std::fs::rename(&tmp, &file.abs));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(fail)
}

/// Where the cut part of a conversation went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    /// The whole log as it was before the cut.
    pub log: PathBuf,
    /// Events kept, and moved out.
    pub kept: usize,
    pub moved: usize,
}

/// Refuses while a task of the conversation runs (in any live process).
pub fn ensure_idle(storage: &Storage, conversation: &str) -> Result<(), CheckpointError> {
    let loaded = storage
        .load(conversation)
        .map_err(|e| CheckpointError::Usage(e.to_string()))?;
    let meta = loaded.meta;
    if meta.is_busy() && meta.owner.is_some_and(|o| o.is_alive()) {
        return Err(CheckpointError::Busy(format!(
            "conversation {conversation} has a task running; cancel it or wait for it to end before rewinding"
        )));
    }
    Ok(())
}

/// Cuts the conversation before `event_id`: the whole log is kept under `branches/`, the events from
/// `event_id` on leave the log, and the agent is told with a user message (`note`) it reads next.
pub fn truncate_conversation(
    storage: &Storage,
    conversation: &str,
    event_id: i64,
    note: &str,
    restored_tree: Option<&str>,
) -> Result<Branch, CheckpointError> {
    ensure_idle(storage, conversation)?;
    let id =
        ConversationId::parse(conversation).map_err(|e| CheckpointError::Usage(e.to_string()))?;
    let loaded = storage
        .load(conversation)
        .map_err(|e| CheckpointError::Usage(e.to_string()))?;
    if !loaded.events.iter().any(|e| e.id() == event_id) {
        return Err(CheckpointError::Usage(format!(
            "conversation {conversation} has no event {event_id}"
        )));
    }
    let dir = storage.conversation_dir(&id);
    let events_path = dir.join("events.jsonl");
    let branches = dir.join("branches");
    let io = |what: &str, p: &Path, e: std::io::Error| {
        CheckpointError::Failed(format!("cannot {what} {}: {e}", p.display()))
    };
    std::fs::create_dir_all(&branches).map_err(|e| io("create", &branches, e))?;
    let stamp = crate::events::now_iso().replace([':', '.'], "-");
    let log = branches.join(format!("before-{event_id}-{stamp}.jsonl"));
    std::fs::copy(&events_path, &log).map_err(|e| io("keep", &log, e))?;
    let records = TaskRecords::open(storage, conversation)?;
    let mut tasks = records.load()?;
    if records.path().exists() {
        let copy = branches.join(format!("before-{event_id}-{stamp}.tasks.json"));
        std::fs::copy(records.path(), &copy).map_err(|e| io("keep", &copy, e))?;
    }
    let (kept, moved): (Vec<Event>, Vec<Event>) =
        loaded.events.into_iter().partition(|e| e.id() < event_id);
    let mut text = String::new();
    for e in &kept {
        text.push_str(
            &serde_json::to_string(&e.to_value()).map_err(|e| {
                CheckpointError::Failed(format!("cannot write the conversation: {e}"))
            })?,
        );
        text.push('\n');
    }
    let tmp = dir.join(".events.jsonl.rewind.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &events_path))
        .map_err(|e| io("write", &events_path, e))?;
    // Runs that started after the cut are gone; one cut in its middle ends there.
    tasks.retain(|t| t.first_event < event_id);
    for t in tasks.iter_mut().filter(|t| t.last_event >= event_id) {
        t.last_event = event_id - 1;
        if let Some(tree) = restored_tree {
            t.end = tree.to_owned();
        }
    }
    records.save(&tasks)?;
    let sink = storage
        .open_log(conversation)
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let stream = EventStream::new(kept.clone(), Some(Box::new(sink)));
    stream
        .add(kinds::message(note, false), EventSource::User)
        .map_err(|e| CheckpointError::Failed(e.to_string()))?;
    let mut meta = loaded.meta;
    meta.updated_at = crate::events::now_iso();
    meta.state = "awaiting_user_input".into();
    let _ = storage.save_meta(&meta);
    let _ = std::fs::write(
        log.with_extension("json"),
        json!({"cutBefore": event_id, "filesBeforeRewind": restored_tree}).to_string(),
    );
    Ok(Branch {
        log,
        kept: kept.len(),
        moved: moved.len(),
    })
}

/// The message the agent reads after a rewind.
pub fn rewind_note(event_id: i64, files: Option<(usize, &[String])>) -> String {
    let mut note = format!(
        "[Rewind] The user rewound this conversation to just before event {event_id}: everything you did from that step on was undone and is no longer part of this conversation."
    );
    match files {
        Some((n, failed)) => {
            note.push_str(&format!(
                " The workspace files were restored to that point ({n} file(s) changed back)."
            ));
            if !failed.is_empty() {
                note.push_str(&format!(
                    " These could not be restored and may still hold later changes: {}.",
                    failed.join(", ")
                ));
            }
        }
        None => note.push_str(
            " The files were NOT restored: they may still hold the changes of the undone steps.",
        ),
    }
    note.push_str(" View files again before relying on what you saw earlier.");
    note
}
