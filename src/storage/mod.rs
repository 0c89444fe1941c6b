//! Conversation storage: one directory per conversation with an append-only JSONL event log and metadata.
//!
//! Layout: `<root>/conversations/<id>/events.jsonl` (one event per line, OpenHands' event JSON) and
//! `meta.json` (replaced atomically). Ids from users are validated so they can never name another path.

mod id;
mod log;
mod owner;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::events::{Event, now_iso};

pub use id::ConversationId;
use id::random_hex;
pub use log::{ConversationLog, torn_line_warning};
pub use owner::ProcessOwner;

/// The variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "OPENHANDS_DATA_DIR";
pub const EVENTS_FILE: &str = "events.jsonl";
pub const META_FILE: &str = "meta.json";
const CONVERSATIONS_DIR: &str = "conversations";

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "the data directory {} is not writable ({message}); choose another with --data-dir or OPENHANDS_DATA_DIR",
        dir.display()
    )]
    NotWritable { dir: PathBuf, message: String },
    #[error(
        "'{0}' is not a conversation id: ids are lowercase hex digits and dashes, e.g. 3f2a9c0b1d4e"
    )]
    BadId(String),
    #[error("there is no conversation {id} in {}", root.display())]
    NotFound { id: ConversationId, root: PathBuf },
    #[error("conversation {0} already exists")]
    Exists(ConversationId),
    #[error("{} is not valid conversation metadata: {message}", path.display())]
    BadMeta { path: PathBuf, message: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io {
        action,
        path,
        source,
    }
}

/// What `list` shows about a conversation without reading its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    /// A [`ConversationId`]'s text; checked whenever storage uses it.
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub workspace: PathBuf,
    #[serde(default)]
    pub model: String,
    /// ISO-8601, as [`now_iso`] writes it (sorts as text).
    pub created_at: String,
    pub updated_at: String,
    /// The agent state's wire name (`running`, `finished`, ...).
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub accumulated_cost: f64,
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
    /// The runtime's description (`local`, `remote (URL)`, ...).
    #[serde(default)]
    pub runtime: String,
    /// The process driving the conversation while a task runs; `None` between tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<ProcessOwner>,
}

/// The state of a conversation whose process ended while a task ran (killed, crashed, power lost).
pub const INTERRUPTED: &str = "interrupted";

impl ConversationMeta {
    /// A task is under way: the state is one the agent passes through, not one it rests in.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.state.as_str(),
            "loading"
                | "running"
                | "rate_limited"
                | "awaiting_user_confirmation"
                | "user_confirmed"
        )
    }

    /// Busy, and its owner process still runs.
    pub fn is_running_elsewhere(&self) -> bool {
        self.is_busy()
            && self
                .owner
                .is_some_and(|o| o.is_alive() && o != ProcessOwner::current())
    }
}

impl ConversationMeta {
    /// A new conversation's metadata, created and updated now, in state `loading`.
    pub fn new(id: &ConversationId, workspace: PathBuf) -> Self {
        let now = now_iso();
        Self {
            id: id.to_string(),
            title: String::new(),
            workspace,
            model: String::new(),
            created_at: now.clone(),
            updated_at: now,
            state: "loading".to_owned(),
            accumulated_cost: 0.0,
            prompt_tokens: 0,
            completion_tokens: 0,
            total_tokens: 0,
            runtime: String::new(),
            owner: Some(ProcessOwner::current()),
        }
    }
}

/// A conversation read back for resuming or replaying.
#[derive(Debug)]
pub struct LoadedConversation {
    pub meta: ConversationMeta,
    pub events: Vec<Event>,
    /// Lines that were skipped, one message each, for the user.
    pub warnings: Vec<String>,
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// Creates `root` if needed and checks that it is writable.
    pub fn open(root: PathBuf) -> Result<Self, StorageError> {
        let not_writable = |message: String| StorageError::NotWritable {
            dir: root.clone(),
            message,
        };
        let conversations = root.join(CONVERSATIONS_DIR);
        std::fs::create_dir_all(&conversations)
            .map_err(|e| not_writable(format!("cannot create {}: {e}", conversations.display())))?;
        let probe = root.join(format!(
            ".write-probe-{}-{}",
            std::process::id(),
            random_hex(4)
        ));
        std::fs::File::create_new(&probe)
            .and_then(|mut f| f.write_all(b"probe"))
            .map_err(|e| not_writable(format!("cannot create a file in it: {e}")))?;
        std::fs::remove_file(&probe)
            .map_err(|e| not_writable(format!("cannot remove {}: {e}", probe.display())))?;
        Ok(Self { root })
    }

