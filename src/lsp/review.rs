//! Review and rewind in the editor: `openhands.checkpoint.list`/`restore` and `openhands.task.changes`,
//! `diff`, `keep`, `revert`. Open buffers change only through version-checked `workspace/applyEdit`s that
//! the editor's `didChange` confirms; closed files change on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::request::ApplyWorkspaceEdit;
use tower_lsp_server::ls_types::{
    ApplyWorkspaceEditParams, DocumentChanges, MessageType, OneOf,
    OptionalVersionedTextDocumentIdentifier, ShowDocumentParams, TextDocumentEdit, Uri,
    WorkspaceEdit,
};

use super::edits::minimal_edits;
use super::{Backend, State, uri_path};
use crate::checkpoint::{
    BufferSource, CheckpointError, Checkpoints, FileRestore, Settled, TaskRecord, TaskRecords,
};
use crate::storage::{ConversationId, Storage};

/// How long the editor has to show a restored buffer's text after it accepted the edit.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

/// The editor's open buffers, for checkpoints.
pub struct Buffers {
    state: Arc<Mutex<State>>,
}

impl Buffers {
    pub fn new(state: Arc<Mutex<State>>) -> Self {
        Self { state }
    }
}

impl BufferSource for Buffers {
    fn buffers(&self) -> Vec<(PathBuf, String)> {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.docs
            .uris()
            .filter_map(|u| {
                let path = uri_path(&u.parse::<Uri>().ok()?)?;
                Some((path, st.docs.get(u)?.text.to_string()))
            })
            .collect()
    }
}

/// The arguments as an object: `{..}` itself, or positional values named by `names` (Helix's strings).
fn object_args(args: &[Value], names: &[&str]) -> Result<Map<String, Value>, String> {
    match args.first() {
        Some(Value::Object(o)) => {
            if let Some(k) = o.keys().find(|k| !names.contains(&k.as_str())) {
                return Err(format!(
                    "unknown argument `{k}`; this command takes {}",
                    names.join(", ")
                ));
            }
            Ok(o.clone())
        }
        _ => Ok(names
            .iter()
            .zip(args)
            .filter(|(_, v)| !v.is_null())
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect()),
    }
}

fn opt_str<'a>(o: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("`{key}` must be a string, got {other}")),
    }
}

fn opt_bool(o: &Map<String, Value>, key: &str, default: bool) -> Result<bool, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(format!("`{key}` must be true or false, got {other}")),
    }
}

/// What every command needs: the workspace, its data directory and the client's abilities.
struct Ctx {
    workspace: PathBuf,
    storage: Storage,
    runtime_kind: crate::config::RuntimeKind,
}

fn ctx(backend: &Backend) -> Result<Ctx, String> {
    let (workspace, overrides) = {
        let st = backend.lock();
        (st.workspace.clone(), st.overrides.clone())
    };
    let workspace = workspace.ok_or("the editor gave no workspace folder")?;
    let settings = crate::config::resolve(&workspace, &overrides, &|k| std::env::var(k).ok())
        .map_err(|e| e.to_string())?;
    let storage = Storage::open(settings.data_dir.clone()).map_err(|e| e.to_string())?;
    Ok(Ctx {
        workspace,
        storage,
        runtime_kind: settings.runtime.kind,
    })
}

impl Ctx {
    fn checkpoints(&self, backend: &Backend) -> Result<Checkpoints, String> {
        if self.runtime_kind == crate::config::RuntimeKind::Remote {
            return Err(crate::checkpoint::unavailable_remote().to_string());
        }
        Checkpoints::open(
            self.storage.root(),
            &self.workspace,
            Some(Arc::new(Buffers::new(backend.state.clone()))),
        )
        .map_err(|e| e.to_string())
    }

    /// A stored conversation of this workspace, with a runtime whose files we can restore.
    fn conversation(&self, id: &str) -> Result<crate::storage::LoadedConversation, String> {
        ConversationId::parse(id).map_err(|e| e.to_string())?;
        let loaded = self.storage.load(id).map_err(|e| e.to_string())?;
        if loaded.meta.runtime == "remote" {
            return Err(crate::checkpoint::unavailable_remote().to_string());
        }
        let same = |a: &Path, b: &Path| {
            a == b
                || a.canonicalize()
                    .ok()
                    .zip(b.canonicalize().ok())
                    .is_some_and(|(x, y)| x == y)
        };
        if !same(&loaded.meta.workspace, &self.workspace) {
            return Err(format!(
                "conversation {id} belongs to workspace {}, not this one",
                loaded.meta.workspace.display()
            ));
        }
        Ok(loaded)
    }
}

