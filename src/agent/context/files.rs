//! Reading the workspace's instruction files safely: bounded reads, text only, links that leave the
//! workspace refused; which `AGENTS.md`-like files apply to a task (nearest first); git's repository
//! name and branch read from `.git` without running git.

use std::io::Read;
use std::path::{Path, PathBuf};

/// How much of each file, and of all instructions together, reaches the prompt.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes read from one file at most (the rest is never read).
    pub file_bytes: usize,
    /// Characters of one file kept in the prompt.
    pub file_chars: usize,
    /// Characters of all repository instructions together.
    pub total_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            file_bytes: 256 * 1024,
            file_chars: 20_000,
            total_chars: 40_000,
        }
    }
}

impl Limits {
    /// `text` cut to `file_chars`, with a note saying so; `size` is the file's size in bytes.
    pub fn cut(&self, text: &str, shown: &str, size: u64) -> String {
        cut_chars(text, self.file_chars, shown, size)
    }
}

pub fn cut_chars(text: &str, max: usize, shown: &str, size: u64) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!(
            "{}\n\n[... {shown} is {size} bytes; only its first {max} characters are included here. Read the file itself for the rest.]",
            &text[..at]
        ),
    }
}

/// A file's text and its size on disk.
#[derive(Debug)]
pub struct Text {
    pub text: String,
    pub size: u64,
}

/// Reads at most `max_bytes` of a regular text file. `confine`: the file must resolve inside it.
pub fn read_text(path: &Path, confine: Option<&Path>, max_bytes: usize) -> Result<Text, String> {
    let real = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve it: {e}"))?;
    if let Some(root) = confine {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        if !real.starts_with(&root) {
            return Err(format!(
                "it is a link to {}, outside the workspace",
                real.display()
            ));
        }
    }
    let file = std::fs::File::open(&real).map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot stat it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(max_bytes as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.contains(&0) {
        return Err("it is a binary file, not text".into());
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        // A cut in the middle of a character at the read bound is fine; invalid text elsewhere is not.
        Err(e) if meta.len() > max_bytes as u64 && e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
        Err(_) => return Err("it is not UTF-8 text".into()),
    };
    Ok(Text {
        text,
        size: meta.len(),
    })
}

/// Instruction files of the repository root, in the order they are given.
pub const ROOT_FILES: &[&str] = &[
    "AGENTS.md",
    "AGENT.md",
    "agents.md",
    ".openhands/microagents/repo.md",
    "CLAUDE.md",
    ".cursorrules",
];

/// Instruction files of a subdirectory, for tasks that name files under it.
const SUBDIR_FILES: &[&str] = &["AGENTS.md", "AGENT.md", "agents.md", "CLAUDE.md"];

/// The paths `text` names that exist in `workspace` (relative to it, or absolute inside it).
pub fn named_paths(text: &str, workspace: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for word in
        text.split(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | ',' | '(' | ')'))
    {
        let word = word.trim_end_matches(['.', ':', ';', '!', '?']);
        if word.is_empty()
            || !(word.contains('/') || word.contains('.'))
            || word.contains("://")
            || word.split('/').any(|c| c == "..")
        {
            continue;
        }
        let p = Path::new(word);
        let full = if p.is_absolute() {
            p.to_path_buf()
        } else {
            workspace.join(p)
        };
        if full.starts_with(workspace) && full.exists() && !out.contains(&full) {
            out.push(full);
        }
    }
    out
}

/// The instruction files that apply to a task naming `named` (paths inside `workspace`): for each named
/// path, the files of its directories from the nearest up to (not including) the root, then the root's.
pub fn instruction_files(workspace: &Path, named: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let push = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if p.is_file() && !out.contains(&p) {
            out.push(p);
        }
    };
    for path in named {
        let mut dir = if path.is_dir() {
            Some(path.as_path())
        } else {
            path.parent()
        };
        while let Some(d) = dir {
            if d == workspace || !d.starts_with(workspace) {
                break;
            }
            for name in SUBDIR_FILES {
                push(d.join(name), &mut out);
            }
            dir = d.parent();
        }
    }
    // On a case-insensitive file system `AGENTS.md` and `agents.md` are one file: keep it once.
    let mut seen_real: Vec<PathBuf> = Vec::new();
    for name in ROOT_FILES {
        let p = workspace.join(name);
        if let Ok(real) = p.canonicalize() {
            if seen_real.contains(&real) {
                continue;
            }
            seen_real.push(real);
        }
        push(p, &mut out);
    }
    out
}

