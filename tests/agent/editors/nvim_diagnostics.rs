//! The Neovim plugin sends the buffers' diagnostics (`openhands/diagnostics`) to the real server, in real
//! headless Neovim 0.7.2 and 0.11.4: what the server reads is captured on its way in.

use std::path::Path;
use std::process::Command;

#[path = "nvim_pyright.rs"]
mod pyright;

/// The plugin's directory, for the tests that start Neovim with it.
fn nvim_plugin_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/nvim")
}

fn sends_diagnostics(nvim: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("a.txt"), "x\n").unwrap();
    let captured = dir.path().join("in.log");
    let wrapper = dir.path().join("server.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ntee -a '{}' | '{}'\n",
            captured.display(),
            env!("CARGO_BIN_EXE_openhands-lsp")
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/nvim");
    let out = Command::new(nvim)
        .current_dir(&ws)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_DATA_HOME", dir.path().join("share"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("OPENHANDS_DATA_DIR", dir.path().join("data"))
        .args(["--headless", "-u", "NONE", "--cmd"])
        .arg(format!("set rtp+={}", plugin.display()))
        .arg("-c")
        .arg(format!(
            "lua require('openhands').setup({{cmd = {{'{}'}}, root_dir = '{}'}})",
            wrapper.display(),
            ws.display()
        ))
        .args(["-c", "edit a.txt", "-c"])
        .arg(
            "lua require('openhands.client').wait_initialized(10000); vim.wait(300); \
             vim.diagnostic.set(vim.api.nvim_create_namespace('t'), 0, \
             {{lnum = 0, col = 0, message = 'boom here', severity = 1, source = 'checker'}}); vim.wait(1500)",
        )
        .args(["-c", "qa!"])
        .output()
        .unwrap();
    let seen = std::fs::read_to_string(&captured).unwrap_or_default();
    // Neovim 0.7's JSON escapes slashes.
    let line = seen
        .split("Content-Length")
        .find(|m| m.contains("openhands/diagnostics") || m.contains("openhands\\/diagnostics"))
        .unwrap_or_else(|| {
            panic!(
                "no openhands/diagnostics reached the server; it read:\n{seen}\nnvim said: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        line.contains("boom here") && line.contains("\"severity\":1"),
        "{line}"
    );
    assert!(line.contains("a.txt") && line.contains("checker"), "{line}");
}

#[test]
fn neovim_07_sends_the_buffers_diagnostics() {
    sends_diagnostics(Path::new("nvim"));
}

#[test]
fn neovim_011_sends_the_buffers_diagnostics() {
    let Some(nvim) = crate::lsp::neovim_011() else {
        eprintln!("skipped: no Neovim 0.11");
        return;
    };
    sends_diagnostics(&nvim);
}
