//! A task's changes as a reviewable set: `openhands.task.changes`, `diff`, `keep` and `revert`, and the code
//! actions that offer them on a changed file in editors without a panel.

use std::sync::Mutex;

use serde_json::{Map, Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use super::editor::{EditorSide, report};
use super::{
    Ctx, ctx, default_conversation, opt_str, refuse_if_running, rel_file, running_here, task_args,
};
use crate::checkpoint::{Settled, TaskRecord, TaskRecords};
use crate::lsp::{Backend, uri_path};

/// A task's record: by `taskId` (this server's), or the last run of `conversationId`.
fn find_record(
    backend: &Backend,
    ctx: &Ctx,
    o: &Map<String, Value>,
) -> Result<(String, TaskRecords, Vec<TaskRecord>, usize), String> {
    let (conversation, first_event) = match (opt_str(o, "taskId")?, opt_str(o, "conversationId")?) {
        (Some(t), _) => {
            let st = backend.lock();
            let task = st
                .tasks
                .iter()
                .find(|x| x.task_id == t)
                .ok_or_else(|| format!("no task {t}"))?;
            (
                task.conversation_id.clone(),
                Some(task.first_event.load(std::sync::atomic::Ordering::Relaxed)),
            )
        }
        (None, c) => {
            let c = match c {
                Some(c) => c.to_owned(),
                None => default_conversation(backend)?,
            };
            // "The last run" would be the one before the running task's: not what the caller means.
            if let Some(t) = running_here(backend, &c) {
                return Err(format!(
                    "task {t} is running in conversation {c}; its changes are listed when it ends (an earlier run is named by its taskId)"
                ));
            }
            (c, None)
        }
    };
    ctx.conversation(&conversation)?;
    let records = TaskRecords::open(&ctx.storage, &conversation).map_err(|e| e.to_string())?;
    let all = records.load().map_err(|e| e.to_string())?;
    let index = match first_event {
        Some(f) => all.iter().position(|r| r.first_event == f),
        None => all.len().checked_sub(1),
    }
    .ok_or_else(|| match running_here(backend, &conversation) {
        Some(t) => format!("task {t} is still running; its changes are listed when it ends"),
        None => format!("no finished task with checkpoints in conversation {conversation}"),
    })?;
    Ok((conversation, records, all, index))
}

pub(super) fn changes(backend: &Backend, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let ctx = ctx(backend)?;
    let (conversation, _, all, i) = find_record(backend, &ctx, &o)?;
    let checkpoints = ctx.checkpoints(backend)?;
    let files = all[i]
        .changes(checkpoints.shadow())
        .map_err(|e| e.to_string())?;
    Ok(
        json!({"conversationId": conversation, "firstEvent": all[i].first_event,
              "lastEvent": all[i].last_event, "files": files}),
    )
}

pub(super) fn diff(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let ctx = ctx(backend)?;
    let file = rel_file(&ctx, opt_str(&o, "file")?)?;
    let (conversation, _, all, i) = find_record(backend, &ctx, &o)?;
    let r = &all[i];
    let checkpoints = ctx.checkpoints(backend)?;
    let text = checkpoints
        .shadow()
        .diff(&r.base, &r.end, file.as_deref())
        .map_err(|e| e.to_string())?;
    if text.is_empty() {
        return Err(match &file {
            Some(f) => format!("the task did not change {f}"),
            None => "the task changed no file".to_owned(),
        });
    }
    // A file of ours, read-only, that any editor can open.
    let dir = ctx.storage.root().join("reviews");
    let name = format!(
        "{conversation}-{}{}.diff",
        r.first_event,
        file.as_deref()
            .map(|f| format!("-{}", f.replace('/', "_")))
            .unwrap_or_default()
    );
    let path = dir.join(name);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let _ = std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o444));
    let uri = format!("file://{}", path.display());
    if backend.lock().client.show_document
        && let Ok(u) = uri.parse::<Uri>()
    {
        crate::lsp::tasks::show_document(client, u);
    }
    Ok(json!({"uri": uri, "diff": text}))
}

pub(super) fn keep(backend: &Backend, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let ctx = ctx(backend)?;
    let file = rel_file(&ctx, opt_str(&o, "file")?)?;
    let (_, records, mut all, i) = find_record(backend, &ctx, &o)?;
    let checkpoints = ctx.checkpoints(backend)?;
    let changed = all[i]
        .changes(checkpoints.shadow())
        .map_err(|e| e.to_string())?;
    let mut kept = Vec::new();
    for c in changed {
        let wanted = match &file {
            Some(f) => &c.path == f,
            None => c.settled.is_none(),
        };
        if wanted {
            all[i].settled.insert(c.path.clone(), Settled::Kept);
            kept.push(c.path);
        }
    }
    if let (Some(f), true) = (&file, kept.is_empty()) {
        return Err(format!("the task did not change {f}"));
    }
    records.save(&all).map_err(|e| e.to_string())?;
    Ok(json!({"kept": kept}))
}