/// The repository's name (from `origin`'s URL, else the directory's name) and current branch, read from
/// `.git` (a directory, or a worktree's `gitdir:` file).
pub fn git_info(workspace: &Path) -> (Option<String>, Option<String>) {
    let dot_git = workspace.join(".git");
    let git_dir = if dot_git.is_dir() {
        Some(dot_git)
    } else {
        std::fs::read_to_string(&dot_git).ok().and_then(|t| {
            let p = PathBuf::from(t.strip_prefix("gitdir:")?.trim());
            Some(if p.is_absolute() {
                p
            } else {
                workspace.join(p)
            })
        })
    };
    let Some(git_dir) = git_dir else {
        return (None, None);
    };
    let small = |p: PathBuf| {
        read_text(&p, None, 64 * 1024)
            .ok()
            .map(|t| t.text)
            .unwrap_or_default()
    };
    let head = small(git_dir.join("HEAD"));
    let branch = head
        .trim()
        .strip_prefix("ref: refs/heads/")
        .map(str::to_owned);
    // A worktree's config lives in the common directory.
    let common = std::fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or(git_dir);
    let config = small(common.join("config"));
    let mut in_origin = false;
    let mut origin = None;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
        } else if in_origin && let Some(url) = line.strip_prefix("url") {
            origin = url
                .trim_start()
                .strip_prefix('=')
                .map(|u| u.trim().to_owned());
        }
    }
    let name = origin
        .as_deref()
        .and_then(|u| {
            let tail = u.trim_end_matches('/').trim_end_matches(".git");
            let owner_repo: Vec<&str> = tail.rsplit(['/', ':']).take(2).collect();
            match owner_repo.as_slice() {
                [repo, owner] if !owner.is_empty() && !owner.contains('@') => {
                    Some(format!("{owner}/{repo}"))
                }
                [repo, ..] => Some((*repo).to_owned()),
                _ => None,
            }
        })
        .or_else(|| {
            workspace
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        });
    (name, branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_files_bring_their_directories_instructions_first() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(ws.join("crates/core/src")).unwrap();
        std::fs::write(ws.join("AGENTS.md"), "root").unwrap();
        std::fs::write(ws.join("CLAUDE.md"), "claude").unwrap();
        std::fs::write(ws.join("crates/core/AGENTS.md"), "core").unwrap();
        std::fs::write(ws.join("crates/AGENTS.md"), "crates").unwrap();
        std::fs::write(ws.join("crates/core/src/lib.rs"), "").unwrap();
        let named = named_paths(
            "fix `crates/core/src/lib.rs`, see http://x/a.b and nothing.txt.",
            &ws,
        );
        assert_eq!(named, [ws.join("crates/core/src/lib.rs")]);
        let files = instruction_files(&ws, &named);
        let rel: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(&ws).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "crates/core/AGENTS.md",
                "crates/AGENTS.md",
                "AGENTS.md",
                "CLAUDE.md"
            ]
        );
    }

    #[test]
    fn reads_are_bounded_text_and_stay_in_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(ws.join("big.md"), "é".repeat(100)).unwrap();
        let t = read_text(&ws.join("big.md"), Some(&ws), 51).unwrap();
        assert_eq!((t.text.chars().count(), t.size), (25, 200));
        std::fs::write(ws.join("bin.md"), b"a\0b").unwrap();
        assert!(
            read_text(&ws.join("bin.md"), Some(&ws), 100)
                .unwrap_err()
                .contains("binary")
        );
        std::fs::write(ws.join("latin.md"), b"caf\xe9 ok").unwrap();
        assert!(
            read_text(&ws.join("latin.md"), Some(&ws), 100)
                .unwrap_err()
                .contains("UTF-8")
        );
        std::fs::write(dir.path().join("outside.md"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.md"), ws.join("link.md")).unwrap();
        assert!(
            read_text(&ws.join("link.md"), Some(&ws), 100)
                .unwrap_err()
                .contains("outside the workspace")
        );
        assert_eq!(
            cut_chars("abcdef", 3, "AGENTS.md", 6),
            "abc\n\n[... AGENTS.md is 6 bytes; only its first 3 characters are included here. Read the file itself for the rest.]"
        );
    }

    #[test]
    fn git_name_and_branch_come_from_dot_git() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("proj");
        std::fs::create_dir_all(ws.join(".git")).unwrap();
        std::fs::write(ws.join(".git/HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        std::fs::write(
            ws.join(".git/config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:acme/widgets.git\n",
        )
        .unwrap();
        assert_eq!(
            git_info(&ws),
            (Some("acme/widgets".into()), Some("feature/x".into()))
        );
        std::fs::write(ws.join(".git/config"), "").unwrap();
        assert_eq!(git_info(&ws).0.as_deref(), Some("proj"));
        assert_eq!(git_info(dir.path()), (None, None));
    }
}