/// A task of this server still working in `conversation`.
fn running_here(backend: &Backend, conversation: &str) -> Option<String> {
    backend
        .lock()
        .tasks
        .iter()
        .find(|t| {
            t.conversation_id == conversation
                && !matches!(
                    t.state().as_str(),
                    "finished" | "awaiting_user_input" | "stopped" | "error"
                )
        })
        .map(|t| t.task_id.clone())
}

fn refuse_if_running(backend: &Backend, ctx: &Ctx, conversation: &str) -> Result<(), String> {
    if let Some(task) = running_here(backend, conversation) {
        return Err(format!(
            "task {task} is running in conversation {conversation}; cancel it (openhands.task.cancel) or wait for it to end first"
        ));
    }
    crate::checkpoint::ensure_idle(&ctx.storage, conversation).map_err(|e| e.to_string())
}

/// Runs a review command, or `None` when `command` is not one.
pub fn execute(
    backend: &Backend,
    client: &Client,
    command: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    let result = match command {
        "openhands.checkpoint.list" => list(backend, args),
        "openhands.checkpoint.restore" => restore(backend, client, args),
        "openhands.task.changes" => changes(backend, args),
        "openhands.task.diff" => diff(backend, client, args),
        "openhands.task.keep" => keep(backend, args),
        "openhands.task.revert" => revert(backend, client, args),
        "openhands.task.act" => act(backend, client, args),
        _ => return None,
    };
    Some(result)
}

fn default_conversation(backend: &Backend) -> Result<String, String> {
    backend
        .lock()
        .tasks
        .last()
        .map(|t| t.conversation_id.clone())
        .ok_or_else(|| "no conversation yet: name one with `conversationId`".to_owned())
}

fn list(backend: &Backend, args: &[Value]) -> Result<Value, String> {
    let o = object_args(args, &["conversationId"])?;
    let conversation = match opt_str(&o, "conversationId")? {
        Some(c) => c.to_owned(),
        None => default_conversation(backend)?,
    };
    let ctx = ctx(backend)?;
    let loaded = ctx.conversation(&conversation)?;
    let steps = crate::checkpoint::steps(&loaded.events);
    Ok(json!({"conversationId": conversation, "steps": steps}))
}

fn restore(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    const USAGE: &str =
        "openhands.checkpoint.restore takes {conversationId, eventId, files?, conversation?}";
    let o = object_args(
        args,
        &["conversationId", "eventId", "files", "conversation"],
    )?;
    let conversation = opt_str(&o, "conversationId")?
        .ok_or_else(|| format!("{USAGE}: `conversationId` is missing"))?
        .to_owned();
    let event_id = match o.get("eventId") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{USAGE}: `eventId` must be an event's number"))?;
    let files = opt_bool(&o, "files", true)?;
    let cut = opt_bool(&o, "conversation", true)?;
    if !files && !cut {
        return Err("nothing to restore: `files` and `conversation` are both false".into());
    }
    let ctx = ctx(backend)?;
    refuse_if_running(backend, &ctx, &conversation)?;
    let loaded = ctx.conversation(&conversation)?;
    let step = crate::checkpoint::steps(&loaded.events)
        .into_iter()
        .find(|s| s.event_id == event_id);
    let target = match (files, step) {
        (true, Some(s)) => Some(s.checkpoint),
        (true, None) => {
            return Err(format!(
                "event {event_id} of conversation {conversation} has no checkpoint; openhands.checkpoint.list names those that do"
            ));
        }
        (false, _) => None,
    };
    if !loaded.events.iter().any(|e| e.id() == event_id) {
        return Err(format!(
            "conversation {conversation} has no event {event_id}"
        ));
    }
    let checkpoints = Arc::new(ctx.checkpoints(backend)?);
    if let Some(t) = &target
        && !checkpoints.shadow().has(t)
    {
        return Err(CheckpointError::Missing(t.clone()).to_string());
    }
    let backend_state = backend.state.clone();
    let changed = backend.changed.clone();
    let client = client.clone();
    let conv = conversation.clone();
    tokio::spawn(async move {
        let editor = EditorSide {
            client: client.clone(),
            state: backend_state,
            changed,
        };
        let outcome = run_restore(&editor, &ctx, checkpoints, &conv, event_id, target, cut).await;
        report(&client, &editor, outcome).await;
    });
    Ok(json!({"conversationId": conversation, "eventId": event_id, "started": true}))
}

