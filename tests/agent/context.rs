//! Repository instructions, skills and workspace context through the CLI with a real runtime: what the
//! first request carries (nearest instructions first, huge files cut, secret names without values), a
//! skill brought in once by its trigger, a malformed skill skipped with a warning, and a resumed
//! conversation sending what it sent before without injecting anything twice.

use std::path::Path;

use serde_json::{Value, json};

use super::common::CliEnv;
use super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};
use super::secrets::write_secrets_config;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The user messages of a request body, in order.
fn user_texts(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| match &m["content"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn conversation_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .rfind(|l| l.starts_with("tokens:"))
        .unwrap_or_else(|| panic!("no totals line: {stderr}"));
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn the_first_request_carries_the_nearest_instructions_first_and_the_workspace_context() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![tool("finish", json!({"message": "done"}))],
    );
    let env = CliEnv::new();
    let ws = env.ws();
    write(
        &ws,
        "AGENTS.md",
        "ROOT-RULE: run `make check` before finishing.",
    );
    write(&ws, "src/app/AGENTS.md", "APP-RULE: the app uses tabs.");
    write(&ws, "src/AGENTS.md", "SRC-RULE: no unsafe.");
    write(&ws, "docs/AGENTS.md", "DOCS-RULE: not for this task.");
    write(&ws, "src/app/main.py", "print(1)\n");
    write(&ws, "CLAUDE.md", "CLAUDE-RULE: be brief.");
    write(
        &ws,
        ".openhands/microagents/repo.md",
        "REPO-MD-RULE: python 3.12.",
    );
    // A 10 MB file must not blow the prompt: it is cut, with a note.
    write(
        &ws,
        ".cursorrules",
        &format!("CURSOR-START {}", "x".repeat(10 << 20)),
    );
    write(&ws, ".git/HEAD", "ref: refs/heads/feature-x\n");
    write(
        &ws,
        ".git/config",
        "[remote \"origin\"]\n\turl = https://github.com/acme/widgets.git\n",
    );
    write_secrets_config(
        &env.dir.path().join("config"),
        "[secrets]\nDEPLOY_TOKEN = \"deploy-value-6f1c2a\"\n",
    );
    let out = env
        .run_cmd(&llm.base_url, &["fix src/app/main.py please"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let requests = llm.requests();
    let first = &requests[0];
    let body = first.to_string();
    assert!(body.len() < 120_000, "the request is {} bytes", body.len());
    let users = user_texts(first);
    assert_eq!(users[0], "fix src/app/main.py please");
    let context = &users[1];
    let order: Vec<usize> = [
        "APP-RULE",
        "SRC-RULE",
        "ROOT-RULE",
        "REPO-MD-RULE",
        "CLAUDE-RULE",
        "CURSOR-START",
    ]
    .iter()
    .map(|rule| {
        context
            .find(rule)
            .unwrap_or_else(|| panic!("{rule} in {context}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}: {context}"
    );
    assert!(!context.contains("DOCS-RULE"), "{context}");
    assert!(
        context.contains(
            ".cursorrules is 10485773 bytes; only its first 20000 characters are included here"
        ),
        "{context}"
    );
    assert!(
        context.contains("The repository `acme/widgets` is checked out at"),
        "{context}"
    );
    assert!(context.contains("on branch `feature-x`"), "{context}");
    assert!(
        context.contains(&format!("The working directory is {}.", ws.display())),
        "{context}"
    );
    let today = &openhands_lsp::events::now_iso()[..10];
    assert!(
        context.contains(&format!("Today's date is {today} (UTC).")),
        "{context}"
    );
    assert!(context.contains("`$DEPLOY_TOKEN`"), "{context}");
    assert!(!body.contains("deploy-value-6f1c2a"), "{body}");
    assert!(
        stderr.contains("[context] workspace context, instructions from src/app/AGENTS.md, src/AGENTS.md, AGENTS.md, .openhands/microagents/repo.md, CLAUDE.md, .cursorrules"),
        "{stderr}"
    );
}

#[test]
fn a_trigger_brings_a_skill_in_once_and_a_resumed_conversation_sends_the_same() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Text("Which environment should I deploy to?".into()),
            tool("finish", json!({"message": "deployed"})),
        ],
    );
    let env = CliEnv::new();
    let ws = env.ws();
    write(
        &ws,
        ".openhands/microagents/deploy.md",
        "---\nname: deploy\ntriggers: [deploy, ship]\n---\nDEPLOY-SKILL: run ./deploy.sh with the environment.",
    );
    write(
        &ws,
        ".agents/skills/broken.md",
        "---\ntriggers: [deploy\n---\nBROKEN-SKILL",
    );
    write(&ws, ".agents/skills/bin.md", "\0\0binary");
    write(
        &env.dir.path().join("config"),
        "openhands-lsp/skills/docs/SKILL.md",
        "---\ntriggers:\n  - Docs\n---\nDOCS-SKILL: docs live in docs/.",
    );
    let first = env
        .run_cmd(&llm.base_url, &["Deploy the app"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    assert_eq!(first.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("warning: skill .agents/skills/broken.md skipped: line 2: the `triggers` list is not closed with `]`"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: skill .agents/skills/bin.md skipped: it is a binary file, not text"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("skill .openhands/microagents/deploy.md (\"deploy\")"),
        "{stderr}"
    );
    let id = conversation_id(&stderr);
    // The answer triggers the deploy skill again (not injected twice) and the user's docs skill.
    let second = env
        .run_cmd(
            &llm.base_url,
            &["--resume", &id, "ship it to staging, as the docs say"],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    let requests = llm.requests();
    assert_eq!(requests.len(), 2);
    let before = requests[0]["messages"].as_array().unwrap();
    let after = requests[1]["messages"].as_array().unwrap();
    assert_eq!(
        &after[..before.len()],
        before.as_slice(),
        "the resumed conversation's history"
    );
    let all = requests[1].to_string();
    assert_eq!(all.matches("DEPLOY-SKILL").count(), 1, "{all}");
    assert_eq!(all.matches("DOCS-SKILL").count(), 1, "{all}");
    assert_eq!(all.matches("The working directory is").count(), 1, "{all}");
    assert!(!all.contains("BROKEN-SKILL"), "{all}");
    let users = user_texts(&requests[1]);
    assert_eq!(users.len(), 4, "{users:#?}");
    assert!(
        users[1].contains("keyword match for \\\"deploy\\\"")
            || users[1].contains("keyword match for \"deploy\""),
        "{}",
        users[1]
    );
    assert_eq!(users[2], "ship it to staging, as the docs say");
    assert!(users[3].starts_with("<EXTRA_INFO>\nThe following information has been included based on a keyword match for \"docs\""), "{}", users[3]);
    assert!(stderr.contains("[context] skill "), "{stderr}");
}

#[test]
fn doctor_shows_instructions_skills_and_secret_names() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let env = CliEnv::new();
    let ws = env.ws();
    write(&ws, "AGENTS.md", "rules");
    write(
        &ws,
        ".agents/skills/deploy.md",
        "---\ntriggers: [deploy]\n---\nx",
    );
    write(&ws, ".agents/skills/broken.md", "---\nnot yaml\n---\nx");
    write_secrets_config(
        &env.dir.path().join("config"),
        "[secrets]\nDEPLOY_TOKEN = \"deploy-value-6f1c2a\"\n",
    );
    let out = env
        .cmd(&llm.base_url)
        .args(["doctor", "--workspace"])
        .arg(&ws)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("ok   secrets: DEPLOY_TOKEN (exported into the sandbox's shell)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warn context: instructions: AGENTS.md; skills: deploy (deploy); skill .agents/skills/broken.md skipped: line 2: `not yaml` is not `key: value`"),
        "{stdout}"
    );
    assert!(!stdout.contains("deploy-value-6f1c2a"), "{stdout}");
}
