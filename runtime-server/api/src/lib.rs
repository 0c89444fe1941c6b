//! Wire types of OpenHands' action execution protocol, shared by `openhands-runtime` and `openhands-lsp`.
//!
//! Actions and observations keep OpenHands' V0 JSON shape and key order so that OpenHands' own client
//! can talk to our server and our client to OpenHands' server. No HTTP, no async: only serde.

mod action;
mod event;
pub mod mcp;
mod observation;

pub use action::{
    Action, ActionDecodeError, ActionEvent, BrowseInteractiveAction, BrowseUrlAction, CmdRunAction,
    FileEditAction, FileReadAction, FileWriteAction, IPythonRunCellAction, KNOWN_ACTION_TYPES,
    RUNTIME_ACTION_TYPES, SECURITY_RISK_UNKNOWN,
};
pub use event::EventMeta;
pub use observation::{
    BrowserOutputExtras, CmdOutputExtras, CmdOutputMetadata, FileEditExtras, MAX_CMD_OUTPUT_CHARS,
    Observation, ObservationKind, TRUNCATION_MARKER, truncate_cmd_output,
};

/// The header that carries the session API key.
pub const API_KEY_HEADER: &str = "X-Session-API-Key";
