//! The `[checkers]` commands: which one checks a file, by its extension or language, for when the editor
//! sends no diagnostics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The checker commands of the `[checkers]` tables of `files` (later files win), by language or extension.
pub fn checkers(files: &[PathBuf]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        if let Some(toml::Value::Table(c)) = table.get("checkers") {
            for (k, v) in c {
                if let toml::Value::String(cmd) = v {
                    out.insert(k.clone(), cmd.clone());
                }
            }
        }
    }
    out
}

/// The checker for `path`: by its extension, or by the language that extension belongs to.
pub(super) fn checker_for<'a>(
    checkers: &'a HashMap<String, String>,
    path: &Path,
) -> Option<&'a String> {
    let ext = path.extension()?.to_str()?;
    let language = match ext {
        "rs" => "rust",
        "py" | "pyi" => "python",
        "ts" | "tsx" | "mts" | "cts" => "typescript",
        "js" | "jsx" | "mjs" | "cjs" => "javascript",
        "go" => "go",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" | "cxx" => "cpp",
        "java" => "java",
        "rb" => "ruby",
        "sh" | "bash" => "shell",
        other => other,
    };
    checkers.get(ext).or_else(|| checkers.get(language))
}

pub(super) fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
