//! Helix 25.01 (Debian trixie's `hx`, which `.ci/run` unpacks into `~/.cache/openhands-lsp/hx`) as the user's
//! editor, headless in tmux: a task started with `:lsp-workspace-command` edits a buffer that holds unsaved
//! text, and the edit shows in that buffer.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use super::super::editors::tmux::Tmux;
use super::super::scripted_llm::{Reply, ScriptedLlm, Wire};

/// Helix as `scripts/test` unpacks it, or `OPENHANDS_HX`.
pub(crate) fn helix() -> Option<PathBuf> {
    let path = std::env::var_os("OPENHANDS_HX")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/openhands-lsp/hx/hx"))
        })?;
    path.exists().then_some(path)
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

#[test]
fn helix_runs_a_task_that_edits_its_unsaved_buffer() {
    let Some(hx) = helix() else {
        eprintln!(
            "skipped: no Helix (.ci/run unpacks it into ~/.cache/openhands-lsp/hx, or set OPENHANDS_HX)"
        );
        return;
    };
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: String::new(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "str_replace", "path": "todo.notes",
                           "old_str": "first line", "new_str": "first line, edited by the agent"}),
                )],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "edited"}))],
            },
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    let file = ws.join("todo.notes");
    std::fs::write(&file, "first line\n").unwrap();
    let config = dir.path().join("config/helix");
    std::fs::create_dir_all(&config).unwrap();
    let env = [
        ("HOME", dir.path().display().to_string()),
        (
            "XDG_CONFIG_HOME",
            dir.path().join("config").display().to_string(),
        ),
        (
            "OPENHANDS_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("LLM_MODEL", "scripted-model".into()),
        ("LLM_BASE_URL", llm.base_url.clone()),
        ("LLM_API_KEY", "sk-test-secret".into()),
        ("LLM_NATIVE_TOOL_CALLING", "true".into()),
        ("LLM_NUM_RETRIES", "0".into()),
    ];
    let env_table: Vec<String> = env
        .iter()
        .map(|(k, v)| format!("{k} = {}", toml_string(v)))
        .collect();
    std::fs::write(
        config.join("languages.toml"),
        format!(
            "[language-server.openhands]\ncommand = {}\nenvironment = {{ {} }}\n\n\
             [[language]]\nname = \"notes\"\nscope = \"text.notes\"\nfile-types = [\"notes\"]\n\
             roots = [\".git\"]\nlanguage-servers = [\"openhands\"]\n",
            toml_string(env!("CARGO_BIN_EXE_openhands-lsp")),
            env_table.join(", ")
        ),
    )
    .unwrap();
    let command = format!(
        "cd {} && env HOME={} XDG_CONFIG_HOME={} XDG_CACHE_HOME={} XDG_DATA_HOME={} {} {}",
        ws.display(),
        dir.path().display(),
        dir.path().join("config").display(),
        dir.path().join("cache").display(),
        dir.path().join("share").display(),
        hx.display(),
        file.display()
    );
    let tmux = Tmux::start("hx", &command);
    tmux.wait("the file", 30, |s| s.contains("first line"), String::new);
    // The user writes what to do on a new line, does not save, and asks through the code action menu
    // (Helix 25.01's `:lsp-workspace-command` passes no arguments, so code actions are how tasks start).
    tmux.keys(&["o", "unsaved line: change line one", "Escape"]);
    tmux.wait(
        "the unsaved line",
        30,
        |s| s.contains("unsaved line"),
        String::new,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tmux.keys(&["Space"]);
        std::thread::sleep(Duration::from_millis(300));
        tmux.keys(&["a"]);
        std::thread::sleep(Duration::from_millis(1000));
        if tmux.screen().contains("OpenHands: do what") {
            break;
        }
        // No language server answered yet: close whatever opened and try again.
        tmux.keys(&["Escape"]);
        assert!(
            Instant::now() < deadline,
            "no code actions; screen:\n{}\nhelix log:\n{}",
            tmux.screen(),
            std::fs::read_to_string(dir.path().join("cache/helix/helix.log")).unwrap_or_default()
        );
    }
    tmux.keys(&["Enter"]);
    tmux.wait(
        "the finished message",
        30,
        |s| s.contains("OpenHands finished"),
        String::new,
    );
    let seen = llm
        .requests()
        .last()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut screen = tmux.screen();
    while !screen.contains("first line, edited by the agent") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        screen = tmux.screen();
    }
    assert!(
        screen.contains("first line, edited by the agent") && !seen.contains("NOT applied"),
        "the agent's edit is not in the buffer:\n{screen}\nthe agent saw: {seen}"
    );
    assert!(screen.contains("unsaved line: change line one"), "{screen}");
    assert!(
        screen.contains("[+]"),
        "the buffer is modified, unsaved:\n{screen}"
    );
    tmux.keys(&[":q!", "Enter"]);
    assert!(
        !llm.requests().is_empty() && llm.requests()[1].to_string().contains("unsaved line"),
        "the agent saw the unsaved line"
    );
}
