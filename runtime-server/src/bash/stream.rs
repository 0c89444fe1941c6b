//! The shell's output as a stream: bytes from the PTY in, segments cut at prompt markers out, with our own
//! typed input's echo removed only where the terminal echoed it, and memory bounded per segment.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::pty::lock;

/// Bytes of a segment kept from its start and from its end; the middle of a huge output is dropped
/// (the observation shows at most 30,000 characters anyway), so memory stays bounded.
const HEAD_CAP: usize = 4 * 1024 * 1024;
const TAIL_CAP: usize = 4 * 1024 * 1024;

/// What the prompt reported after a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prompt {
    pub exit_code: i64,
    pub pid: i64,
    pub username: String,
    pub hostname: String,
    pub working_dir: String,
    pub py_interpreter_path: String,
    /// Which of the shell's fds 0, 1, 2 are no longer a terminal (`exec >/dev/null`), as digits: `"12"`.
    pub detached: String,
}

/// Output bytes of one segment, bounded: a head, a tail ring, and a count of what was skipped between.
#[derive(Debug, Default)]
pub(crate) struct Output {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    skipped: u64,
}

impl Output {
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD_CAP {
            let take = bytes.len().min(HEAD_CAP - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(TAIL_CAP);
        if over > 0 {
            self.tail.drain(..over);
            self.skipped += over as u64;
        }
    }

    /// The kept bytes, with a visible note where the middle was dropped.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut out = self.head;
        if self.skipped > 0 {
            out.extend_from_slice(
                format!("\n[... {} bytes of output omitted ...]\n", self.skipped).as_bytes(),
            );
        }
        out.extend(self.tail);
        out
    }
}

/// How long we expect the terminal's echo of what we typed; past that it is given up (the program turned echo
/// off in between) and any bytes held back for it are shown.
const ECHO_WAIT: Duration = Duration::from_secs(2);

/// The terminal's echo of a line we typed, to be removed from the output once, where it appears.
#[derive(Debug)]
struct Echo {
    bytes: Vec<u8>,
    /// Our own `. 'file'` line: never shown, even cut short by a `C-c` that flushed the terminal.
    internal: bool,
    since: Instant,
    /// Bytes that may be the echo's beginning, held until the rest arrives or does not.
    held: Vec<u8>,
}

/// State shared between the reader thread, the exit watcher and the session.
#[derive(Debug)]
pub(crate) struct Stream {
    /// Bytes since the last prompt (or the last drain), not yet returned.
    pub current: Output,
    /// Segments that ended with a prompt, oldest first.
    pub completed: VecDeque<(Output, Prompt)>,
    /// When bytes last arrived.
    pub last_output: Option<Instant>,
    /// The PTY reached end of file (every slave fd closed).
    pub eof: bool,
    /// The shell exited with this status.
    pub exited: Option<i32>,
    /// `C-c`s typed since the last prompt: a second one means the command survived the first.
    pub interrupts: u32,
    /// When the first of those was typed.
    pub first_interrupt: Option<Instant>,
    echo: Option<Echo>,
    /// Bytes held back because they may be the start of a marker.
    pending: Vec<u8>,
    start: Vec<u8>,
    end: Vec<u8>,
}

impl Stream {
    pub(super) fn new(nonce: &str) -> Self {
        Self {
            current: Output::default(),
            completed: VecDeque::new(),
            last_output: None,
            eof: false,
            exited: None,
            interrupts: 0,
            first_interrupt: None,
            echo: None,
            pending: Vec::new(),
            start: format!("\x1e{nonce}\x1f").into_bytes(),
            end: format!("\x1f{nonce}\x1e").into_bytes(),
        }
    }

    /// Takes bytes read from the PTY: removes an expected echo, then cuts at prompt markers.
    fn feed(&mut self, data: &[u8]) {
        if self.echo.is_some() {
            let data = self.filter_echo(data);
            self.pending.extend_from_slice(&data);
        } else {
            self.pending.extend_from_slice(data);
        }
        self.scan();
    }

