//! Zip archives for transfers: extracting uploads without escaping the destination, zipping downloads.

use std::io::{self, Write as _};
use std::path::Path;

use super::ApiError;
use super::transfer::io_error;
use crate::files::paths::{check_confined, outside_message};
use crate::files::regular::{OpenError, open_regular};

fn zip_error(e: zip::result::ZipError) -> ApiError {
    match e {
        zip::result::ZipError::Io(e) => {
            ApiError::internal(format!("Cannot read the zip archive: {e}"))
        }
        e => ApiError::bad_request(format!("The upload is not a valid zip archive: {e}")),
    }
}

/// Extracts every entry under `dest`, after checking that none escapes it, so a bad archive writes nothing.
/// Symlink entries become regular files holding the link text, as Python's `zipfile` does.
///
/// Entries are first written to temporary files beside their targets and only renamed into place once
/// every entry has been read and checked: an archive that turns out to be corrupt halfway leaves the
/// destination as it was (the temporary files, and directories created for them, are removed).
pub(super) fn extract_zip(zip_path: &Path, dest: &Path) -> Result<(), ApiError> {
    let file = std::fs::File::open(zip_path).map_err(|e| io_error("read", zip_path, &e))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(zip_error)?;
    let mut plan = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(zip_error)?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(ApiError::bad_request(format!(
                "Zip entry '{}' would be written outside the destination; archive paths must be relative \
                 and stay inside it",
                entry.name()
            )));
        };
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        plan.push((rel, entry.is_dir(), executable));
    }
    let root = dest
        .canonicalize()
        .map_err(|e| io_error("resolve", dest, &e))?;
    let mut staged = Staged::default();
    for (i, (rel, is_dir, executable)) in plan.into_iter().enumerate() {
        let target = root.join(&rel);
        // A symlink already in the destination must not carry an entry out of it.
        if check_confined(&target, &root).is_err() {
            return Err(ApiError::bad_request(format!(
                "Zip entry '{}' would be written outside the destination through a symbolic link",
                rel.display()
            )));
        }
        if is_dir {
            staged.create_dirs(&target)?;
            continue;
        }
        let parent = target.parent().unwrap_or(&root);
        staged.create_dirs(parent)?;
        let mut entry = archive.by_index(i).map_err(zip_error)?;
        staged.stage_file(&mut entry, &rel, &target, executable)?;
    }
    staged.commit()
}

/// What an extraction has written so far; dropped without [`Staged::commit`], it removes all of it.
#[derive(Default)]
struct Staged {
    /// Directories we created, parents first.
    dirs: Vec<std::path::PathBuf>,
    /// Entries read in full, each in a temporary file beside its target.
    files: Vec<(tempfile::TempPath, std::path::PathBuf)>,
}

