//! Opening files for the file tools without ever blocking, and reading them with a bound.
//!
//! Every file the tools read is opened with `O_NONBLOCK` and then `fstat`ed through the descriptor we
//! hold: a FIFO is refused without waiting for a writer, a device without reading it, and nothing can be
//! swapped in between the check and the read. Reads stop at a byte budget, so `/proc` files that claim
//! to be empty or files that grow while we read cannot grow the server either.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// The most a `read` answer carries, and the most any tool reads into memory for one answer. A file
/// over it is answered with its first part and a note saying how to page through it.
pub(crate) const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// Why a path could not be opened as a regular file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A directory, FIFO, socket or device: the tools only read regular files.
    #[error("{0}")]
    NotRegular(FileKind),
}

/// What a path is when it is not a regular file, as the messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Directory => "a directory",
            Self::Fifo => "a named pipe (FIFO)",
            Self::Socket => "a socket",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Other => "not a regular file",
        })
    }
}

impl FileKind {
    pub(crate) fn of(meta: &Metadata) -> Option<Self> {
        let t = meta.file_type();
        Some(if t.is_file() {
            return None;
        } else if t.is_dir() {
            Self::Directory
        } else if t.is_fifo() {
            Self::Fifo
        } else if t.is_socket() {
            Self::Socket
        } else if t.is_char_device() {
            Self::CharDevice
        } else if t.is_block_device() {
            Self::BlockDevice
        } else {
            Self::Other
        })
    }

    /// The refusal the model reads for a path that is not a regular file.
    pub(crate) fn refusal(self, path: &Path, doing: &str) -> String {
        format!(
            "{} is {self}, not a regular file: this tool can only {doing} regular files",
            path.display()
        )
    }
}

/// Opens `path` (symlinks followed) for reading, refusing anything but a regular file without blocking.
///
/// Costs one `open` and one `fstat`; `O_NONBLOCK` has no effect on the reads of a regular file.
pub(crate) fn open_regular(path: &Path) -> Result<(File, Metadata), OpenError> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        // A socket cannot be opened at all; name it rather than print "No such device or address".
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            let kind = std::fs::metadata(path)
                .ok()
                .and_then(|m| FileKind::of(&m))
                .ok_or(e)?;
            return Err(OpenError::NotRegular(kind));
        }
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    match FileKind::of(&meta) {
        None => Ok((file, meta)),
        Some(kind) => Err(OpenError::NotRegular(kind)),
    }
}

/// The whole content when the file holds at most `cap` bytes, else `None` with the file rewound.
///
/// The size from `fstat` sizes the buffer (one `read` for the content and one to see the end, as
/// `std::fs::read` does); at most `cap + 1` bytes are ever read, however the file grows.
pub(crate) fn read_at_most(
    file: &mut File,
    meta: &Metadata,
    cap: u64,
) -> io::Result<Option<Vec<u8>>> {
    if meta.len() > cap {
        return Ok(None);
    }
    let limit = usize::try_from(cap).unwrap_or(usize::MAX).saturating_add(1);
    let hint = usize::try_from(meta.len()).unwrap_or(0).saturating_add(1);
    let mut buf = vec![0u8; hint.min(limit)];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled >= limit {
                break;
            }
            // Larger than `fstat` said (a growing file, a /proc file that reports 0).
            let grow = filled.max(8 * 1024).min(limit - filled);
            buf.resize(filled + grow, 0);
        }
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    if filled as u64 > cap {
        file.seek(SeekFrom::Start(0))?;
        return Ok(None);
    }
    Ok(Some(buf))
}

/// A run of lines cut from a file too large to hold, with what the caller needs to describe it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct LineWindow {
    /// The bytes of the lines shown, newlines kept.
    pub bytes: Vec<u8>,
    /// 0-based index of the first line shown.
    pub first: usize,
    /// How many whole lines `bytes` holds.
    pub lines: usize,
    /// The budget ran out inside the first line, so `bytes` is only its beginning.
    pub partial_line: bool,
    /// The window ended because of the budget, not because the requested range or the file ended.
    pub cut: bool,
    /// The number of lines in the file, when counted (Python's: a last line without `\n` counts).
    pub total_lines: Option<usize>,
}