/// What applying files to the editor needs.
struct EditorSide {
    client: Client,
    state: Arc<Mutex<State>>,
    changed: Arc<tokio::sync::Notify>,
}

impl EditorSide {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
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
    async fn apply(&self, files: &[FileRestore]) -> Vec<String> {
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
        let edit = if profile.document_changes {
            WorkspaceEdit {
                document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri: parsed,
                        version: Some(version),
                    },
                    edits: edits.into_iter().map(OneOf::Left).collect(),
                }])),
                ..Default::default()
            }
        } else {
            WorkspaceEdit {
                changes: Some([(parsed, edits)].into_iter().collect()),
                ..Default::default()
            }
        };
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

async fn run_restore(
    editor: &EditorSide,
    ctx: &Ctx,
    checkpoints: Arc<Checkpoints>,
    conversation: &str,
    event_id: i64,
    target: Option<String>,
    cut: bool,
) -> Result<String, String> {
    let plan = match &target {
        Some(t) => {
            let (c, t) = (checkpoints.clone(), t.clone());
            Some(
                tokio::task::spawn_blocking(move || crate::checkpoint::plan_restore(&c, &t))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?,
            )
        }
        None => None,
    };
    let failed = match &plan {
        Some(p) => editor.apply(&p.files).await,
        None => Vec::new(),
    };
    let n = plan.as_ref().map_or(0, |p| p.files.len());
    let mut line =
        format!("OpenHands rewound conversation {conversation} to before event {event_id}:");
    if plan.is_some() {
        line.push_str(&format!(" {} file(s) restored", n - failed.len()));
        if !failed.is_empty() {
            line.push_str(&format!("; NOT restored: {}", failed.join(", ")));
        }
    }
    if cut {
        let note = crate::checkpoint::rewind_note(
            event_id,
            plan.as_ref().map(|_| (n - failed.len(), &failed[..])),
        );
        let restored = plan.as_ref().map(|p| p.current.clone());
        let branch = crate::checkpoint::truncate_conversation(
            &ctx.storage,
            conversation,
            event_id,
            &note,
            target.as_deref().filter(|_| failed.is_empty()),
        )
        .map_err(|e| format!("{line}; the conversation was not cut: {e}"))?;
        line.push_str(&format!(
            "; conversation cut ({} event(s) kept; the rest kept in {})",
            branch.kept,
            branch.log.display()
        ));
        if let Some(r) = restored {
            line.push_str(&format!("; the files before the rewind are checkpoint {r}"));
        }
    }
    match failed.is_empty() {
        true => Ok(line),
        false => Err(line),
    }
}

async fn report(client: &Client, editor: &EditorSide, outcome: Result<String, String>) {
    let panel = editor.lock().outbox.is_on();
    let (kind, line) = match outcome {
        Ok(l) => (MessageType::INFO, l),
        Err(l) => (MessageType::ERROR, format!("OpenHands: {l}")),
    };
    client.log_message(kind, line.clone()).await;
    if kind == MessageType::ERROR || !panel {
        client.show_message(kind, super::tasks::short(&line)).await;
    }
}

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
        (None, Some(c)) => (c.to_owned(), None),
        (None, None) => (default_conversation(backend)?, None),
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

const TASK_ARGS: &[&str] = &["taskId", "conversationId", "file"];

/// Named positional arguments: `[taskId|conversationId, file?]` (a task id is `t<number>`).
fn task_args(args: &[Value]) -> Result<Map<String, Value>, String> {
    if let Some(Value::Object(_)) = args.first() {
        return object_args(args, TASK_ARGS);
    }
    let mut o = Map::new();
    if let Some(Value::String(first)) = args.first() {
        let is_task = first
            .strip_prefix('t')
            .is_some_and(|n| n.parse::<u64>().is_ok());
        o.insert(
            if is_task { "taskId" } else { "conversationId" }.into(),
            Value::String(first.clone()),
        );
    }
    if let Some(f) = args.get(1).filter(|v| !v.is_null()) {
        o.insert("file".into(), f.clone());
    }
    Ok(o)
}

