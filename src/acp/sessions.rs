//! The ACP sessions of one connection: each is a conversation of `crate::session` (created on its first
//! prompt, or resumed after `session/load`), with its mode, what the user allowed, the MCP servers the
//! client passed (connected when its conversation opens, `crate::mcp::config::from_acp`) and the handle that cancels its running turn.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::modes::Mode;
use crate::agent::ControlHandle;
use crate::session::Session;

/// One ACP session.
pub struct Slot {
    pub id: String,
    pub cwd: PathBuf,
    /// The `mcpServers` of `session/new` / `session/load`, as sent: added to `[mcp]` when the conversation opens.
    #[allow(dead_code)]
    pub mcp_servers: Vec<Value>,
    pub mode: Arc<Mutex<Mode>>,
    pub allowed: Arc<Mutex<HashSet<&'static str>>>,
    /// The conversation is in storage already (`session/load`, or a turn ran).
    pub stored: Mutex<bool>,
    /// The live conversation; locked for the length of a turn.
    pub live: tokio::sync::Mutex<Option<Session>>,
    /// Cancels the running turn's permission requests.
    pub cancel: Arc<Mutex<CancellationToken>>,
    /// Stops the running turn's controller.
    pub control: Mutex<Option<ControlHandle>>,
    /// The running (or last) turn was a plan-mode one; read by the runtime wrapper at each action.
    pub planning: Arc<AtomicBool>,
    /// Terminals of the client shown in this session's tool calls.
    pub terminals: super::terminal::Shown,
    /// The model's context window (`usage_update`'s `size`), known once the conversation opened.
    pub context_window: Mutex<Option<u64>>,
    /// The last event id sent as updates.
    pub forwarded: (watch::Sender<i64>, watch::Receiver<i64>),
}

impl Slot {
    pub fn new(id: String, cwd: PathBuf, mcp_servers: Vec<Value>, stored: bool) -> Self {
        Self {
            id,
            cwd,
            mcp_servers,
            mode: Arc::new(Mutex::new(Mode::AutoEdit)),
            allowed: Arc::new(Mutex::new(HashSet::new())),
            stored: Mutex::new(stored),
            live: tokio::sync::Mutex::new(None),
            cancel: Arc::new(Mutex::new(CancellationToken::new())),
            control: Mutex::new(None),
            context_window: Mutex::new(None),
            terminals: Default::default(),
            planning: Arc::new(AtomicBool::new(false)),
            forwarded: watch::channel(-1),
        }
    }

    /// `session/cancel`: the pending permission request is given up and the controller stops (which
    /// interrupts the running command).
    pub fn cancel(&self) {
        if let Ok(c) = self.cancel.lock() {
            c.cancel();
        }
        if let Ok(c) = self.control.lock()
            && let Some(h) = c.as_ref()
        {
            h.stop();
        }
    }
}

/// The sessions of the connection, by id.
#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Arc<Slot>>>);

impl Sessions {
    pub fn get(&self, id: &str) -> Option<Arc<Slot>> {
        self.0.lock().ok()?.get(id).cloned()
    }

    pub fn insert(&self, slot: Arc<Slot>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(slot.id.clone(), slot);
        }
    }

    pub fn all(&self) -> Vec<Arc<Slot>> {
        self.0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}