    /// Expects `bytes` to be echoed next (only called when the terminal echoes at the time we type).
    pub(super) fn expect_echo(&mut self, bytes: Vec<u8>, internal: bool) {
        self.flush_echo();
        self.echo = Some(Echo {
            bytes,
            internal,
            since: Instant::now(),
            held: Vec::new(),
        });
    }

    /// Gives up on an expected echo: what was held back for it is output after all.
    pub(super) fn flush_echo(&mut self) {
        if let Some(echo) = self.echo.take() {
            self.pending.extend_from_slice(&echo.held);
            self.scan();
        }
    }

    fn filter_echo(&mut self, data: &[u8]) -> Vec<u8> {
        let Some(mut echo) = self.echo.take() else {
            return data.to_vec();
        };
        let held = echo.held.len();
        let mut buf = std::mem::take(&mut echo.held);
        buf.extend_from_slice(data);
        if echo.since.elapsed() > ECHO_WAIT {
            return buf;
        }
        if let Some(pos) = find(&buf, &echo.bytes) {
            buf.drain(pos..pos + echo.bytes.len());
            return buf;
        }
        let check = buf.len().min(echo.bytes.len());
        if echo.internal && held >= 4 && !echo.bytes.starts_with(&buf[..check]) {
            // Our line was cut short (a `C-c` flushes the terminal's output): drop its beginning too.
            buf.drain(..held);
            return buf;
        }
        let keep = partial_suffix(&buf, &echo.bytes);
        echo.held = buf.split_off(buf.len() - keep);
        self.echo = Some(echo);
        buf
    }

    /// Moves pending bytes into segments, cutting at complete markers and holding back a possible partial one.
    fn scan(&mut self) {
        loop {
            let pending = std::mem::take(&mut self.pending);
            match find(&pending, &self.start) {
                Some(s) => match find(&pending[s + self.start.len()..], &self.end) {
                    Some(e) => {
                        let fields_end = s + self.start.len() + e;
                        self.current.push(&pending[..s]);
                        let prompt = parse_prompt(&pending[s + self.start.len()..fields_end]);
                        let out = std::mem::take(&mut self.current);
                        self.completed.push_back((out, prompt));
                        self.pending = pending[fields_end + self.end.len()..].to_vec();
                        self.interrupts = 0;
                        // Whatever we typed was echoed before this prompt or not at all.
                        if let Some(echo) = self.echo.take() {
                            self.pending.extend_from_slice(&echo.held);
                        }
                    }
                    None => {
                        self.current.push(&pending[..s]);
                        self.pending = pending[s..].to_vec();
                        return;
                    }
                },
                None => {
                    // Keep a tail that could be the beginning of a marker.
                    let keep = partial_suffix(&pending, &self.start);
                    self.current.push(&pending[..pending.len() - keep]);
                    self.pending = pending[pending.len() - keep..].to_vec();
                    return;
                }
            }
        }
    }
}
/// Reads the PTY on its own thread, so no output is lost however slowly the session asks for it.
pub(super) fn spawn_reader(mut reader: File, shared: Arc<(Mutex<Stream>, Notify)>) {
    std::thread::Builder::new()
        .name("bash-pty".into())
        .spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let mut stream = lock(&shared.0);
                        stream.flush_echo();
                        stream.eof = true;
                        drop(stream);
                        shared.1.notify_one();
                        return;
                    }
                    Ok(n) => {
                        let mut stream = lock(&shared.0);
                        stream.last_output = Some(Instant::now());
                        stream.feed(&buf[..n]);
                        drop(stream);
                        shared.1.notify_one();
                    }
                }
            }
        })
        .ok();
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if hay[at..].starts_with(needle) {
            return Some(at);
        }
        if hay.len() - at < needle.len() {
            return None;
        }
        from = at + 1;
    }
    None
}

