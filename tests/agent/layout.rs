//! The shape of the house, checked on the source tree: which module may import which crate, that the agent
//! core knows no front end, which crate depends on which, and that every source file says why it exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files_under(rel: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join(rel), &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Files under `src/` that mention `needle` outside the directories allowed to.
fn offenders(needle: &str, allowed: &[&str]) -> Vec<String> {
    files_under("src")
        .into_iter()
        .filter(|(path, text)| {
            !allowed.iter().any(|a| path.starts_with(a)) && text.contains(needle)
        })
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn each_outside_crate_is_imported_by_its_one_module() {
    assert_eq!(
        offenders("bollard", &["src/runtime/docker/"]),
        Vec::<String>::new()
    );
    assert_eq!(
        offenders("tower_lsp_server", &["src/lsp/"]),
        Vec::<String>::new()
    );
    assert_eq!(
        offenders("agent_client_protocol", &["src/acp/"]),
        Vec::<String>::new()
    );
    // Provider HTTP: only the LLM module builds requests to a provider; the runtime's client speaks to our
    // own server.
    assert_eq!(
        offenders("reqwest", &["src/llm/", "src/runtime/"]),
        Vec::<String>::new()
    );
    assert_eq!(
        offenders("chat/completions", &["src/llm/"]),
        Vec::<String>::new()
    );
    // MCP: the agent's MCP module and the runtime server's own are the only users of the SDK.
    assert_eq!(offenders("rmcp", &["src/mcp/"]), Vec::<String>::new());
    let runtime_users: Vec<String> = files_under("runtime-server/src")
        .into_iter()
        .filter(|(path, text)| {
            !path.starts_with("runtime-server/src/mcp/") && text.contains("rmcp")
        })
        .map(|(path, _)| path)
        .collect();
    assert_eq!(runtime_users, Vec::<String>::new());
}

#[test]
fn the_agent_core_knows_no_front_end() {
    for core in [
        "src/events",
        "src/storage",
        "src/llm",
        "src/agent",
        "src/runtime",
    ] {
        for (path, text) in files_under(core) {
            for front in [
                "crate::cli",
                "crate::lsp",
                "crate::session",
                "crate::transcript",
                "crate::acp",
                "crate::updates",
                "crate::approval",
            ] {
                assert!(!text.contains(front), "{path} uses {front}");
            }
        }
    }
}

/// The runtime sits below the agent: the session maps the front ends' settings to the runtime's options, so
/// `src/runtime` reads no configuration and knows no command line.
#[test]
fn the_runtime_reads_no_configuration() {
    for (path, text) in files_under("src/runtime") {
        for upper in ["crate::config", "crate::cli", "crate::agent"] {
            assert!(!text.contains(upper), "{path} uses {upper}");
        }
    }
}

#[test]
fn crates_depend_only_as_the_architecture_says() {
    let deps = |manifest: &str| -> Vec<String> {
        let text = std::fs::read_to_string(root().join(manifest)).unwrap();
        let table: toml::Table = text.parse().unwrap();
        table
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert!(!deps("Cargo.toml").contains(&"axum".to_owned()));
    assert!(!deps("runtime-server/Cargo.toml").contains(&"tower-lsp-server".to_owned()));
    assert_eq!(
        deps("runtime-server/api/Cargo.toml"),
        ["serde", "serde_json", "serde_path_to_error"]
    );
}

#[test]
fn every_source_file_says_why_it_exists() {
    let mut missing = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "runtime-server",
        "fuzz/fuzz_targets",
    ] {
        for (path, text) in files_under(dir) {
            if !text.starts_with("//!") {
                missing.push(path);
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new());
}

/// The editor clients keep the rule too: every TypeScript, JavaScript module, Lua and Emacs Lisp file starts
/// with a comment line of its language.
#[test]
fn every_editor_source_file_says_why_it_exists() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !matches!(
                    name.as_str(),
                    "node_modules" | "dist" | "dist-test" | "server"
                ) {
                    walk(&p, out);
                }
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("editors"), &mut files);
    let mut missing = Vec::new();
    let mut checked = 0;
    for p in files {
        let comment = match p.extension().and_then(|e| e.to_str()) {
            Some("ts" | "mjs" | "js") => "//",
            Some("lua") => "--",
            Some("el") => ";;",
            _ => continue,
        };
        checked += 1;
        if !std::fs::read_to_string(&p).unwrap().starts_with(comment) {
            missing.push(p.strip_prefix(root()).unwrap().display().to_string());
        }
    }
    assert!(checked > 30, "the editor sources were found ({checked})");
    assert_eq!(missing, Vec::<String>::new());
}