/// A file argument as a workspace-relative path (absolute paths and `file://` URIs are accepted).
fn rel_file(ctx: &Ctx, file: Option<&str>) -> Result<Option<String>, String> {
    let Some(f) = file else { return Ok(None) };
    let path = match f.parse::<Uri>().ok().filter(|_| f.starts_with("file://")) {
        Some(u) => uri_path(&u).ok_or_else(|| format!("bad URI {f}"))?,
        None => PathBuf::from(f),
    };
    if path.is_relative() {
        return Ok(Some(path.to_string_lossy().into_owned()));
    }
    let canon = ctx
        .workspace
        .canonicalize()
        .unwrap_or(ctx.workspace.clone());
    path.strip_prefix(&ctx.workspace)
        .or_else(|_| path.strip_prefix(&canon))
        .map(|r| Some(r.to_string_lossy().into_owned()))
        .map_err(|_| format!("{f} is outside the workspace"))
}

fn changes(backend: &Backend, args: &[Value]) -> Result<Value, String> {
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

fn diff(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
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
        let c = client.clone();
        tokio::spawn(async move {
            let params = ShowDocumentParams {
                uri: u,
                external: None,
                take_focus: Some(true),
                selection: None,
            };
            let _ =
                tokio::time::timeout(super::tasks::CLIENT_TIMEOUT, c.show_document(params)).await;
        });
    }
    Ok(json!({"uri": uri, "diff": text}))
}

fn keep(backend: &Backend, args: &[Value]) -> Result<Value, String> {
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

fn revert(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
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
        report(&client, &editor, outcome).await;
    });
    Ok(json!({"reverting": paths, "started": true, "checkpointBefore": current}))
}

/// `openhands.task.start`'s `mode`: `"plan"` (read-only tools) or `"act"` (the default).
pub fn plan_mode(args: &[Value]) -> Result<bool, String> {
    let Some(Value::Object(o)) = args.first() else {
        return Ok(false);
    };
    match o.get("mode") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::String(m)) if m == "plan" => Ok(true),
        Some(Value::String(m)) if m == "act" => Ok(false),
        Some(other) => Err(format!("`mode` is \"plan\" or \"act\", got {other}")),
    }
}

/// `openhands.task.act {taskId?}`: the plan's conversation continues with all tools.
fn act(backend: &Backend, client: &Client, args: &[Value]) -> Result<Value, String> {
    let o = task_args(args)?;
    let conversation = match (opt_str(&o, "taskId")?, opt_str(&o, "conversationId")?) {
        (Some(t), _) => backend
            .lock()
            .tasks
            .iter()
            .find(|x| x.task_id == t)
            .map(|x| x.conversation_id.clone())
            .ok_or_else(|| format!("no task {t}"))?,
        (None, Some(c)) => c.to_owned(),
        (None, None) => default_conversation(backend)?,
    };
    if let Some(t) = running_here(backend, &conversation) {
        return Err(format!(
            "task {t} is still running; act once it has made its plan"
        ));
    }
    super::commands::spawn(
        backend,
        client,
        crate::plan_mode::ACT_PROMPT.to_owned(),
        conversation,
        true,
        false,
    )
}

/// After a plan-mode task: its plan (the task tracker's list) in the log, and a line saying how to act.
pub async fn report_plan(
    client: &Client,
    info: &super::tasks::TaskInfo,
    events: &[Arc<crate::events::Event>],
) {
    let text = match crate::plan_mode::last_plan(events) {
        Some(plan) => format!(
            "[{}] OpenHands plan (run openhands.task.act to carry it out):\n{plan}",
            info.task_id
        ),
        None => format!(
            "[{}] OpenHands recorded no plan with the task tracker; its last message is the plan",
            info.task_id
        ),
    };
    client.log_message(MessageType::INFO, text).await;
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
            matches!(
                t.state().as_str(),
                "finished" | "awaiting_user_input" | "stopped"
            )
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