/// The length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(hay.len() + 1))
        .rev()
        .find(|&k| hay.ends_with(&needle[..k]))
        .unwrap_or(0)
}

fn parse_prompt(fields: &[u8]) -> Prompt {
    let text = String::from_utf8_lossy(fields);
    let parts: Vec<&str> = text.split('\x1f').collect();
    let get = |i: usize| {
        parts
            .get(i)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let num = |i: usize| get(i).parse::<i64>().unwrap_or(-1);
    Prompt {
        exit_code: num(0),
        pid: num(1),
        username: get(2),
        hostname: get(3),
        working_dir: get(4),
        detached: get(5),
        py_interpreter_path: get(6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(chunks: &[&[u8]]) -> Stream {
        let mut s = Stream::new("N");
        for c in chunks {
            s.feed(c);
        }
        s
    }

    #[test]
    fn markers_split_segments_even_across_reads() {
        let s = stream_of(&[
            b"out\r\n\x1e",
            b"N\x1f0\x1f\x1fme\x1fhost\x1f/w\x1f1\x1f/usr/bin/python\r\n\x1fN",
            b"\x1emore",
        ]);
        assert_eq!(s.completed.len(), 1);
        let (out, prompt) = &s.completed[0];
        assert_eq!(out.head, b"out\r\n");
        assert_eq!(prompt.exit_code, 0);
        assert_eq!(prompt.pid, -1);
        assert_eq!(prompt.working_dir, "/w");
        assert_eq!(prompt.py_interpreter_path, "/usr/bin/python");
        assert_eq!(prompt.detached, "1");
        assert_eq!(s.current.head, b"more");
    }

    #[test]
    fn a_marker_without_the_nonce_is_plain_output() {
        let s = stream_of(&[b"\x1eX\x1f0\x1f\x1fme\x1fh\x1f/\x1f\x1fX\x1e"]);
        assert!(s.completed.is_empty());
    }

    #[test]
    fn huge_output_keeps_head_and_tail() {
        let mut out = Output::default();
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..12 {
            out.push(&chunk);
        }
        out.push(b"END");
        let bytes = out.into_bytes();
        assert!(bytes.len() < HEAD_CAP + TAIL_CAP + 100);
        assert!(bytes.ends_with(b"xEND"));
        assert!(String::from_utf8_lossy(&bytes).contains("bytes of output omitted"));
    }

    #[test]
    fn an_expected_echo_is_removed_once_even_split_across_reads() {
        let mut s = Stream::new("N");
        s.expect_echo(b" . '/t/c'\r\n".to_vec(), true);
        s.feed(b" . '/t");
        assert_eq!(s.current.head, b"", "a possible echo is held back");
        s.feed(b"/c'\r\nhi\r\n . '/t/c'\r\n");
        assert_eq!(s.current.head, b"hi\r\n . '/t/c'\r\n");
    }

    #[test]
    fn without_an_expected_echo_nothing_is_removed() {
        // The terminal did not echo (a password prompt): `secret` in the output is the program's own.
        let s = stream_of(&[b"\r\ngot secret\r\n"]);
        assert_eq!(s.current.head, b"\r\ngot secret\r\n");
    }

    #[test]
    fn an_echo_cut_short_by_ctrl_c_is_dropped_and_a_broken_partial_input_echo_is_kept() {
        let mut s = Stream::new("N");
        s.expect_echo(b" . '/t/c'\r\n".to_vec(), true);
        s.feed(b" . '/t");
        s.feed(b"^C\r\n");
        assert_eq!(s.current.head, b"^C\r\n");
        let mut s = Stream::new("N");
        s.expect_echo(b"hello\r\n".to_vec(), false);
        s.feed(b"hel");
        s.feed(b"p\r\n");
        assert_eq!(s.current.head, b"help\r\n");
    }
}
