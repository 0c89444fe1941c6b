//! The bodies of the editor commands `view`, `create`, `str_replace` and `insert`, with their texts.

use std::path::Path;

use super::{
    MAX_FILE_SIZE_BYTES, MAX_FILE_SIZE_MB, MAX_RESPONSE_LEN_CHAR, Outcome, SNIPPET_CONTEXT_WINDOW,
    TextFile, ToolError, check_size, make_output, open_file, python_lines, read_error,
    supported_binary_extension, write_error,
};
use crate::files::read::looks_binary;
use crate::files::regular::{line_window, utf8_prefix};
use crate::files::view_dir;

/// `view` of a directory (two levels) or of a file, whole or `view_range = [first, last]` (1-based,
/// inclusive, `-1` meaning the last line).
pub(super) fn view(path: &Path, view_range: Option<&[i64]>) -> Result<String, ToolError> {
    let shown = path.display().to_string();
    // An empty list counts as no range, as Python's `if view_range:` does.
    let range = view_range.filter(|r| !r.is_empty());
    if path.is_dir() {
        if let Some(range) = range {
            return Err(ToolError::invalid(
                "view_range",
                list(range),
                "The `view_range` parameter is not allowed when `path` points to a directory.",
            ));
        }
        return view_dir::render(path).map_err(|e| read_error(path, e));
    }

    let (mut opened, meta) = open_file(path)?;
    if supported_binary_extension(path).is_some() {
        check_size(path, meta.len())?;
        return Err(ToolError(format!(
            "Error in converting file to Markdown: this runtime does not convert documents or audio. Please use Python code to read {shown}"
        )));
    }
    if meta.len() > MAX_FILE_SIZE_BYTES {
        return view_large(path, opened, &meta, range);
    }
    let file = TextFile::load_open(path, &mut opened, &meta)?;
    let Some(range) = range else {
        return Ok(make_output(&file.text, &shown, 1));
    };

    let lines = python_lines(&file.text);
    let num_lines = lines.len();
    let (first_idx, last_idx, warning) = check_view_range(range, num_lines)?;
    let shown_lines: Vec<&str> = lines[first_idx - 1..last_idx]
        .iter()
        .map(|l| l.strip_suffix('\n').unwrap_or(l))
        .collect();
    let output = make_output(&shown_lines.join("\n"), &shown, first_idx);
    Ok(warning.unwrap_or_default() + &output)
}

/// Validates `view_range` against a file of `num_lines` lines: (first, last) 1-based inclusive, and the
/// note shown when `last` was past the end.
fn check_view_range(
    range: &[i64],
    num_lines: usize,
) -> Result<(usize, usize, Option<String>), ToolError> {
    let &[first, last] = range else {
        return Err(ToolError::invalid(
            "view_range",
            list(range),
            "It should be a list of two integers.",
        ));
    };
    let first_idx = usize::try_from(first).unwrap_or(0);
    if first_idx < 1 || first_idx > num_lines {
        return Err(ToolError::invalid(
            "view_range",
            list(range),
            format_args!(
                "Its first element `{first}` should be within the range of lines of the file: [1, {num_lines}]."
            ),
        ));
    }
    let mut warning = None;
    let last = if last == -1 {
        num_lines as i64
    } else if last > num_lines as i64 {
        warning = Some(format!(
            "NOTE: We only show up to {num_lines} since there're only {num_lines} lines in this file.\n"
        ));
        num_lines as i64
    } else {
        last
    };
    if last < first {
        return Err(ToolError::invalid(
            "view_range",
            list(range),
            format_args!(
                "Its second element `{last}` should be greater than or equal to the first element `{first}`."
            ),
        ));
    }
    let last_idx = usize::try_from(last).unwrap_or(first_idx);
    Ok((first_idx, last_idx, warning))
}

