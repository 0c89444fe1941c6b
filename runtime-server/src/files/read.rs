//! `read` with `impl_source: "default"`: text lines, or a data URL for images, PDFs and videos.

use std::io::ErrorKind;
use std::path::Path;

use base64::Engine as _;
use openhands_runtime_api::Observation;

use super::regular::{
    FileKind, MAX_READ_BYTES, OpenError, line_window, open_regular, read_at_most, utf8_prefix,
};

/// Where the NUL-byte probe for binary content looks, like git and grep do.
const BINARY_PROBE_LEN: usize = 8 * 1024;

/// Files returned as `data:<mime>;base64,...` instead of text (OpenHands' list plus `.webp`).
fn media_mime(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "bmp" => "image/bmp",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "ogg" => "audio/ogg",
        _ => return None,
    })
}

/// True when the start of `bytes` holds a NUL byte, which no text encoding we read produces.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE_LEN)].contains(&0)
}

/// Reads `abs` for the model; `cwd` is the shell's directory, quoted in the "not found" message.
///
/// Only regular files are read (a FIFO or a device is refused without being read), and at most
/// [`MAX_READ_BYTES`] of them: a larger file is answered with the first part of the requested lines and
/// a note saying how to page on.
pub(crate) fn read_default(abs: &Path, start: i64, end: i64, cwd: &Path) -> Observation {
    let shown = abs.display();
    let (mut file, meta) = match open_regular(abs) {
        Ok(opened) => opened,
        Err(OpenError::Io(e))
            if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) =>
        {
            return Observation::error(format!(
                "File not found: {shown}. Your current working directory is {}.",
                cwd.display()
            ));
        }
        Err(OpenError::NotRegular(FileKind::Directory)) => {
            return Observation::error(format!(
                "Path is a directory: {shown}. You can only read files"
            ));
        }
        Err(OpenError::NotRegular(kind)) => return Observation::error(kind.refusal(abs, "read")),
        Err(OpenError::Io(e)) => {
            return Observation::error(format!("Ran into {e} while trying to read {shown}"));
        }
    };
    let bytes = match read_at_most(&mut file, &meta, MAX_READ_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) if media_mime(abs).is_some() => {
            return Observation::error(format!(
                "{shown} is too large to return ({} bytes; at most {MAX_READ_BYTES} bytes are returned as a data URL)",
                meta.len()
            ));
        }
        Ok(None) => return read_large(abs, file, &meta, start, end),
        Err(e) => return Observation::error(format!("Ran into {e} while trying to read {shown}")),
    };
    let path = shown.to_string();
    if let Some(mime) = media_mime(abs) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        return Observation::read(format!("data:{mime};base64,{encoded}"), path, "default");
    }
    if looks_binary(&bytes) {
        return binary_error(&path);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Observation::read(select_lines(&text, start, end), path, "default"),
        Err(_) => Observation::error(format!("File could not be decoded as utf-8: {path}.")),
    }
}

fn binary_error(path: &str) -> Observation {
    Observation::error(format!(
        "ERROR_BINARY_FILE: {path} is a binary file and cannot be read as text"
    ))
}

