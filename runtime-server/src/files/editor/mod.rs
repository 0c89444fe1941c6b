//! Port of openhands-aci 0.3.2's `OHEditor` (the `str_replace_editor` tool): validation, texts, history.
//!
//! Paths arrive absolute (the caller resolves relative ones against the shell's cwd). Files are read
//! and written as UTF-8; a file whose every newline is `\r\n` is edited as `\n` text and written back
//! with `\r\n`, so line endings survive an edit (OpenHands turns them into `\n`).

mod commands;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::read::looks_binary;
use super::regular::{OpenError, open_regular, read_at_most};

/// Longest text shown before the "response clipped" notice (`MAX_RESPONSE_LEN_CHAR`).
pub(crate) const MAX_RESPONSE_LEN_CHAR: usize = 16_000;
/// Lines of context around an edit in the snippet shown back.
const SNIPPET_CONTEXT_WINDOW: usize = 4;
const MAX_FILE_SIZE_MB: u64 = 10;
/// Files over it are refused by the editing commands and paged by `view`.
const MAX_FILE_SIZE_BYTES: u64 = MAX_FILE_SIZE_MB * 1024 * 1024;
const MAX_HISTORY_PER_FILE: usize = 10;
/// Formats only `view` may open (OpenHands converts them to Markdown).
const SUPPORTED_BINARY_EXTENSIONS: [&str; 8] =
    ["docx", "xlsx", "pptx", "pdf", "mp3", "wav", "m4a", "flac"];

const TEXT_FILE_CONTENT_TRUNCATED_NOTICE: &str = "<response clipped><NOTE>Due to the max output limit, only part of this file has been shown to you. You should retry this tool after you have searched inside the file with `grep -n` in order to find the line numbers of what you are looking for.</NOTE>";

/// An error the model sees as `ERROR:\n<message>`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ToolError(pub String);

impl ToolError {
    fn missing(command: &str, parameter: &str) -> Self {
        Self(format!(
            "Parameter `{parameter}` is required for command: {command}."
        ))
    }

    fn invalid(parameter: &str, value: impl Display, hint: impl Display) -> Self {
        Self(format!("Invalid `{parameter}` parameter: {value}. {hint}"))
    }

    fn validation(path: &Path, reason: impl Display) -> Self {
        Self(format!(
            "File validation failed for {}: {reason}",
            path.display()
        ))
    }
}

/// The arguments of one `edit` action, `insert_line` already an integer.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct EditArgs<'a> {
    pub command: &'a str,
    pub file_text: Option<&'a str>,
    pub old_str: Option<&'a str>,
    pub new_str: Option<&'a str>,
    pub insert_line: Option<i64>,
}

/// What a successful command returns; the contents feed the observation's `diff`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Outcome {
    pub output: String,
    pub old_content: Option<String>,
    pub new_content: Option<String>,
}

/// The editor; its state is the undo history (in memory, at most 10 entries per file).
///
/// The history's lock is only taken to push or pop an entry, never across file I/O.
#[derive(Debug, Default)]
pub(crate) struct Editor {
    history: Mutex<HashMap<PathBuf, VecDeque<String>>>,
}

impl Editor {
    /// Runs one `str_replace_editor` command on `path` (absolute).
    pub fn run(&self, path: &Path, args: &EditArgs<'_>) -> Result<Outcome, ToolError> {
        validate_path(args.command, path)?;
        match args.command {
            "view" => Ok(Outcome {
                output: commands::view(path, None)?,
                ..Outcome::default()
            }),
            "create" => {
                let text = args
                    .file_text
                    .ok_or_else(|| ToolError::missing("create", "file_text"))?;
                commands::create(path, text)
            }
            "str_replace" => {
                let old_str = args
                    .old_str
                    .ok_or_else(|| ToolError::missing("str_replace", "old_str"))?;
                if old_str.is_empty() {
                    return Err(ToolError(
                        "Parameter `old_str` must not be empty for command: str_replace.".into(),
                    ));
                }
                if args.new_str == Some(old_str) {
                    return Err(ToolError::invalid(
                        "new_str",
                        old_str,
                        "No replacement was performed. `new_str` and `old_str` must be different.",
                    ));
                }
                let (outcome, previous) =
                    commands::str_replace(path, old_str, args.new_str.unwrap_or(""))?;
                self.remember(path, previous);
                Ok(outcome)
            }
            "insert" => {
                let line = args
                    .insert_line
                    .ok_or_else(|| ToolError::missing("insert", "insert_line"))?;
                let new_str = args
                    .new_str
                    .ok_or_else(|| ToolError::missing("insert", "new_str"))?;
                let (outcome, previous) = commands::insert(path, line, new_str)?;
                self.remember(path, previous);
                Ok(outcome)
            }
            "undo_edit" => self.undo_edit(path),
            other => Err(ToolError(format!(
                "Unrecognized command {other}. The allowed commands for the oh_editor tool are: view, create, str_replace, insert, undo_edit"
            ))),
        }
    }

