//! `openhands-lsp acp`: the agent over the Agent Client Protocol on stdio, for the editors that host agents
//! that way (Zed, JetBrains, Emacs agent-shell, Neovim CodeCompanion). The official `agent-client-protocol`
//! crate speaks the protocol; conversations are `crate::session`'s, updates `crate::updates`', approvals
//! `crate::approval`'s, so the agent is the one the CLI and the LSP server run.

mod bridge;
mod client;
mod content;
pub mod modes;
mod sessions;
mod stdio;
mod terminal;
mod turn;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use agent_client_protocol::v1::schema as acp;
use agent_client_protocol::{
    Agent, ConnectTo, Error, ErrorCode, on_receive_notification, on_receive_request,
};
use serde_json::{Value, json};

use client::{Caps, Peer, json_of, wire};
use sessions::{Sessions, Slot};

/// The connection's state, shared by the handlers.
struct State {
    caps: Mutex<Caps>,
    sessions: Sessions,
    deadlines: bridge::Deadlines,
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::INVALID_PARAMS, message)
}

fn unknown_session(id: &str) -> Error {
    Error::new(
        ErrorCode::RESOURCE_NOT_FOUND,
        format!("no session `{id}` in this connection: create it with session/new or session/load"),
    )
}

fn absolute(cwd: &std::path::Path) -> Result<PathBuf, Error> {
    if !cwd.is_absolute() {
        return Err(bad(format!(
            "`cwd` must be an absolute path, got {}",
            cwd.display()
        )));
    }
    cwd.canonicalize()
        .map_err(|e| bad(format!("`cwd` {} cannot be used: {e}", cwd.display())))
}

impl State {
    fn initialize(&self, req: &acp::InitializeRequest) -> Value {
        let fs = &req.client_capabilities.fs;
        if let Ok(mut c) = self.caps.lock() {
            *c = Caps {
                read_text_file: fs.read_text_file,
                write_text_file: fs.write_text_file,
                terminal: req.client_capabilities.terminal,
            };
        }
        // Version 1 is the one this agent speaks; a client asking for a later one is told so.
        let version = req.protocol_version.as_u16().min(1);
        json!({
            "protocolVersion": version,
            "agentCapabilities": {
                "loadSession": true,
                "promptCapabilities": {"image": false, "audio": false, "embeddedContext": true},
                "mcpCapabilities": {"http": true, "sse": false},
                "sessionCapabilities": {"list": {}},
            },
            "agentInfo": {"name": "openhands-lsp", "title": "OpenHands", "version": env!("CARGO_PKG_VERSION")},
            "authMethods": [],
        })
    }

    fn turn(&self, peer: Peer) -> turn::Turn {
        turn::Turn {
            peer,
            caps: self.caps.lock().map(|c| *c).unwrap_or_default(),
            deadlines: self.deadlines,
        }
    }

    fn new_session(&self, req: &acp::NewSessionRequest, peer: &Peer) -> Result<Value, Error> {
        let cwd = absolute(&req.cwd)?;
        // The configuration is checked now: a bad one is an error here, not at the first prompt.
        turn::settings_for(&cwd)?;
        let id = crate::storage::ConversationId::generate().to_string();
        let servers = req.mcp_servers.iter().map(json_of).collect();
        let slot = Arc::new(Slot::new(id.clone(), cwd, servers, false));
        self.sessions.insert(slot.clone());
        peer.update(&id, modes::commands());
        Ok(json!({"sessionId": id, "modes": turn::mode_state(&slot)}))
    }