/// A text file over [`MAX_READ_BYTES`]: the requested lines, streamed, cut at the budget and followed by
/// a note naming the next `start`/`end` to ask for.
fn read_large(
    abs: &Path,
    file: std::fs::File,
    meta: &std::fs::Metadata,
    start: i64,
    end: i64,
) -> Observation {
    use std::os::unix::fs::FileExt as _;
    let shown = abs.display();
    let path = shown.to_string();
    let mut probe = vec![0u8; BINARY_PROBE_LEN];
    match file.read_at(&mut probe, 0) {
        Ok(n) => probe.truncate(n),
        Err(e) => return Observation::error(format!("Ran into {e} while trying to read {shown}")),
    }
    if looks_binary(&probe) {
        return binary_error(&path);
    }
    let first = usize::try_from(start.max(0)).unwrap_or(usize::MAX);
    // As `select_lines`: `end` exclusive, -1 the end of the file, at least one line when given.
    let stop = (end != -1).then(|| {
        usize::try_from(end.max(0))
            .unwrap_or(usize::MAX)
            .max(first + 1)
    });
    let budget = usize::try_from(MAX_READ_BYTES).unwrap_or(usize::MAX);
    let window = match line_window(file, first, stop, budget, false) {
        Ok(w) => w,
        Err(e) => return Observation::error(format!("Ran into {e} while trying to read {shown}")),
    };
    let Some(mut text) = utf8_prefix(window.bytes) else {
        return Observation::error(format!("File could not be decoded as utf-8: {path}."));
    };
    if window.cut {
        let next = first + window.lines;
        let size = meta.len();
        let note = if window.partial_line {
            format!(
                "\n[Line {} of {path} is longer than the {MAX_READ_BYTES} bytes one read returns; only its beginning is shown. Use the shell (e.g. `cut -c` or `head -c`) to see the rest of it.]",
                first + 1
            )
        } else {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            format!(
                "[{path} is {size} bytes, more than the {MAX_READ_BYTES} bytes one read returns: this shows lines {}-{next} (1-based). Read on with `start` and `end` (0-based, end exclusive), e.g. start={next} end={}.]",
                first + 1,
                next + 2000
            )
        };
        text.push_str(&note);
    }
    Observation::read(text, path, "default")
}

/// OpenHands' `read_lines` on the file's lines (each keeping its `\n`): 0-based `start`, exclusive
/// `end`, `-1` meaning the end of the file, and at least one line when `end` is given.
///
/// Unlike OpenHands, `start` is not clamped to `n - 2`, so asking for the last line gives the last line.
pub(crate) fn select_lines(text: &str, start: i64, end: i64) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let n = lines.len();
    let clamp = |v: i64| usize::try_from(v.max(0)).map_or(n, |v| v.min(n));
    let begin = clamp(start);
    let stop = if end == -1 {
        n
    } else {
        clamp(end).max(begin + 1).min(n)
    };
    lines[begin..stop].concat()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn read_lines_table_without_the_clamping_bug() {
        let five = "1\n2\n3\n4\n5\n";
        let cases = [
            ((0, -1), "1\n2\n3\n4\n5\n"),
            ((2, 4), "3\n4\n"),
            ((0, 1), "1\n"),
            ((3, -1), "4\n5\n"),
            ((4, 10), "5\n"),
            ((4, 5), "5\n"),
            ((2, 2), "3\n"),
            ((-3, 1), "1\n"),
            ((9, -1), ""),
            ((9, 12), ""),
        ];
        let got: Vec<_> = cases
            .iter()
            .map(|((s, e), _)| ((*s, *e), select_lines(five, *s, *e)))
            .collect();
        let want: Vec<_> = cases.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        assert_eq!(got, want);
        assert_eq!(select_lines("a\nb\n", 1, 2), "b\n");
        assert_eq!(select_lines("a\nb", 1, -1), "b");
        assert_eq!(select_lines("", 0, -1), "");
    }

    #[test]
    fn binary_probe_looks_at_the_start_only() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!looks_binary("héllo\n".as_bytes()));
        let mut late = vec![b'a'; BINARY_PROBE_LEN];
        late.push(0);
        assert!(!looks_binary(&late));
    }

    #[test]
    fn media_types_by_extension() {
        assert_eq!(media_mime(Path::new("/a/B.PNG")), Some("image/png"));
        assert_eq!(media_mime(Path::new("/a/b.webp")), Some("image/webp"));
        assert_eq!(media_mime(Path::new("/a/b.pdf")), Some("application/pdf"));
        assert_eq!(media_mime(Path::new("/a/b.txt")), None);
        assert_eq!(media_mime(Path::new("/a/png")), None);
    }
}