    /// `view` as `read` with `impl_source: "oh_aci"` runs it, `view_range` included.
    pub fn view(&self, path: &Path, view_range: Option<&[i64]>) -> Result<String, ToolError> {
        validate_path("view", path)?;
        commands::view(path, view_range)
    }

    /// Keeps the file's previous raw text for `undo_edit`.
    fn remember(&self, path: &Path, previous: String) {
        let mut history = self.history();
        let entries = history.entry(path.to_path_buf()).or_default();
        entries.push_back(previous);
        while entries.len() > MAX_HISTORY_PER_FILE {
            entries.pop_front();
        }
    }

    /// The history; a panic elsewhere cannot leave it half-updated, so a poisoned lock is still usable.
    fn history(&self) -> MutexGuard<'_, HashMap<PathBuf, VecDeque<String>>> {
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn undo_edit(&self, path: &Path) -> Result<Outcome, ToolError> {
        let current = TextFile::load(path)?;
        let previous = self
            .history()
            .get_mut(path)
            .and_then(VecDeque::pop_back)
            .ok_or_else(|| ToolError(format!("No edit history found for {}.", path.display())))?;
        if let Err(e) = super::write::write_file(path, previous.as_bytes()) {
            self.remember(path, previous);
            return Err(write_error(path, e));
        }
        let restored = TextFile::from_raw(previous);
        Ok(Outcome {
            output: format!(
                "Last edit to {} undone successfully. {}",
                path.display(),
                make_output(&restored.text, &path.display().to_string(), 1)
            ),
            old_content: Some(current.text),
            new_content: Some(restored.text),
        })
    }
}

/// `validate_path` without the "must be absolute" rule: existence and command/path compatibility.
fn validate_path(command: &str, path: &Path) -> Result<(), ToolError> {
    let shown = path.display();
    let exists = path.exists();
    if command == "create" && exists {
        return Err(ToolError::invalid(
            "path",
            &shown,
            format_args!(
                "File already exists at: {shown}. Cannot overwrite files using command `create`."
            ),
        ));
    }
    if command != "create" && !exists {
        return Err(ToolError::invalid(
            "path",
            &shown,
            format_args!("The path {shown} does not exist. Please provide a valid path."),
        ));
    }
    if command != "view" {
        if path.is_dir() {
            return Err(ToolError::invalid(
                "path",
                &shown,
                format_args!(
                    "The path {shown} is a directory and only the `view` command can be used on directories."
                ),
            ));
        }
        if let Some(ext) = supported_binary_extension(path) {
            return Err(ToolError::invalid(
                "path",
                &shown,
                format_args!(
                    "The path {shown} points to a binary file (.{ext}) and only the `view` command can be used on supported binary files."
                ),
            ));
        }
    }
    Ok(())
}

/// The extension (as written) when it is one `view` converts instead of reading as text.
fn supported_binary_extension(path: &Path) -> Option<&str> {
    let ext = path.extension()?.to_str()?;
    SUPPORTED_BINARY_EXTENSIONS
        .contains(&ext.to_ascii_lowercase().as_str())
        .then_some(ext)
}

/// The size check of `validate_file`, which runs before anything reads the file.
fn check_size(path: &Path, size: u64) -> Result<(), ToolError> {
    if size > MAX_FILE_SIZE_BYTES {
        return Err(too_large(path, size));
    }
    Ok(())
}

