//! Path resolution shared by file actions and transfers: relative to the shell's cwd, optionally confined.

use std::ffi::OsString;
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

/// Most symlinks followed while resolving one path, as Linux's `MAXSYMLINKS`; past it the rest is taken
/// literally (the kernel would answer `ELOOP`, so the operation fails anyway).
const MAX_SYMLINKS: usize = 40;

/// Where the kernel would land for `path` (absolute): symlinks resolved component by component, a
/// dangling one included (its target is what `open(O_CREAT)` or `mkdir` would create), and components
/// that do not exist taken as they are.
///
/// Resolving only the longest existing prefix, as `canonicalize` needs, would treat a dangling symlink as
/// a name that does not exist yet, and a write through it would land wherever it points.
pub(crate) fn resolve_links(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    // Components still to walk, last one first.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut followed = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            out.pop();
            continue;
        }
        if name == "." {
            continue;
        }
        let candidate = out.join(&name);
        let link = (followed < MAX_SYMLINKS)
            .then(|| std::fs::symlink_metadata(&candidate).ok())
            .flatten()
            .filter(|m| m.file_type().is_symlink())
            .and_then(|_| std::fs::read_link(&candidate).ok());
        match link {
            Some(target) => {
                followed += 1;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                push_components(&mut pending, &target);
            }
            None => out = candidate,
        }
    }
    out
}

/// Pushes the components of `path` onto `pending` so that the first one is popped first.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let start = pending.len();
    for comp in path.components() {
        match comp {
            Component::Normal(name) => pending.push(name.to_owned()),
            Component::ParentDir => pending.push("..".into()),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    pending[start..].reverse();
}

/// The error text when a confined server is asked for a path outside its working directory.
pub(crate) fn outside_message(path: &Path, root: &Path) -> String {
    format!(
        "Path {} is outside the working directory {}: this runtime only accepts file operations inside it",
        path.display(),
        root.display()
    )
}

/// Checks that `path` (absolute) stays inside `root` (canonical) once every symlink on the way, and a
/// dangling one at its end, is resolved.
///
/// This checks the path as it is now; the operation then opens it by name. The agent's shell, which is
/// not confined, could swap a component for a symlink in between, but it can reach those files itself.
pub(crate) fn check_confined(path: &Path, root: &Path) -> Result<(), String> {
    if resolve_links(path).starts_with(root) {
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

    /// The tester's escape: `ln -s /outside/x ws/d`, then a write of `d` created `/outside/x`.
    #[test]
    fn confine_dangling_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        let root = top.join("ws");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let outside = top.join("outside");
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap()
        };
        link(&outside.join("x"), "d");
        link(Path::new("e"), "chain");
        link(&outside.join("y"), "e");
        link(&outside.join("newdir"), "dd");
        link(Path::new("../../outside/z"), "sub/rel");
        link(Path::new("sub/../../outside"), "dots");
        link(&root.join("sub/target.txt"), "inside");
        link(Path::new("sub"), "subdir");
        link(Path::new("loop"), "loop");
        for escaping in [
            "d",
            "chain",
            "dd/file",
            "sub/rel",
            "dots/a",
            "subdir/rel",
            "subdir/../d",
        ] {
            let path = absolutize(&root, escaping);
            assert_eq!(
                check_confined(&path, &root),
                Err(outside_message(&path, &root)),
                "{escaping}"
            );
        }
        for staying in [
            "inside",
            "subdir/new.txt",
            "sub/../new.txt",
            "new/deep/file",
            "loop",
        ] {
            assert_eq!(
                check_confined(&absolutize(&root, staying), &root),
                Ok(()),
                "{staying}"
            );
        }
        assert_eq!(resolve_links(&root.join("chain")), outside.join("y"));
        assert_eq!(resolve_links(&root.join("subdir/x")), root.join("sub/x"));
    }
}