    /// `$OPENHANDS_DATA_DIR`, else `$XDG_DATA_HOME/openhands-lsp`, else `~/.local/share/openhands-lsp`.
    pub fn default_root() -> PathBuf {
        root_from_env(|name| std::env::var_os(name).map(PathBuf::from))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn conversation_dir(&self, id: &ConversationId) -> PathBuf {
        self.root.join(CONVERSATIONS_DIR).join(id.as_str())
    }

    /// Makes the conversation's directory, writes its metadata and opens its empty event log.
    pub fn create(&self, meta: ConversationMeta) -> Result<ConversationLog, StorageError> {
        let id = ConversationId::parse(&meta.id)?;
        let dir = self.conversation_dir(&id);
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StorageError::Exists(id));
            }
            other => other.map_err(io_error("create", &dir))?,
        }
        self.save_meta(&meta)?;
        let path = dir.join(EVENTS_FILE);
        ConversationLog::open(&path).map_err(io_error("open", &path))
    }

    /// Every conversation, most recently updated first; unreadable ones are skipped with a warning.
    pub fn list(&self) -> Result<Vec<ConversationMeta>, StorageError> {
        let dir = self.root.join(CONVERSATIONS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &dir)(e)),
        };
        let mut metas = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error("list", &dir))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| ConversationId::parse(n).ok()) else {
                tracing::warn!("skipping {}: not a conversation", entry.path().display());
                continue;
            };
            match self.read_meta(&id) {
                Ok(meta) => metas.push(meta),
                Err(e) => tracing::warn!("skipping conversation {id}: {e}"),
            }
        }
        metas.sort_by(|a, b| {
            (&b.updated_at, &b.created_at, &b.id).cmp(&(&a.updated_at, &a.created_at, &a.id))
        });
        Ok(metas)
    }

    /// The metadata and every readable event; skipped lines are reported in `warnings`.
    pub fn load(&self, id: &str) -> Result<LoadedConversation, StorageError> {
        let id = ConversationId::parse(id)?;
        let meta = self.read_meta(&id)?;
        let path = self.conversation_dir(&id).join(EVENTS_FILE);
        let (events, warnings) = log::read_events(&path).map_err(io_error("read", &path))?;
        Ok(LoadedConversation {
            meta,
            events,
            warnings,
        })
    }

    /// Opens an existing conversation's log for appending (resume).
    pub fn open_log(&self, id: &str) -> Result<ConversationLog, StorageError> {
        let dir = self.existing_dir(&ConversationId::parse(id)?)?;
        let path = dir.join(EVENTS_FILE);
        ConversationLog::open(&path).map_err(io_error("open", &path))
    }

    /// Replaces `meta.json` atomically (a temporary file renamed over it).
    pub fn save_meta(&self, meta: &ConversationMeta) -> Result<(), StorageError> {
        let dir = self.existing_dir(&ConversationId::parse(&meta.id)?)?;
        let path = dir.join(META_FILE);
        let tmp = dir.join(format!(".{META_FILE}.{}.tmp", random_hex(4)));
        let mut text = serde_json::to_string_pretty(meta).map_err(|e| StorageError::BadMeta {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        let written = std::fs::File::create_new(&tmp)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_data()
            })
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error("write", &path)(e));
        }
        Ok(())
    }

    fn existing_dir(&self, id: &ConversationId) -> Result<PathBuf, StorageError> {
        let dir = self.conversation_dir(id);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(StorageError::NotFound {
                id: id.clone(),
                root: self.root.clone(),
            })
        }
    }

    fn read_meta(&self, id: &ConversationId) -> Result<ConversationMeta, StorageError> {
        let path = self.existing_dir(id)?.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(io_error("read", &path))?;
        let mut meta: ConversationMeta =
            serde_json::from_str(&text).map_err(|e| StorageError::BadMeta {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if meta.id != id.as_str() {
            // A copied directory: the directory name is what `load` and `open_log` use.
            tracing::warn!(
                "{} names conversation {}; using {id}",
                path.display(),
                meta.id
            );
            meta.id = id.to_string();
        }
        self.reconcile(&mut meta);
        Ok(meta)
    }

    /// A busy conversation whose owner is gone was interrupted: says so on disk, so that every list and
    /// `--resume` tells the truth instead of `loading` for ever.
    fn reconcile(&self, meta: &mut ConversationMeta) {
        if !meta.is_busy() || meta.owner.is_some_and(ProcessOwner::is_alive) {
            return;
        }
        meta.state = INTERRUPTED.to_owned();
        meta.owner = None;
        if let Err(e) = self.save_meta(meta) {
            tracing::warn!(
                "cannot record that conversation {} was interrupted: {e}",
                meta.id
            );
        }
    }
}

/// The data directory from the environment; empty and relative XDG values are ignored, as the spec says.
fn root_from_env(var: impl Fn(&str) -> Option<PathBuf>) -> PathBuf {
    let set = |name: &str| var(name).filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = set(DATA_DIR_ENV) {
        return dir;
    }
    if let Some(xdg) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return xdg.join("openhands-lsp");
    }
    match set("HOME") {
        Some(home) => home.join(".local/share/openhands-lsp"),
        // No home at all (a bare service account): somewhere writable rather than the cwd.
        None => std::env::temp_dir().join("openhands-lsp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| PathBuf::from(v))
        }
    }

    #[test]
    fn the_default_root_follows_the_environment() {
        let all = [
            ("OPENHANDS_DATA_DIR", "/data"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(root_from_env(env(&all)), PathBuf::from("/data"));
        assert_eq!(
            root_from_env(env(&[
                ("OPENHANDS_DATA_DIR", ""),
                ("XDG_DATA_HOME", "/xdg")
            ])),
            PathBuf::from("/xdg/openhands-lsp")
        );
        assert_eq!(
            root_from_env(env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/u")])),
            PathBuf::from("/home/u/.local/share/openhands-lsp")
        );
        assert!(root_from_env(env(&[])).ends_with("openhands-lsp"));
    }
}