    /// `session/load`: the stored conversation replayed as updates, then the session is ready to continue.
    fn load_session(&self, req: &acp::LoadSessionRequest, peer: &Peer) -> Result<Value, Error> {
        let cwd = absolute(&req.cwd)?;
        let id = req.session_id.0.to_string();
        let settings = turn::settings_for(&cwd)?;
        let storage = crate::storage::Storage::open(settings.data_dir.clone())
            .map_err(|e| Error::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
        let loaded = storage
            .load(&id)
            .map_err(|e| Error::new(ErrorCode::RESOURCE_NOT_FOUND, e.to_string()))?;
        for event in &loaded.events {
            for update in crate::updates::updates(event) {
                peer.update(&id, update);
            }
        }
        let slot = match self.sessions.get(&id) {
            Some(s) => s,
            None => {
                let servers = req.mcp_servers.iter().map(json_of).collect();
                let slot = Arc::new(Slot::new(id.clone(), cwd, servers, true));
                self.sessions.insert(slot.clone());
                slot
            }
        };
        peer.update(&id, modes::commands());
        Ok(json!({"modes": turn::mode_state(&slot)}))
    }

    fn list_sessions(&self, req: &acp::ListSessionsRequest) -> Result<Value, Error> {
        let cwd = match &req.cwd {
            Some(c) => absolute(c)?,
            None => std::env::current_dir().map_err(|e| bad(e.to_string()))?,
        };
        let settings = turn::settings_for(&cwd)?;
        let storage = crate::storage::Storage::open(settings.data_dir.clone())
            .map_err(|e| Error::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
        let mut metas = storage
            .list()
            .map_err(|e| Error::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
        metas.retain(|m| req.cwd.is_none() || m.workspace == cwd);
        metas.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        let sessions: Vec<Value> = metas
            .iter()
            .map(|m| {
                json!({"sessionId": m.id, "cwd": m.workspace, "title": m.title, "updatedAt": m.updated_at})
            })
            .collect();
        Ok(json!({"sessions": sessions}))
    }

    fn set_mode(&self, req: &acp::SetSessionModeRequest, peer: &Peer) -> Result<Value, Error> {
        let id = req.session_id.0.to_string();
        let slot = self.sessions.get(&id).ok_or_else(|| unknown_session(&id))?;
        let mode = modes::Mode::parse(&req.mode_id.0).ok_or_else(|| {
            bad(format!(
                "`{}` is not a mode: use {}",
                req.mode_id.0,
                modes::NAMES
            ))
        })?;
        if let Ok(mut m) = slot.mode.lock() {
            *m = mode;
        }
        peer.update(
            &id,
            json!({"sessionUpdate": "current_mode_update", "currentModeId": mode.id()}),
        );
        Ok(json!({}))
    }
}

/// Answers `responder` with `result` (a JSON response of the request's type, or an error).
fn reply<T: serde::de::DeserializeOwned + agent_client_protocol::JsonRpcResponse>(
    responder: agent_client_protocol::v1::Responder<T>,
    result: Result<Value, Error>,
) -> Result<(), Error> {
    match result.and_then(wire::<T>) {
        Ok(r) => responder.respond(r),
        Err(e) => responder.respond_with_error(e),
    }
}

/// Serves ACP on `transport` until the client goes away; every session's runtime is closed then.
pub async fn serve(transport: impl ConnectTo<Agent> + 'static) -> Result<(), Error> {
    let state = Arc::new(State {
        caps: Mutex::new(Caps::default()),
        sessions: Sessions::default(),
        deadlines: bridge::Deadlines::from_env(),
    });
    let (s1, s2, s3, s4, s5, s6, s7) = (
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
    );
    let result = Agent
        .v1()
        .name("openhands-lsp")
        .on_receive_request(
            async move |req: acp::InitializeRequest, responder, _cx| {
                reply(responder, Ok(s1.initialize(&req)))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |req: acp::NewSessionRequest, responder, cx| {
                let peer = Peer { cx };
                reply(responder, s2.new_session(&req, &peer))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |req: acp::LoadSessionRequest, responder, cx| {
                let peer = Peer { cx };
                reply(responder, s3.load_session(&req, &peer))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |req: acp::ListSessionsRequest, responder, _cx| {
                reply(responder, s4.list_sessions(&req))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |req: acp::SetSessionModeRequest, responder, cx| {
                let peer = Peer { cx };
                reply(responder, s5.set_mode(&req, &peer))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |req: acp::PromptRequest, responder, cx| {
                let id = req.session_id.0.to_string();
                let Some(slot) = s6.sessions.get(&id) else {
                    return responder.respond_with_error(unknown_session(&id));
                };
                let blocks: Vec<Value> = req.prompt.iter().map(json_of).collect();
                let text = match content::prompt_text(&blocks) {
                    Ok(t) => t,
                    Err(e) => return responder.respond_with_error(bad(e)),
                };
                let turn = s6.turn(Peer { cx: cx.clone() });
                // The turn runs outside the dispatch loop: it sends requests (permissions, files) whose
                // answers that loop delivers, and `session/cancel` must get through meanwhile.
                cx.spawn(async move { reply(responder, turn.run(slot, text).await) })
            },
            on_receive_request!(),
        )
        .on_receive_notification(
            async move |note: acp::CancelNotification, _cx| {
                if let Some(slot) = s7.sessions.get(&note.session_id.0) {
                    slot.cancel();
                }
                Ok(())
            },
            on_receive_notification!(),
        )
        .connect_to(transport)
        .await;
    for slot in state.sessions.all() {
        slot.cancel();
        if let Some(session) = slot.live.lock().await.take() {
            session.close().await;
        }
    }
    result
}

/// `openhands-lsp acp`: serves ACP on stdin/stdout.
pub async fn serve_stdio() -> Result<(), Error> {
    let pipes = stdio::pipes(std::io::stdin(), std::io::stdout());
    let result = serve(agent_client_protocol::Lines::new(
        pipes.outgoing,
        pipes.incoming,
    ))
    .await;
    // Whatever is still queued is written before the process exits.
    let writer = pipes.writer;
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    result
}