impl Staged {
    /// Creates `dir` and its missing parents, remembering each one made.
    fn create_dirs(&mut self, dir: &Path) -> Result<(), ApiError> {
        let missing: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| std::fs::symlink_metadata(d).is_err())
            .collect();
        for d in missing.into_iter().rev() {
            std::fs::create_dir(d).map_err(|e| io_error("create", d, &e))?;
            self.dirs.push(d.to_path_buf());
        }
        if !dir.is_dir() {
            return Err(ApiError::bad_request(format!(
                "Cannot extract into {}: it exists and is not a directory",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Reads one entry into a temporary file beside `target` (which must not be a directory).
    fn stage_file(
        &mut self,
        entry: &mut impl io::Read,
        rel: &Path,
        target: &Path,
        executable: bool,
    ) -> Result<(), ApiError> {
        use std::os::unix::fs::PermissionsExt as _;
        let existing = std::fs::symlink_metadata(target).ok();
        if existing.as_ref().is_some_and(std::fs::Metadata::is_dir) {
            return Err(ApiError::bad_request(format!(
                "Zip entry '{}' names a file where the destination has a directory",
                rel.display()
            )));
        }
        let dir = target.parent().unwrap_or(Path::new("/"));
        let mut tmp = tempfile::Builder::new()
            .prefix(".upload-")
            .suffix(".part")
            // Like `open(..., 'wb')`: 0666 minus the umask, not tempfile's private 0600.
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|e| io_error("write into", dir, &e))?;
        io::copy(entry, &mut tmp).map_err(|e| match e.kind() {
            io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                ApiError::bad_request(format!(
                    "The upload is not a valid zip archive: entry '{}': {e}",
                    rel.display()
                ))
            }
            _ => io_error("write", target, &e),
        })?;
        // An overwritten file keeps its mode, as when written in place.
        let mode = match &existing {
            Some(meta) if meta.is_file() => Some(meta.permissions().mode()),
            _ => tmp
                .as_file()
                .metadata()
                .ok()
                .map(|m| m.permissions().mode()),
        };
        if let Some(mode) = mode {
            let mode = if executable {
                mode | ((mode & 0o444) >> 2)
            } else {
                mode
            };
            let _ = tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode));
        }
        self.files
            .push((tmp.into_temp_path(), target.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file into place, in archive order (a later duplicate wins).
    fn commit(mut self) -> Result<(), ApiError> {
        let files = std::mem::take(&mut self.files);
        self.dirs.clear();
        for (tmp, target) in files {
            tmp.persist(&target)
                .map_err(|e| io_error("write", &target, &e.error))?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Temporary files first (dropping a `TempPath` deletes it), then the directories, deepest first.
        self.files.clear();
        for dir in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Zips the file at `path`, or every file under the directory `path` with names relative to it (files of a
/// directory first, then its subdirectories, each sorted). Like `os.walk`, symlinks to directories are not
/// followed; symlinks to files are stored as the file. When confined, files reached through a symlink
/// that leaves the working directory are left out.
pub(super) fn zip_tree(path: &Path, confined_to: Option<&Path>) -> Result<Vec<u8>, ApiError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ApiError::not_found("File not found"),
        _ => io_error("read", path, &e),
    })?;
    let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    if meta.is_dir() {
        add_dir(&mut zip, path, "", confined_to)?;
    } else if !meta.is_file() {
        // Reading a fifo or a device could block forever or never end.
        return Err(ApiError::bad_request(format!(
            "{} is neither a regular file nor a directory",
            path.display()
        )));
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        add_file(&mut zip, path, &name, &meta)?;
    }
    let cursor = zip
        .finish()
        .map_err(|e| ApiError::internal(format!("Cannot build the zip archive: {e}")))?;
    Ok(cursor.into_inner())
}

type ZipOut = zip::ZipWriter<io::Cursor<Vec<u8>>>;

fn add_dir(
    zip: &mut ZipOut,
    dir: &Path,
    prefix: &str,
    confined_to: Option<&Path>,
) -> Result<(), ApiError> {
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error("list", dir, &e))? {
        let entry = entry.map_err(|e| io_error("list", dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            subdirs.push((name, path));
        } else if kind.is_file() || kind.is_symlink() {
            files.push((name, path));
        }
    }
    files.sort();
    subdirs.sort();
    for (name, path) in files {
        // Following a symlink; dangling links, links to directories, fifos and sockets are skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if let Some(root) = confined_to
            && check_confined(&path, root).is_err()
        {
            tracing::warn!(path = %path.display(), "{}", outside_message(&path, root));
            continue;
        }
        add_file(zip, &path, &format!("{prefix}{name}"), &meta)?;
    }
    for (name, path) in subdirs {
        add_dir(zip, &path, &format!("{prefix}{name}/"), confined_to)?;
    }
    Ok(())
}

fn add_file(
    zip: &mut ZipOut,
    path: &Path,
    name: &str,
    meta: &std::fs::Metadata,
) -> Result<(), ApiError> {
    use std::os::unix::fs::PermissionsExt as _;
    // Checked again on the descriptor: a FIFO swapped in since the listing must not block the download.
    let (mut file, _) = open_regular(path).map_err(|e| match e {
        OpenError::NotRegular(kind) => ApiError::bad_request(kind.refusal(path, "download")),
        OpenError::Io(e) => io_error("read", path, &e),
    })?;
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(meta.permissions().mode() & 0o777)
        .last_modified_time(zip_time(meta))
        .large_file(meta.len() >= u64::from(u32::MAX));
    let building =
        |e: zip::result::ZipError| ApiError::internal(format!("Cannot build the zip archive: {e}"));
    zip.start_file(name, options).map_err(building)?;
    io::copy(&mut file, zip).map_err(|e| io_error("read", path, &e))?;
    zip.flush().map_err(|e| io_error("read", path, &e))?;
    Ok(())
}

/// The file's modification time in UTC; zip's epoch (1980) for anything it cannot represent.
fn zip_time(meta: &std::fs::Metadata) -> zip::DateTime {
    let Some(secs) = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
    else {
        return zip::DateTime::default();
    };
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let (Ok(year), Ok(month), Ok(day)) =
        (u16::try_from(year), u8::try_from(month), u8::try_from(day))
    else {
        return zip::DateTime::default();
    };
    zip::DateTime::from_date_and_time(
        year,
        month,
        day,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
    .unwrap_or_default()
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