/// Lines `first..end` (0-based, `end` exclusive, `None` for "to the end") of `file`, keeping at most
/// `budget` bytes in memory; whole lines only, unless the first line alone is over the budget.
/// With `count_all` the rest of the file is scanned to count its lines.
pub(crate) fn line_window(
    file: File,
    first: usize,
    end: Option<usize>,
    budget: usize,
    count_all: bool,
) -> io::Result<LineWindow> {
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut window = LineWindow {
        first,
        ..LineWindow::default()
    };
    let mut line = 0usize;
    let mut mid_line = false;
    let mut collecting = true;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let (chunk_len, ends_line) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let wanted = line >= first && end.is_none_or(|e| line < e);
        if collecting && wanted {
            let room = budget - window.bytes.len();
            if chunk_len <= room {
                window.bytes.extend_from_slice(&buf[..chunk_len]);
            } else {
                window.cut = true;
                collecting = false;
                if window.lines == 0 {
                    // One line over the budget: keep its beginning rather than show nothing.
                    window.bytes.extend_from_slice(&buf[..room]);
                    window.partial_line = true;
                } else {
                    let start_of_line = window.bytes.len()
                        - window
                            .bytes
                            .iter()
                            .rev()
                            .take_while(|&&b| b != b'\n')
                            .count();
                    window.bytes.truncate(start_of_line);
                }
            }
        }
        reader.consume(chunk_len);
        mid_line = !ends_line;
        if ends_line {
            if collecting && wanted {
                window.lines += 1;
            }
            line += 1;
        }
        let past_end = end.is_some_and(|e| line >= e);
        if (past_end || !collecting) && !count_all {
            // The caller only needs to know whether more follows, which `cut`/`end` already say.
            return Ok(window);
        }
        if past_end {
            collecting = false;
        }
    }
    if collecting && mid_line && line >= first && end.is_none_or(|e| line < e) {
        window.lines += 1;
    }
    window.total_lines = Some(line + usize::from(mid_line));
    Ok(window)
}

/// The longest prefix of `bytes` that is valid UTF-8 when only its end is cut inside a character;
/// `None` when invalid bytes come earlier.
pub(crate) fn utf8_prefix(mut bytes: Vec<u8>) -> Option<String> {
    match std::str::from_utf8(&bytes) {
        Ok(_) => {}
        Err(e) if e.error_len().is_none() => bytes.truncate(e.valid_up_to()),
        Err(_) => return None,
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use pretty_assertions::assert_eq;

    use super::*;

    fn file_with(content: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        (dir, path)
    }

    fn window(content: &[u8], first: usize, end: Option<usize>, budget: usize) -> LineWindow {
        let (_dir, path) = file_with(content);
        let (file, _) = open_regular(&path).unwrap();
        line_window(file, first, end, budget, true).unwrap()
    }

    #[test]
    fn devices_fifos_sockets_and_directories_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let kind = |p: &Path| match open_regular(p) {
            Err(OpenError::NotRegular(k)) => Some(k),
            _ => None,
        };
        assert_eq!(kind(&fifo), Some(FileKind::Fifo));
        assert_eq!(kind(&sock), Some(FileKind::Socket));
        assert_eq!(kind(Path::new("/dev/zero")), Some(FileKind::CharDevice));
        assert_eq!(kind(dir.path()), Some(FileKind::Directory));
        assert_eq!(
            FileKind::Fifo.refusal(&fifo, "read"),
            format!(
                "{} is a named pipe (FIFO), not a regular file: this tool can only read regular files",
                fifo.display()
            )
        );
    }

    #[test]
    fn reads_stop_at_the_cap() {
        let (_dir, path) = file_with(b"0123456789");
        let (mut file, meta) = open_regular(&path).unwrap();
        assert_eq!(read_at_most(&mut file, &meta, 9).unwrap(), None);
        let (mut file, meta) = open_regular(&path).unwrap();
        assert_eq!(
            read_at_most(&mut file, &meta, 10).unwrap().as_deref(),
            Some(&b"0123456789"[..])
        );
        // /proc files report a size of 0: the cap still holds.
        let (mut file, meta) = open_regular(Path::new("/proc/self/status")).unwrap();
        assert_eq!(meta.len(), 0);
        assert_eq!(read_at_most(&mut file, &meta, 5).unwrap(), None);
        let whole = read_at_most(&mut file, &meta, 1 << 20).unwrap().unwrap();
        assert!(
            whole.starts_with(b"Name:") && whole.len() > 100,
            "{whole:?}"
        );
    }

    #[test]
    fn line_windows_keep_whole_lines_within_the_budget() {
        let five = b"1\n22\n333\n4444\n5";
        let got = window(five, 1, Some(3), 100);
        assert_eq!(
            (got.bytes.as_slice(), got.lines, got.cut, got.total_lines),
            (&b"22\n333\n"[..], 2, false, Some(5))
        );
        let got = window(five, 1, None, 8);
        assert_eq!(
            (got.bytes.as_slice(), got.lines, got.cut),
            (&b"22\n333\n"[..], 2, true)
        );
        let got = window(five, 3, None, 100);
        assert_eq!((got.bytes.as_slice(), got.lines), (&b"4444\n5"[..], 2));
        let got = window(five, 9, None, 100);
        assert_eq!(
            (got.bytes.len(), got.lines, got.total_lines),
            (0, 0, Some(5))
        );
        let got = window(five, 3, None, 2);
        assert_eq!(
            (got.bytes.as_slice(), got.lines, got.partial_line, got.cut),
            (&b"44"[..], 0, true, true)
        );
    }

    #[test]
    fn a_cut_inside_a_character_keeps_the_valid_prefix() {
        assert_eq!(
            utf8_prefix("héllo".as_bytes()[..2].to_vec()).as_deref(),
            Some("h")
        );
        assert_eq!(utf8_prefix(b"a\xffb".to_vec()), None);
    }
}
