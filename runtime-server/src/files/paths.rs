//! Path resolution shared by file actions and transfers: relative to the shell's cwd, optionally confined.

use std::path::{Component, Path, PathBuf};

/// Joins `path` onto `base` when relative and removes `.` and `..` lexically (no symlinks followed).
pub(crate) fn absolutize(base: &Path, path: &str) -> PathBuf {
    let joined = if Path::new(path).is_absolute() {
        PathBuf::from(path)
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for comp in joined.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolves symlinks of the longest existing ancestor, so a path that does not exist yet can be checked.
fn canonical_prefix(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// The error text when a confined server is asked for a path outside its working directory.
pub(crate) fn outside_message(path: &Path, root: &Path) -> String {
    format!(
        "Path {} is outside the working directory {}: this runtime only accepts file operations inside it",
        path.display(),
        root.display()
    )
}

/// Checks that `path` (absolute) stays inside `root` (canonical) once symlinks are resolved.
pub(crate) fn check_confined(path: &Path, root: &Path) -> Result<(), String> {
    if canonical_prefix(path).starts_with(root) {
        Ok(())
    } else {
        Err(outside_message(path, root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_cwd_and_dots_collapse() {
        let base = Path::new("/w/sub");
        assert_eq!(absolutize(base, "a.txt"), PathBuf::from("/w/sub/a.txt"));
        assert_eq!(absolutize(base, "../b/./c"), PathBuf::from("/w/b/c"));
        assert_eq!(absolutize(base, "/etc/../tmp"), PathBuf::from("/tmp"));
    }

    #[test]
    fn confinement_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::os::unix::fs::symlink("/etc", root.join("escape")).unwrap();
        assert!(check_confined(&root.join("new/file.txt"), &root).is_ok());
        assert!(check_confined(&root.join("escape/passwd"), &root).is_err());
        assert!(check_confined(Path::new("/etc/passwd"), &root).is_err());
    }
}
