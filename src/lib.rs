//! openhands-lsp: an OpenHands-style coding agent in the editor. The agent core (events, storage, LLM,
//! agent, runtimes) knows nothing of the front end that drives it: the headless CLI today, LSP next.

pub mod acp;
pub mod agent;
pub mod approval;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod llm;
pub mod lsp;
pub mod mcp;
pub mod plan_mode;
pub mod run_gate;
pub mod runtime;
pub mod secrets;
pub mod session;
pub mod storage;
pub mod transcript;
pub mod updates;
