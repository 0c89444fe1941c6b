//! Helix 25.01 set up as `editors/helix/README.md` says: `add-openhands` adds the server to a user's
//! languages.toml without dropping their servers or settings, `hx --health` accepts the result, and Helix in
//! tmux with that file and `editors/helix/config.toml`'s key bindings runs a task from the code action; the
//! agent's edit lands in the buffer.

use std::path::{Path, PathBuf};
use std::process::Command;

use expect_test::expect;
use pretty_assertions::assert_eq;
use serde_json::json;

use super::super::scripted_llm::{ScriptedLlm, Wire, tool};
use super::tmux::Tmux;
use crate::lsp::helix::helix;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The directory holding the built `openhands-lsp` and `openhands-runtime`, which goes first on PATH, as an
/// installed `openhands-lsp` would be.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_openhands-lsp"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A PATH with our binaries and the system's, and not `~/.cargo/bin`: rust-analyzer stays "not found", so the
/// test proves the server is added beside it without running it.
fn path_var() -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir().display())
}

const USER_LANGUAGES: &str = r#"# My Helix languages.
[language-server.rust-analyzer.config]
check.command = "clippy"

[[language]]
name = "rust"
auto-format = false
language-servers = ["rust-analyzer"]  # only this one

[[language]]
name = "python"
indent = { tab-width = 4, unit = "    " }
"#;

