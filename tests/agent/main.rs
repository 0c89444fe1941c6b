//! Integration tests of the agent core: scripted LLM servers on loopback and real `openhands-runtime`s.

mod acp;
mod cli;
mod common;
mod context;
mod docker;
mod e2e;
mod editors;
mod kills;
mod layout;
mod llm;
mod lsp;
mod lsp_frames;
mod mcp;
mod risk;
mod runtime;
mod scripted_llm;
mod secrets;
mod storage;
