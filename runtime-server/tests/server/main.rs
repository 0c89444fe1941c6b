//! Integration tests: each test starts the real `openhands-runtime` binary on a loopback port and speaks HTTP.

mod bash;
mod browser;
mod common;
mod files;
mod http;
mod jupyter;
mod mcp;
mod transfer;
