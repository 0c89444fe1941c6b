//! The editor's directory `view`: two levels deep, hidden entries left out and counted.
//!
//! OpenHands runs `find -L <path> -maxdepth 2 -not \( -path '<path>/\.*' -o -path '<path>/*/\.*' \) | sort`
//! with the path unquoted; this walks the directory itself (so spaces work) and sorts the full paths
//! byte-wise, like `sort` in the C locale.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use super::editor::{MAX_RESPONSE_LEN_CHAR, truncate_chars};

const DIRECTORY_CONTENT_TRUNCATED_NOTICE: &str = "<response clipped><NOTE>Due to the max output limit, only part of this directory has been shown to you. You should use `ls -la` instead to view large directories incrementally.</NOTE>";

/// The text the model sees for a directory `view` of `dir`.
///
/// Only an unreadable `dir` is an error; an unreadable subdirectory is listed without its contents
/// (where `find` would turn the whole view into an error).
pub(crate) fn render(dir: &Path) -> io::Result<String> {
    let mut entries: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut dirs: HashSet<PathBuf> = HashSet::from([dir.to_path_buf()]);
    let mut hidden = 0usize;
    for name in visible_children(dir, Some(&mut hidden))? {
        let child = dir.join(name);
        if is_dir(&child) {
            if let Ok(grandchildren) = visible_children(&child, None) {
                for name in grandchildren {
                    let grandchild = child.join(name);
                    if is_dir(&grandchild) {
                        dirs.insert(grandchild.clone());
                    }
                    entries.push(grandchild);
                }
            }
            dirs.insert(child.clone());
        }
        entries.push(child);
    }
    entries.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));

    // Like OpenHands, truncate the raw `find | sort` output, then mark directories line by line.
    let mut raw = String::new();
    for entry in &entries {
        raw.push_str(&entry.to_string_lossy());
        raw.push('\n');
    }
    let raw = truncate_chars(
        &raw,
        MAX_RESPONSE_LEN_CHAR,
        DIRECTORY_CONTENT_TRUNCATED_NOTICE,
    );
    let dir_names: HashSet<String> = dirs
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    let lines: Vec<String> = raw
        .trim()
        .split('\n')
        .map(|line| {
            if dir_names.contains(line) && !line.ends_with('/') {
                format!("{line}/")
            } else {
                line.to_owned()
            }
        })
        .collect();

    let shown = dir.display();
    let mut out = format!(
        "Here's the files and directories up to 2 levels deep in {shown}, excluding hidden items:\n{}",
        lines.join("\n")
    );
    if hidden > 0 {
        out.push_str(&format!(
            "\n\n{hidden} hidden files/directories in this directory are excluded. You can use 'ls -la {shown}' to see them."
        ));
    }
    Ok(out)
}

/// Names in `dir` not starting with a dot; counts the others into `hidden` when asked.
fn visible_children(dir: &Path, mut hidden: Option<&mut usize>) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if name.as_bytes().starts_with(b".") {
            if let Some(count) = hidden.as_deref_mut() {
                *count += 1;
            }
        } else {
            names.push(name);
        }
    }
    Ok(names)
}

/// `find -L` semantics: a symlink to a directory is a directory.
fn is_dir(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use pretty_assertions::assert_eq;

    use super::*;

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("my work");
        for dir in [
            "sub/deeper/deepest",
            "a-b",
            ".git/objects",
            "sub/.cache",
            "z",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in [
            "a.txt",
            "B.txt",
            "sub/b.txt",
            "sub/.hidden",
            "sub/deeper/not shown.txt",
            ".env",
            "with space.md",
        ] {
            fs::write(root.join(file), "x").unwrap();
        }
        std::os::unix::fs::symlink(root.join("sub"), root.join("z/link")).unwrap();
        (tmp, root)
    }

    #[test]
    fn listing_is_two_levels_sorted_bytewise_with_hidden_count() {
        let (tmp, root) = tree();
        let out = render(&root).unwrap();
        let out = out.replace(&tmp.path().display().to_string(), "/tmp");
        expect![[r#"
            Here's the files and directories up to 2 levels deep in /tmp/my work, excluding hidden items:
            /tmp/my work/
            /tmp/my work/B.txt
            /tmp/my work/a-b/
            /tmp/my work/a.txt
            /tmp/my work/sub/
            /tmp/my work/sub/b.txt
            /tmp/my work/sub/deeper/
            /tmp/my work/with space.md
            /tmp/my work/z/
            /tmp/my work/z/link/

            2 hidden files/directories in this directory are excluded. You can use 'ls -la /tmp/my work' to see them."#]]
        .assert_eq(&out);
    }

    #[test]
    fn recorded_workspace_view() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("workspace");
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("a.txt"), "x").unwrap();
        fs::write(root.join("sub/b.txt"), "x").unwrap();
        let out = render(&root).unwrap();
        let want = "Here's the files and directories up to 2 levels deep in /workspace, excluding hidden items:\n/workspace/\n/workspace/a.txt\n/workspace/sub/\n/workspace/sub/b.txt";
        assert_eq!(out.replace(&tmp.path().display().to_string(), ""), want);
    }

    #[test]
    fn long_listings_are_clipped_with_the_directory_notice() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..2000 {
            fs::write(tmp.path().join(format!("file-{i:05}.txt")), "").unwrap();
        }
        let out = render(tmp.path()).unwrap();
        assert!(out.ends_with(DIRECTORY_CONTENT_TRUNCATED_NOTICE), "{out}");
        assert!(out.chars().count() < MAX_RESPONSE_LEN_CHAR + 400);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        assert!(render(Path::new("/nonexistent/dir/for/sure")).is_err());
    }
}
