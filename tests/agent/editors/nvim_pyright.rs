//! A real language server's diagnostics in the agent's loop: pyright (npm, installed by
//! `scripts/lsp-servers-setup`) attached in headless Neovim 0.11 beside the plugin; the scripted agent's edit
//! of the open buffer introduces a type error, and the edit's observation (the next request the model gets)
//! carries pyright's new error with its line and source, not the one the file had before.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::scripted_llm::{ScriptedLlm, Wire, tool};

/// `pyright-langserver` where `scripts/lsp-servers-setup` puts it, or `OPENHANDS_PYRIGHT`.
fn pyright() -> Option<PathBuf> {
    let path = std::env::var_os("OPENHANDS_PYRIGHT")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h)
                    .join(".cache/openhands-lsp/lsp-servers/node_modules/.bin/pyright-langserver")
            })
        })?;
    path.exists().then_some(path)
}

const APP: &str = "def add(a: int, b: int) -> int:\n    return a + b\n\n\n\
                   total: int = add(1, 2)\nname: str = 5\n";

#[test]
fn neovim_011_feeds_pyrights_new_error_to_the_agent() {
    let Some(nvim) = crate::lsp::neovim_011() else {
        eprintln!("skipped: no Neovim 0.11 (scripts/test installs it)");
        return;
    };
    let Some(pyright) = pyright() else {
        eprintln!(
            "skipped: no pyright-langserver (run scripts/lsp-servers-setup, or set OPENHANDS_PYRIGHT)"
        );
        return;
    };
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "str_replace_editor",
                json!({"command": "str_replace", "path": "app.py",
                       "old_str": "add(1, 2)", "new_str": "add(1, \"two\")"}),
            ),
            tool("finish", json!({"message": "called add"})),
            tool("finish", json!({"message": "called add, and it is wrong"})),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("app.py"), APP).unwrap();
    std::fs::write(ws.join("pyrightconfig.json"), "{}\n").unwrap();
    let report_path = dir.path().join("report.json");
    let d = dir.path();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agent/editors/nvim_pyright.lua");
    let out = Command::new(&nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd"])
        .arg(format!("set rtp+={}", super::nvim_plugin_dir().display()))
        .arg(format!("+luafile {}", script.display()))
        .current_dir(&ws)
        .env("HOME", d)
        .env("XDG_CONFIG_HOME", d.join("config"))
        .env("XDG_STATE_HOME", d.join("state"))
        .env("XDG_CACHE_HOME", d.join("cache"))
        .env("XDG_DATA_HOME", d.join("share"))
        .env("OPENHANDS_DATA_DIR", d.join("data"))
        .env("LLM_MODEL", "scripted-model")
        .env("LLM_API_KEY", "sk-test-secret")
        .env("LLM_NATIVE_TOOL_CALLING", "true")
        .env("LLM_NUM_RETRIES", "0")
        .env("OH_WS", &ws)
        .env("OH_LSP", env!("CARGO_BIN_EXE_openhands-lsp"))
        .env("OH_PYRIGHT", &pyright)
        .env("OH_BASE_URL", &llm.base_url)
        .env("OH_REPORT", &report_path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&report_path).unwrap_or_else(|_| {
        panic!(
            "no report; nvim said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["pyright_client"], true, "{report:#}");
    // Pyright itself saw the pre-existing error, and then the new one.
    assert_eq!(
        report["before_ready"], true,
        "pyright sent nothing: {report:#}"
    );
    let before = report["before"].to_string();
    assert!(before.contains("Literal[5]"), "{before}");
    assert_eq!(report["finished"], true, "{report:#}");
    assert_eq!(
        report["lines"][4], "total: int = add(1, \"two\")",
        "the edit is in the buffer: {report:#}"
    );

    // The observation of the edit: the tool result in the request after it.
    let observation = llm
        .requests()
        .iter()
        .flat_map(|r| r["messages"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| {
            m["content"].as_str().map(str::to_owned).or_else(|| {
                m["content"].as_array().map(|parts| {
                    parts
                        .iter()
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("")
                })
            })
        })
        .find(|c| c.contains("app.py"))
        .unwrap_or_else(|| panic!("no observation of the edit in {:#?}", llm.requests()));
    let told = observation
        .split_once("The editor reports new problems in app.py after this edit:\n")
        .map(|(_, t)| t.to_owned())
        .unwrap_or_else(|| {
            panic!("pyright's error is not in the observation:\n{observation}\n{report:#}")
        });
    // Pyright's message has a second line; the source follows the whole message.
    assert!(
        told.starts_with(
            "  line 5: error: Argument of type \"Literal['two']\" cannot be assigned to parameter \"b\""
        ) && told.contains("[Pyright]"),
        "{told}"
    );
    assert!(
        !told.contains("Literal[5]"),
        "the pre-existing error was told as new:\n{told}"
    );
}
