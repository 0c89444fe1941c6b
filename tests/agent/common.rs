//! Shared helpers: locating the `openhands-runtime` binary built by this workspace.

#![allow(dead_code)]

use std::path::PathBuf;

/// `target/<profile>/openhands-runtime`, next to this test's `deps/` directory.
pub fn runtime_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("openhands-runtime");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p openhands-runtime` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}
