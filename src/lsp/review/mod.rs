//! Review and rewind in the editor: `openhands.checkpoint.list`/`restore` (`rewind.rs`), `openhands.task.changes`,
//! `diff`, `keep`, `revert` and the code actions offering them (`changes.rs`), plan mode's `act` (`plan.rs`).
//! Open buffers change only through version-checked `workspace/applyEdit`s that the editor's `didChange`
//! confirms (`editor.rs`); closed files change on disk. This module holds what they share: arguments, the
//! workspace's stores, the running-task guard.

mod changes;
mod editor;
mod plan;
mod rewind;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Uri;

use super::{Backend, State, uri_path};
use crate::checkpoint::{BufferSource, Checkpoints};
use crate::storage::{ConversationId, Storage};

pub use changes::code_actions;
pub use plan::{plan_mode, report_plan};

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
        .find(|t| t.conversation_id == conversation && !t.state().is_over())
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
        "openhands.checkpoint.list" => rewind::list(backend, args),
        "openhands.checkpoint.restore" => rewind::restore(backend, client, args),
        "openhands.task.changes" => changes::changes(backend, args),
        "openhands.task.diff" => changes::diff(backend, client, args),
        "openhands.task.keep" => changes::keep(backend, args),
        "openhands.task.revert" => changes::revert(backend, client, args),
        "openhands.task.act" => plan::act(backend, client, args),
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
