//! `write`: byte-exact file writes that keep an existing file's mode, shared with the editor.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

use openhands_runtime_api::Observation;

use super::regular::{FileKind, OpenError, open_regular, read_at_most};

/// The largest file a ranged write rewrites (the editor's limit for whole-file edits).
const MAX_SPLICE_BYTES: u64 = 10 * 1024 * 1024;

/// The mode OpenHands gives new files (`chmod 0o664`, whatever the umask).
pub(crate) const NEW_FILE_MODE: u32 = 0o664;

/// Runs a `write` action on `abs` (already resolved and confined).
///
/// With the defaults `start == 0, end == -1` the file becomes exactly `content`: OpenHands appends a
/// `\n` to every line, we do not. Any other `start`/`end` replaces the existing file's lines
/// `[start, end)` (0-based, `end` exclusive; a negative `end` or one past the last line means "to the
/// end", an `end` before `start` inserts at `start`) with `content`, adding a newline where needed so
/// the replaced range stays on lines of its own. A file that does not exist yet is simply `content`.
///
/// Parent directories are created. An existing file keeps its mode (and its owner when the server is
/// root); a new one gets [`NEW_FILE_MODE`].
pub(crate) fn write_action(abs: &Path, content: &str, start: i64, end: i64) -> Observation {
    let shown = abs.display();
    let existing = fs::metadata(abs).ok();
    match existing.as_ref().and_then(FileKind::of) {
        None => {}
        Some(FileKind::Directory) => {
            return Observation::error(format!(
                "Path is a directory: {shown}. You can only write to files"
            ));
        }
        // Writing into a FIFO would block until a reader comes; replacing a device is never meant.
        Some(kind) => return Observation::error(kind.refusal(abs, "write")),
    }
    if let Some(parent) = abs.parent()
        && !parent.exists()
        && let Err(e) = fs::create_dir_all(parent)
    {
        return Observation::error(format!(
            "Ran into {e} while trying to create the directory {}",
            parent.display()
        ));
    }
    let whole = start == 0 && end == -1;
    let data = if whole || existing.is_none() {
        content.as_bytes().to_vec()
    } else {
        match read_for_splice(abs) {
            Ok(old) => splice_lines(&old, content.as_bytes(), start, end),
            Err(message) => return Observation::error(message),
        }
    };
    match write_file(abs, &data) {
        Ok(()) => Observation::write(shown.to_string()),
        Err(e) => Observation::error(format!("Ran into {e} while trying to write to {shown}")),
    }
}

/// The existing file a ranged write splices into, at most [`MAX_SPLICE_BYTES`] of it.
fn read_for_splice(abs: &Path) -> Result<Vec<u8>, String> {
    let shown = abs.display();
    let (mut file, meta) = open_regular(abs).map_err(|e| match e {
        OpenError::NotRegular(kind) => kind.refusal(abs, "write"),
        OpenError::Io(e) => format!("Ran into {e} while trying to read {shown}"),
    })?;
    read_at_most(&mut file, &meta, MAX_SPLICE_BYTES)
        .map_err(|e| format!("Ran into {e} while trying to read {shown}"))?
        .ok_or_else(|| {
            format!(
                "{shown} is too large for a write with `start`/`end` ({} bytes; at most {MAX_SPLICE_BYTES}): write the whole file, or change it with the shell (e.g. `sed -i`)",
                meta.len()
            )
        })
}

/// Replaces lines `[start, end)` of `old` by `content` (see [`write_action`]); works on bytes, so the
/// file does not have to be UTF-8.
fn splice_lines(old: &[u8], content: &[u8], start: i64, end: i64) -> Vec<u8> {
    let lines: Vec<&[u8]> = old.split_inclusive(|b| *b == b'\n').collect();
    let n = lines.len();
    let clamp = |v: i64| usize::try_from(v.max(0)).map_or(n, |v| v.min(n));
    let begin = clamp(start);
    let stop = if end < 0 { n } else { clamp(end).max(begin) };
    let mut out = lines[..begin].concat();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(content);
    let rest = lines[stop..].concat();
    if !rest.is_empty() && !content.is_empty() && !content.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(&rest);
    out
}

/// Writes `data` to `path`, atomically (temporary file + rename) when that keeps the file's identity.
///
/// Symlinks are written through. A file with other hard links, or owned by someone else while we are
/// not root, is rewritten in place instead, as is any file whose directory refuses the temporary file.
pub(crate) fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) => {
            let target = fs::canonicalize(path)?;
            let euid = nix::unistd::geteuid().as_raw();
            if meta.nlink() > 1 || (meta.uid() != euid && euid != 0) {
                return write_in_place(&target, data, None);
            }
            let owner = (euid == 0).then_some((meta.uid(), meta.gid()));
            replace_atomically(&target, data, meta.mode() & 0o7777, owner)
                .or_else(|_| write_in_place(&target, data, None))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if fs::symlink_metadata(path).is_ok() {
                // A dangling symlink: create its target, as open(2) does.
                return write_in_place(path, data, Some(NEW_FILE_MODE));
            }
            replace_atomically(path, data, NEW_FILE_MODE, None)
        }
        Err(e) => Err(e),
    }
}

fn replace_atomically(
    target: &Path,
    data: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(mode))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid))?;
    }
    tmp.persist(target).map_err(|e| e.error)?;
    Ok(())
}

fn write_in_place(path: &Path, data: &[u8], new_mode: Option<u32>) -> io::Result<()> {
    let mut file: File = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    file.write_all(data)?;
    if let Some(mode) = new_mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn splice(old: &str, content: &str, start: i64, end: i64) -> String {
        String::from_utf8_lossy(&splice_lines(
            old.as_bytes(),
            content.as_bytes(),
            start,
            end,
        ))
        .into_owned()
    }

    #[test]
    fn ranged_writes_replace_lines() {
        let five = "1\n2\n3\n4\n5\n";
        // The example observed from OpenHands.
        assert_eq!(splice(five, "X\nY", 1, 3), "1\nX\nY\n4\n5\n");
        assert_eq!(splice(five, "X\n", 1, 3), "1\nX\n4\n5\n");
        assert_eq!(splice(five, "X\n", 0, 1), "X\n2\n3\n4\n5\n");
        assert_eq!(splice(five, "X", 3, -1), "1\n2\n3\nX");
        assert_eq!(splice(five, "X", 2, 2), "1\n2\nX\n3\n4\n5\n");
        assert_eq!(splice(five, "X", 9, 12), "1\n2\n3\n4\n5\nX");
        assert_eq!(splice("a", "b", 1, -1), "a\nb");
        assert_eq!(splice(five, "", 1, 4), "1\n5\n");
    }

    #[test]
    fn writes_are_exact_and_keep_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.sh");
        write_file(&p, b"a\n").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, NEW_FILE_MODE);
        fs::set_permissions(&p, Permissions::from_mode(0o751)).unwrap();
        write_file(&p, b"no newline").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"no newline");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o751);
    }

    #[test]
    fn symlinks_and_hard_links_are_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_file(&link, b"via symlink").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "via symlink");

        let hard = dir.path().join("hard.txt");
        fs::hard_link(&real, &hard).unwrap();
        write_file(&hard, b"via hard link").unwrap();
        assert_eq!(fs::read_to_string(&real).unwrap(), "via hard link");
    }
}