/// `hx --health LANGUAGE`'s configured servers, each as its program, with `: path` when it is found.
fn health_servers(hx: &Path, config: &Path, language: &str) -> Vec<String> {
    let out = Command::new(hx)
        .args(["--health", language])
        .env("XDG_CONFIG_HOME", config)
        .env("PATH", path_var())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stripped: String = strip_ansi(&text);
    stripped
        .lines()
        .skip_while(|l| !l.starts_with("Configured language servers:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let (mark, rest) = l.trim().split_once(' ').unwrap();
            match mark {
                "✓" => rest.to_owned(),
                _ => rest.split(':').next().unwrap().to_owned(),
            }
        })
        .collect()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn add_openhands_then_a_task_from_the_code_action_edits_the_buffer() {
    let Some(hx) = helix() else {
        eprintln!(
            "skipped: no Helix (scripts/test unpacks it into ~/.cache/openhands-lsp/hx, or set OPENHANDS_HX)"
        );
        return;
    };
    if !Tmux::available() {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().canonicalize().unwrap();
    let config = home.join("config");
    let languages = config.join("helix/languages.toml");
    std::fs::create_dir_all(languages.parent().unwrap()).unwrap();
    std::fs::write(&languages, USER_LANGUAGES).unwrap();
    std::fs::copy(
        Path::new(REPO).join("editors/helix/config.toml"),
        config.join("helix/config.toml"),
    )
    .unwrap();

    let out = Command::new("python3")
        .arg(Path::new(REPO).join("editors/helix/add-openhands"))
        .args(["--hx", hx.to_str().unwrap(), "markdown"])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "add-openhands failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&home.display().to_string(), "~");
    expect![[r#"
        backup: ~/config/helix/languages.toml.bak
        rust: rust-analyzer, openhands (kept the servers this file lists)
        python: ruff, jedi, pylsp, openhands (kept Helix's built-in servers)
        markdown: marksman, markdown-oxide, openhands (kept Helix's built-in servers; new entry)
        [language-server.openhands]: command = openhands-lsp
        wrote ~/config/helix/languages.toml; check it with `hx --health LANGUAGE`
    "#]]
    .assert_eq(&stdout);
    expect![[r#"
        # My Helix languages.
        [language-server.rust-analyzer.config]
        check.command = "clippy"

        [[language]]
        name = "rust"
        auto-format = false
        language-servers = ["rust-analyzer", "openhands"]  # only this one

        [[language]]
        name = "python"
        indent = { tab-width = 4, unit = "    " }
        language-servers = ["ruff", "jedi", "pylsp", "openhands"]

        [[language]]
        name = "markdown"
        language-servers = ["marksman", "markdown-oxide", "openhands"]

        [language-server.openhands]
        command = "openhands-lsp"
    "#]]
    .assert_eq(&std::fs::read_to_string(&languages).unwrap());
    assert_eq!(
        std::fs::read_to_string(config.join("helix/languages.toml.bak")).unwrap(),
        USER_LANGUAGES
    );
    // A second run changes nothing and makes no second backup.
    let again = Command::new("python3")
        .arg(Path::new(REPO).join("editors/helix/add-openhands"))
        .args(["--hx", hx.to_str().unwrap(), "markdown"])
        .env("XDG_CONFIG_HOME", &config)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).replace(&home.display().to_string(), "~"),
        "~/config/helix/languages.toml: nothing to change\n"
    );
    assert!(!config.join("helix/languages.toml.bak.1").exists());

    // Helix reads the file and finds both servers, ours on PATH.
    let server = bin_dir().join("openhands-lsp").display().to_string();
    assert_eq!(
        health_servers(&hx, &config, "rust"),
        [
            "rust-analyzer".to_owned(),
            format!("openhands-lsp: {server}")
        ]
    );
    assert_eq!(
        health_servers(&hx, &config, "python"),
        [
            "ruff".to_owned(),
            "jedi-language-server".into(),
            "pylsp".into(),
            format!("openhands-lsp: {server}")
        ]
    );

    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "str_replace_editor",
                json!({"command": "str_replace", "path": "greet.rs",
                       "old_str": "\"hello\"", "new_str": "\"hello, world\""}),
            ),
            tool(
                "finish",
                json!({"message": "the greeting greets the world"}),
            ),
            tool("execute_bash", json!({"command": "rm scratch.txt"})),
            tool("finish", json!({"message": "kept the scratch file"})),
        ],
    );
    let ws = home.join("ws");
    std::fs::create_dir_all(ws.join(".git")).unwrap();
    std::fs::write(ws.join("scratch.txt"), "keep me").unwrap();
    let file = ws.join("greet.rs");
    let original = "// make the greeting say hello to the world\nfn greeting() -> &'static str {\n    \"hello\"\n}\n";
    std::fs::write(&file, original).unwrap();
    let env = [
        ("PATH", path_var()),
        ("HOME", home.display().to_string()),
        ("XDG_CONFIG_HOME", config.display().to_string()),
        ("XDG_CACHE_HOME", home.join("cache").display().to_string()),
        ("XDG_DATA_HOME", home.join("share").display().to_string()),
        (
            "OPENHANDS_DATA_DIR",
            home.join("data").display().to_string(),
        ),
        ("LLM_MODEL", "scripted-model".into()),
        ("LLM_BASE_URL", llm.base_url.clone()),
        ("LLM_API_KEY", "sk-test-secret".into()),
        ("LLM_NATIVE_TOOL_CALLING", "true".into()),
        ("LLM_NUM_RETRIES", "0".into()),
    ];
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
    let tmux = Tmux::start(
        "hx-setup",
        &format!(
            "cd '{}' && env {} '{}' greet.rs",
            ws.display(),
            vars.join(" "),
            hx.display()
        ),
    );
    let log = || {
        format!(
            "helix log:\n{}",
            std::fs::read_to_string(home.join("cache/helix/helix.log")).unwrap_or_default()
        )
    };
    tmux.wait("the file", 20, |s| s.contains("make the greeting"), log);
    // `space o o` (config.toml) opens the code actions on the line under the cursor; the server may still be
    // starting, so close an empty menu and ask again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        tmux.keys(&["Space", "o", "o"]);
        std::thread::sleep(std::time::Duration::from_millis(800));
        if tmux.screen().contains("OpenHands: do what") {
            break;
        }
        tmux.keys(&["Escape"]);
        assert!(
            std::time::Instant::now() < deadline,
            "no OpenHands code action; screen:\n{}\n{}",
            tmux.screen(),
            log()
        );
    }
    tmux.keys(&["Enter"]);
    let screen = tmux.wait(
        "the agent's edit and its finish",
        30,
        |s| s.contains("OpenHands finished") && s.contains("\"hello, world\""),
        log,
    );
    assert!(
        screen.contains("[+]"),
        "the buffer is modified, unsaved:\n{screen}"
    );
    let first = llm.requests()[0].to_string();
    assert!(
        first.contains("make the greeting say hello to the world") && first.contains("greet.rs"),
        "the prompt carries the line and the file: {first}"
    );
    // `space o s`: the task's state in the status line.
    tmux.keys(&["Space", "o", "s"]);
    tmux.wait(
        "the status line",
        10,
        |s| s.contains("OpenHands: 1 task(s); last t1 is finished"),
        log,
    );
    // `space o t`: Helix 25.01 does not advertise window/showDocument, so the server names the transcript's
    // file in the status line.
    tmux.keys(&["Space", "o", "t"]);
    tmux.wait(
        "the transcript's path",
        10,
        |s| s.contains(".openhands/transcripts/"),
        log,
    );

    // A second task wants to delete a file. Helix 25.01 has no showMessageRequest, so the status line names
    // the approval and the code action menu answers it: pick `reject #a1`.
    // Escape alone: followed at once by a key, the terminal reads it as Alt and that key.
    tmux.keys(&["Escape"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tmux.keys(&["Space", "o", "o"]);
    tmux.wait(
        "the code actions",
        10,
        |s| s.contains("OpenHands: do what"),
        log,
    );
    tmux.keys(&["Enter"]);
    tmux.wait(
        "the approval in the status line",
        30,
        |s| s.contains("#a1"),
        log,
    );
    tmux.keys(&["Space", "o", "o"]);
    let menu = tmux.wait(
        "the approval's code actions",
        10,
        |s| s.contains("reject #a1"),
        log,
    );
    let items: Vec<&str> = menu
        .lines()
        .filter_map(|l| l.find("OpenHands: ").map(|i| &l[i..]))
        .collect();
    let reject = items.iter().position(|i| i.contains("reject #a1")).unwrap();
    for _ in 0..reject {
        tmux.keys(&["Down"]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait(
        "the second finish",
        30,
        |s| s.contains("OpenHands finished: kept the scratch file"),
        log,
    );
    let last = llm.requests().last().unwrap().to_string();
    assert!(
        last.contains("Action has been rejected by the user!"),
        "the agent read the rejection ({items:?}): {last}"
    );
    assert!(
        ws.join("scratch.txt").exists(),
        "the rejected rm did not run"
    );
}