/// `view` of a text file over the editor's size limit (OpenHands refuses it): the lines asked for, read
/// as a stream with bounded memory, and a note on paging with `view_range`.
fn view_large(
    path: &Path,
    file: std::fs::File,
    meta: &std::fs::Metadata,
    range: Option<&[i64]>,
) -> Result<String, ToolError> {
    use std::os::unix::fs::FileExt as _;
    let shown = path.display().to_string();
    let mut probe = vec![0u8; 8 * 1024];
    let n = file
        .read_at(&mut probe, 0)
        .map_err(|e| read_error(path, e))?;
    if looks_binary(&probe[..n]) {
        return Err(ToolError::validation(
            path,
            "File appears to be binary and this file type cannot be read or edited by this tool.",
        ));
    }
    // No more than `make_output` shows without clipping, so the note can say which lines were shown.
    let budget = MAX_RESPONSE_LEN_CHAR;
    let (first, end) = match range {
        None => (0, None),
        Some(&[first, last]) => (
            usize::try_from(first.max(1) - 1).unwrap_or(0),
            usize::try_from(last).ok().filter(|_| last != -1),
        ),
        Some(_) => (0, None),
    };
    let window =
        line_window(file, first, end, budget, range.is_some()).map_err(|e| read_error(path, e))?;
    let (first_idx, warning) = match (range, window.total_lines) {
        (Some(range), Some(num_lines)) => {
            let (first_idx, _, warning) = check_view_range(range, num_lines)?;
            (first_idx, warning)
        }
        _ => (1, None),
    };
    let shown_lines = window.lines.max(1);
    let next = first_idx + window.lines;
    let text = utf8_prefix(window.bytes).ok_or_else(|| {
        ToolError::validation(
            path,
            "File is not valid UTF-8. This tool only reads and edits UTF-8 text; convert the file first, e.g. with iconv.",
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let note = format!(
        "<NOTE>{shown} is {} bytes, over the {MAX_FILE_SIZE_MB}MB this tool reads at once: lines {first_idx}-{}{} are shown. View other parts with `view_range`, e.g. [{next}, {}], or search with `grep -n`. The file cannot be edited with this tool.</NOTE>\n",
        meta.len(),
        first_idx + shown_lines - 1,
        window
            .total_lines
            .map(|n| format!(" of {n}"))
            .unwrap_or_default(),
        next + 199,
    );
    Ok(warning.unwrap_or_default() + &make_output(text, &shown, first_idx) + &note)
}

/// `create`: writes `text` exactly, creating missing parent directories. No history entry: there is
/// nothing to undo to.
pub(super) fn create(path: &Path, text: &str) -> Result<Outcome, ToolError> {
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        std::fs::create_dir_all(parent).map_err(|e| write_error(path, e))?;
    }
    crate::files::write::write_file(path, text.as_bytes()).map_err(|e| write_error(path, e))?;
    Ok(Outcome {
        output: format!("File created successfully at: {}", path.display()),
        old_content: None,
        new_content: Some(text.to_owned()),
    })
}

/// `str_replace`: the single exact occurrence of `old_str`, else of `old_str` with surrounding
/// whitespace trimmed (`new_str` is used as given). Returns the outcome and the raw previous text.
pub(super) fn str_replace(
    path: &Path,
    old_str: &str,
    new_str: &str,
) -> Result<(Outcome, String), ToolError> {
    let file = TextFile::load(path)?;
    let text = &file.text;
    let mut pattern = old_str;
    let mut found = occurrences(text, pattern);
    if found.is_empty() {
        let trimmed = old_str.trim();
        if !trimmed.is_empty() {
            pattern = trimmed;
            found = occurrences(text, pattern);
        }
        if found.is_empty() {
            return Err(ToolError(format!(
                "No replacement was performed, old_str `{pattern}` did not appear verbatim in {}.",
                path.display()
            )));
        }
    }
    if found.len() > 1 {
        let mut lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
        lines.dedup();
        return Err(ToolError(format!(
            "No replacement was performed. Multiple occurrences of old_str `{pattern}` in lines {}. Please ensure it is unique.",
            list(&lines)
        )));
    }
    let (line, idx) = found[0];
    let new_text = format!("{}{new_str}{}", &text[..idx], &text[idx + pattern.len()..]);
    file.store(path, &new_text)?;

    let start = line.saturating_sub(SNIPPET_CONTEXT_WINDOW);
    let end = line + SNIPPET_CONTEXT_WINDOW + new_str.matches('\n').count();
    let shown = path.display();
    let output = format!(
        "The file {shown} has been edited. {}Review the changes and make sure they are as expected. Edit the file again if necessary.",
        make_output(
            &snippet(&new_text, start, end),
            &format!("a snippet of {shown}"),
            start + 1
        )
    );
    let outcome = Outcome {
        output,
        old_content: Some(file.text.clone()),
        new_content: Some(new_text),
    };
    Ok((outcome, file.raw))
}

/// `insert`: `new_str`'s lines, each ending in a newline, after line `insert_line` (0 = top).
/// Returns the outcome and the raw previous text.
pub(super) fn insert(
    path: &Path,
    insert_line: i64,
    new_str: &str,
) -> Result<(Outcome, String), ToolError> {
    let file = TextFile::load(path)?;
    let lines = python_lines(&file.text);
    let num_lines = lines.len();
    let at = match usize::try_from(insert_line) {
        Ok(at) if at <= num_lines => at,
        _ => {
            return Err(ToolError::invalid(
                "insert_line",
                insert_line,
                format_args!("It should be within the range of allowed values: [0, {num_lines}]"),
            ));
        }
    };
    let mut new_text = lines[..at].concat();
    // OpenHands glues the first new line onto a last line that lacks its newline; we keep them apart.
    if !new_text.is_empty() && !new_text.ends_with('\n') {
        new_text.push('\n');
    }
    let new_lines: Vec<&str> = new_str.split('\n').collect();
    for line in &new_lines {
        new_text.push_str(line);
        new_text.push('\n');
    }
    new_text.push_str(&lines[at..].concat());
    file.store(path, &new_text)?;

    let k = new_lines.len();
    let start = at.saturating_sub(SNIPPET_CONTEXT_WINDOW);
    let end = (num_lines + k).min(at + SNIPPET_CONTEXT_WINDOW + k);
    let output = format!(
        "The file {} has been edited. {}Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.",
        path.display(),
        make_output(
            &snippet(&new_text, start, end),
            "a snippet of the edited file",
            start + 1
        )
    );
    let outcome = Outcome {
        output,
        old_content: Some(file.text.clone()),
        new_content: Some(new_text),
    };
    Ok((outcome, file.raw))
}

/// (1-based line, byte offset) of each non-overlapping occurrence, like `re.finditer(re.escape(..))`.
fn occurrences(text: &str, pattern: &str) -> Vec<(usize, usize)> {
    text.match_indices(pattern)
        .map(|(idx, _)| (text[..idx].matches('\n').count() + 1, idx))
        .collect()
}

/// Lines `start+1 ..= end` (1-based) of `text`, newlines kept, as `read_file(start_line, end_line)`.
fn snippet(text: &str, start: usize, end: usize) -> String {
    let lines = python_lines(text);
    let end = end.min(lines.len());
    lines
        .get(start..end)
        .map(<[&str]>::concat)
        .unwrap_or_default()
}

/// A Python list's repr for integers: `[1, 2]`.
fn list<T: ToString>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}
