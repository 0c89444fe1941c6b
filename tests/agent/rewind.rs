//! `openhands-lsp rewind` as a user runs it after a headless task, with the local and the Docker runtime:
//! binary files come back byte for byte, a git-ignored 1 GB file is neither read nor touched, the user's own
//! repository gets no commit or stash.

use std::process::Command;

use serde_json::json;

use super::common::CliEnv;
use super::scripted_llm::{ScriptedLlm, Wire, tool};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn git(ws: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(ws)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `openhands-lsp rewind ID`: the listing and the event ids of its steps.
fn list_steps(env: &CliEnv, id: &str) -> (String, Vec<i64>) {
    let listed = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", id])
        .output()
        .unwrap();
    let listing = text(&listed.stdout);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let events = listing
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    (listing, events)
}

/// A task of three commands in `env`'s workspace; returns the conversation's id.
fn run_three_commands(env: &CliEnv) -> (ScriptedLlm, String) {
    run_three_commands_in(env, &[])
}

/// The same, with more `run` arguments (e.g. `--runtime docker`).
fn run_three_commands_in(env: &CliEnv, args: &[&str]) -> (ScriptedLlm, String) {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "execute_bash",
                json!({"command": "printf '\\001\\002\\000\\377' > blob.bin && echo changed > notes.txt"}),
            ),
            tool(
                "execute_bash",
                json!({"command": "printf '\\000\\000' >> blob.bin && rm -f gone.txt && echo new > new.txt"}),
            ),
            tool(
                "execute_bash",
                json!({"command": "echo third >> notes.txt"}),
            ),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let args: Vec<&str> = args.iter().copied().chain(["change things"]).collect();
    let out = env.run_cmd(&llm.base_url, &args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list = env
        .cmd(&llm.base_url)
        .arg("conversations")
        .output()
        .unwrap();
    let id = text(&list.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (llm, id)
}

#[test]
fn rewind_brings_binary_files_back_and_leaves_an_ignored_gigabyte_and_the_users_repository_alone() {
    let env = CliEnv::new();
    let ws = env.ws();
    git(&ws, &["init", "-q"]);
    std::fs::write(ws.join(".gitignore"), "huge.img\n").unwrap();
    std::fs::write(ws.join("blob.bin"), [0u8, 159, 146, 150]).unwrap();
    std::fs::write(ws.join("notes.txt"), "original\n").unwrap();
    std::fs::write(ws.join("gone.txt"), "will be deleted\n").unwrap();
    git(&ws, &["add", "-A"]);
    git(
        &ws,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "base",
        ],
    );
    // A sparse 1 GB file the user's .gitignore names: no checkpoint may read or copy it.
    let huge = ws.join("huge.img");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(1 << 30).unwrap();
    let status_before = git(&ws, &["status", "--porcelain"]);
    let head = git(&ws, &["rev-parse", "HEAD"]);

    let (_llm, id) = run_three_commands(&env);
    assert_eq!(
        std::fs::read(ws.join("blob.bin")).unwrap(),
        [1, 2, 0, 255, 0, 0]
    );

    let (listing, events) = list_steps(&env, &id);
    assert_eq!(events.len(), 3, "{listing}");
    assert!(listing.contains("printf"), "{listing}");

    // Back to before the second command: blob.bin as the first left it, gone.txt back, new.txt gone.
    let out = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id, &events[1].to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("4 file(s) restored"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read(ws.join("blob.bin")).unwrap(), [1, 2, 0, 255]);
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "changed\n"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("gone.txt")).unwrap(),
        "will be deleted\n"
    );
    assert!(!ws.join("new.txt").exists());
    assert_eq!(std::fs::metadata(&huge).unwrap().len(), 1 << 30);
    // The user's repository: no commit, no stash, the same status as before the task's first change.
    assert_eq!(git(&ws, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&ws, &["stash", "list"]), "");
    assert_eq!(status_before, "");
    assert_eq!(
        git(&ws, &["status", "--porcelain"]),
        " M blob.bin\n M notes.txt\n"
    );
    let shadow_size: u64 = walk_size(&env.data().join("checkpoints"));
    assert!(
        shadow_size < 10 << 20,
        "the store holds {shadow_size} bytes"
    );

    // Rewinding again to the first step: only one step remains listed before the cut.
    let listed = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id])
        .output()
        .unwrap();
    assert_eq!(
        text(&listed.stdout).lines().count(),
        1,
        "{}",
        text(&listed.stdout)
    );
    let out = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id, &events[2].to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an undone step is no longer there"
    );
    assert!(
        text(&out.stderr).contains("has no checkpoint"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_workspace_that_is_not_a_repository_rewinds_and_a_deleted_store_is_reported() {
    let env = CliEnv::new();
    let ws = env.ws();
    std::fs::write(ws.join("blob.bin"), [9u8]).unwrap();
    std::fs::write(ws.join("notes.txt"), "original\n").unwrap();
    let (_llm, id) = run_three_commands(&env);
    assert!(!ws.join(".git").exists());
    let listed = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id])
        .output()
        .unwrap();
    let first: i64 = text(&listed.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Files only: the conversation keeps its three steps.
    let out = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id, &first.to_string(), "--no-conversation"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(ws.join("blob.bin")).unwrap(), [9]);
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "original\n"
    );
    assert!(!ws.join(".git").exists());
    let listed = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id])
        .output()
        .unwrap();
    assert_eq!(text(&listed.stdout).lines().count(), 3);

    std::fs::remove_dir_all(env.data().join("checkpoints")).unwrap();
    let out = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id, &first.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is no longer in the checkpoint store"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "original\n"
    );
    let listed = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id])
        .output()
        .unwrap();
    assert_eq!(
        text(&listed.stdout).lines().count(),
        3,
        "the conversation was not cut"
    );
}

fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_plan_mode_run_changes_nothing_and_says_why() {
    let env = CliEnv::new();
    let ws = env.ws();
    std::fs::write(ws.join("keep.txt"), "precious\n").unwrap();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "echo gone > keep.txt"})),
            tool("execute_bash", json!({"command": "cat keep.txt"})),
            tool("finish", json!({"message": "planned"})),
        ],
    );
    let out = env
        .run_cmd(&llm.base_url, &["--plan", "plan it"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(ws.join("keep.txt")).unwrap(),
        "precious\n"
    );
    let last = llm.requests().last().unwrap().to_string();
    assert!(last.contains("[Plan mode]"), "{last}");
    assert!(
        last.contains("Refused in plan mode: it contains `>`"),
        "{last}"
    );
    assert!(
        last.contains("precious"),
        "the read-only command ran: {last}"
    );
}

/// With the Docker runtime the workspace is mounted in the container: its commands' changes are checkpointed
/// on the host like the local runtime's, and a rewind puts them back.
#[test]
fn a_docker_task_is_checkpointed_and_rewound_on_the_host() {
    if let Some(reason) = super::cli::docker_unavailable() {
        eprintln!("skipped: no Docker Engine ({reason})");
        return;
    }
    let env = CliEnv::new();
    let ws = env.ws();
    std::fs::create_dir_all(ws.join(".openhands")).unwrap();
    // The variant the other Docker CLI tests use, so its image is reused.
    std::fs::write(
        ws.join(".openhands/config.toml"),
        "[runtime]\njupyter = true\nbrowser = true\n[docker]\nrootfs = \"debian\"\nmemory = \"1g\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("blob.bin"), [0u8, 159, 146, 150]).unwrap();
    std::fs::write(ws.join("notes.txt"), "original\n").unwrap();
    std::fs::write(ws.join("gone.txt"), "will be deleted\n").unwrap();
    let (_llm, id) = run_three_commands_in(&env, &["--runtime", "docker"]);
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "changed\nthird\n"
    );
    let (listing, events) = list_steps(&env, &id);
    assert_eq!(events.len(), 3, "{listing}");
    let out = env
        .cmd("http://127.0.0.1:9")
        .args(["rewind", &id, &events[1].to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(ws.join("blob.bin")).unwrap(), [1, 2, 0, 255]);
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "changed\n"
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("gone.txt")).unwrap(),
        "will be deleted\n"
    );
    assert!(!ws.join("new.txt").exists());
}