pub(super) fn revert(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let ctx = ctx(backend)?;
    let file = rel_file(&ctx, opt_str(&o, "file")?)?;
    let (conversation, records, all, i) = find_record(backend, &ctx, &o)?;
    refuse_if_running(backend, &ctx, &conversation)?;
    let checkpoints = ctx.checkpoints(backend)?;
    let current = checkpoints.snapshot().map_err(|e| e.to_string())?;
    let plan = all[i]
        .revert_plan(checkpoints.shadow(), &current, file.as_deref())
        .map_err(|e| e.to_string())?;
    let paths: Vec<String> = plan.iter().map(|f| f.path.clone()).collect();
    let editor = EditorSide {
        client: client.clone(),
        state: backend.state.clone(),
        changed: backend.changed.clone(),
    };
    let client = client.clone();
    let task = opt_str(&o, "taskId")?.map(str::to_owned);
    tokio::spawn(async move {
        let failed = editor.apply(&plan).await;
        let mut all = all;
        for f in &plan {
            if !failed
                .iter()
                .any(|x| x.starts_with(&format!("{} (", f.path)))
            {
                all[i].settled.insert(f.path.clone(), Settled::Reverted);
            }
        }
        let saved = records.save(&all).map_err(|e| e.to_string());
        let outcome = match (failed.is_empty(), saved) {
            (true, Ok(())) => Ok(format!(
                "OpenHands reverted {} file(s) of the task in conversation {conversation}: {}",
                plan.len(),
                plan.iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (_, Err(e)) => Err(format!("the revert could not be recorded: {e}")),
            (false, _) => Err(format!("NOT reverted: {}", failed.join(", "))),
        };
        let undone: Vec<&str> = plan
            .iter()
            .map(|f| f.path.as_str())
            .filter(|p| all[i].settled.get(*p) == Some(&Settled::Reverted))
            .collect();
        let note = json!({"action": "revert", "conversationId": conversation, "taskId": task,
                          "firstEvent": all[i].first_event, "reverted": undone, "failed": failed});
        report(&client, &editor, outcome, note).await;
    });
    Ok(json!({"reverting": paths, "started": true, "checkpointBefore": current}))
}

/// The changed files of the last finished task, by its checkpoints (one git call per new pair).
static CHANGED: Mutex<Option<ChangedFiles>> = Mutex::new(None);

/// `(base, end)` trees and the files that differ between them.
type ChangedFiles = ((String, String), Vec<String>);

/// Keep, revert and diff of this file when the last finished task of this server changed it and the user
/// has not settled it: the review for editors without a panel.
pub fn code_actions(backend: &Backend, uri: &Uri) -> Vec<(String, &'static str, Vec<Value>)> {
    let Some(path) = uri_path(uri) else {
        return Vec::new();
    };
    let Some((task_id, conversation, first)) = backend
        .lock()
        .tasks
        .iter()
        .rev()
        .find(|t| {
            use crate::lsp::tasks::TaskState as S;
            matches!(t.state(), S::Finished | S::AwaitingUserInput | S::Stopped)
        })
        .map(|t| {
            (
                t.task_id.clone(),
                t.conversation_id.clone(),
                t.first_event.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    else {
        return Vec::new();
    };
    let Ok(ctx) = ctx(backend) else {
        return Vec::new();
    };
    let Some(rel) = path
        .strip_prefix(&ctx.workspace)
        .ok()
        .map(|r| r.to_string_lossy().into_owned())
    else {
        return Vec::new();
    };
    let Some(record) = TaskRecords::open(&ctx.storage, &conversation)
        .and_then(|r| r.load())
        .ok()
        .and_then(|all| all.into_iter().find(|r| r.first_event == first))
    else {
        return Vec::new();
    };
    if record.settled.contains_key(&rel) {
        return Vec::new();
    }
    let key = (record.base.clone(), record.end.clone());
    let cached = CHANGED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .filter(|(k, _)| *k == key)
        .map(|(_, files)| files.clone());
    let files = match cached {
        Some(f) => f,
        None => {
            let Ok(checkpoints) = ctx.checkpoints(backend) else {
                return Vec::new();
            };
            let Ok(changes) = checkpoints
                .shadow()
                .changes(&record.base, &record.end, None)
            else {
                return Vec::new();
            };
            let files: Vec<String> = changes.into_iter().map(|c| c.path).collect();
            *CHANGED.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, files.clone()));
            files
        }
    };
    if !files.contains(&rel) {
        return Vec::new();
    }
    let args = vec![json!({"taskId": task_id, "file": rel})];
    vec![
        (
            format!("OpenHands: keep task {task_id}'s changes to {rel}"),
            "openhands.task.keep",
            args.clone(),
        ),
        (
            format!("OpenHands: revert task {task_id}'s changes to {rel}"),
            "openhands.task.revert",
            args.clone(),
        ),
        (
            format!("OpenHands: show task {task_id}'s diff of {rel}"),
            "openhands.task.diff",
            args,
        ),
    ]
}
