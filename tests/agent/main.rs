//! Integration tests of the agent core: scripted LLM servers on loopback and real `openhands-runtime`s.

mod cli;
mod common;
mod docker;
mod e2e;
/// Real editors with the plugins of `editors/`.
mod editors {
    mod nvim;
}
mod kills;
mod layout;
mod llm;
mod lsp;
mod lsp_frames;
mod runtime;
mod scripted_llm;
mod secrets;
mod storage;
/// Real editors driven end to end (their scripts live beside them in `editors/`).
#[path = "editors/vscode.rs"]
mod vscode;