fn too_large(path: &Path, size: u64) -> ToolError {
    ToolError::validation(
        path,
        format_args!(
            "File is too large ({:.1}MB). Maximum allowed size is {MAX_FILE_SIZE_MB}MB.",
            size as f64 / 1024.0 / 1024.0
        ),
    )
}

/// Opens `path` as a regular file without blocking (a FIFO or a device is refused, never read).
fn open_file(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), ToolError> {
    open_regular(path).map_err(|e| match e {
        OpenError::NotRegular(kind) => ToolError(kind.refusal(path, "view or edit")),
        OpenError::Io(e) => read_error(path, e),
    })
}

fn read_error(path: &Path, e: impl Display) -> ToolError {
    ToolError(format!(
        "Ran into {e} while trying to read {}",
        path.display()
    ))
}

fn write_error(path: &Path, e: impl Display) -> ToolError {
    ToolError(format!(
        "Ran into {e} while trying to write to {}",
        path.display()
    ))
}

/// A text file as the editor works on it.
#[derive(Debug)]
struct TextFile {
    /// The content with `\r\n` turned into `\n` when `crlf`.
    text: String,
    /// Every line ends in `\r\n`: write back that way.
    crlf: bool,
    /// The bytes on disk, for the undo history.
    raw: String,
}

impl TextFile {
    /// Reads `path` after `validate_file`'s checks: regular file, size, then binary content, then UTF-8.
    fn load(path: &Path) -> Result<Self, ToolError> {
        let (mut file, meta) = open_file(path)?;
        Self::load_open(path, &mut file, &meta)
    }

    /// [`TextFile::load`] on a file already opened; never reads more than the size limit.
    fn load_open(
        path: &Path,
        file: &mut std::fs::File,
        meta: &std::fs::Metadata,
    ) -> Result<Self, ToolError> {
        check_size(path, meta.len())?;
        let bytes = read_at_most(file, meta, MAX_FILE_SIZE_BYTES)
            .map_err(|e| read_error(path, e))?
            // It grew past the limit since the `fstat`.
            .ok_or_else(|| too_large(path, MAX_FILE_SIZE_BYTES + 1))?;
        if looks_binary(&bytes) {
            return Err(ToolError::validation(
                path,
                "File appears to be binary and this file type cannot be read or edited by this tool.",
            ));
        }
        match String::from_utf8(bytes) {
            Ok(raw) => Ok(Self::from_raw(raw)),
            Err(e) => Err(ToolError::validation(
                path,
                format_args!(
                    "File is not valid UTF-8 (invalid byte at offset {}). This tool only reads and edits UTF-8 text; convert the file first, e.g. with iconv.",
                    e.utf8_error().valid_up_to()
                ),
            )),
        }
    }

    fn from_raw(raw: String) -> Self {
        let newlines = raw.matches('\n').count();
        let crlf = newlines > 0 && raw.matches("\r\n").count() == newlines;
        let text = if crlf {
            raw.replace("\r\n", "\n")
        } else {
            raw.clone()
        };
        Self { text, crlf, raw }
    }

    /// Writes `text` (with `\n` newlines) back in this file's line-ending style.
    fn store(&self, path: &Path, text: &str) -> Result<(), ToolError> {
        let data = if self.crlf {
            text.replace('\n', "\r\n")
        } else {
            text.to_owned()
        };
        super::write::write_file(path, data.as_bytes()).map_err(|e| write_error(path, e))
    }
}

/// Python's file iteration: lines keeping their `\n`, the last one possibly without.
fn python_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// `maybe_truncate`: the first `max` characters of `text` and `notice` when it is longer.
pub(crate) fn truncate_chars(text: &str, max: usize, notice: &str) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}{notice}", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `_make_output`: `cat -n` style numbering (`{n:6}\t{line}`) under a header, ending with a newline.
fn make_output(content: &str, description: &str, start_line: usize) -> String {
    let content = truncate_chars(
        content,
        MAX_RESPONSE_LEN_CHAR,
        TEXT_FILE_CONTENT_TRUNCATED_NOTICE,
    );
    let numbered: Vec<String> = content
        .split('\n')
        .enumerate()
        .map(|(i, line)| format!("{:6}\t{line}", i + start_line))
        .collect();
    format!(
        "Here's the result of running `cat -n` on {description}:\n{}\n",
        numbered.join("\n")
    )
}
