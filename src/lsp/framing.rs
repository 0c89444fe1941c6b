//! Guards the LSP transport against malformed input. tower-lsp-server's decoder ends the input stream at the
//! first frame it cannot read (a bad `Content-Length`, a header that is not UTF-8, a body that is not a
//! JSON-RPC message), so the server went deaf; and it drops `$/` requests unanswered. Frames are decoded
//! here first: a bad one becomes a notification the server reports as a warning, the stream resynchronises on
//! the next `Content-Length` header, and only well-formed messages reach the library.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tower_lsp_server::jsonrpc::{Id, Request, Response};

/// The notification a malformed frame is replaced with.
pub const MALFORMED: &str = "$/openhands/malformedMessage";
/// What an unknown `$/` request is renamed to, so that the server answers it with `MethodNotFound`.
pub const UNKNOWN_DOLLAR_REQUEST: &str = "openhands/unknownDollarRequest";
/// Frames larger than this are refused (and skipped), so a bad length cannot exhaust memory.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;
/// A header block longer than this is garbage, not a header.
const MAX_HEADER: usize = 8 * 1024;
const CONTENT_LENGTH: &[u8] = b"content-length";

/// What the decoder makes of the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A JSON-RPC message tower-lsp-server can read, framed anew.
    Frame(Vec<u8>),
    /// Input that was skipped, and why (a sentence for the user).
    Malformed(String),
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Looking for a header block in the unread input.
    Header,
    /// Reading a body of this many bytes.
    Body(usize),
    /// Discarding this many more bytes of a frame over the size cap.
    Skip(usize),
    /// After a header without a usable length: discarding until the next `Content-Length`.
    Resync,
}

/// An incremental LSP frame decoder: bytes in, [`Decoded`] items out. It never panics or recurses, and holds
/// at most one frame and one read's worth of input.
#[derive(Debug)]
pub struct Decoder {
    phase: Phase,
    /// Input not yet consumed.
    input: Vec<u8>,
    /// The body being read.
    body: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self {
            phase: Phase::Header,
            input: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Feeds `bytes`; returns what became complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Decoded> {
        self.input.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let avail = &self.input[at..];
            match self.phase {
                Phase::Skip(left) => {
                    let n = left.min(avail.len());
                    at += n;
                    if n < left {
                        self.phase = Phase::Skip(left - n);
                        break;
                    }
                    self.phase = Phase::Header;
                }
                Phase::Body(len) => {
                    let n = (len - self.body.len()).min(avail.len());
                    self.body.extend_from_slice(&avail[..n]);
                    at += n;
                    if self.body.len() < len {
                        break;
                    }
                    let body = std::mem::take(&mut self.body);
                    self.phase = Phase::Header;
                    match check_message(&body) {
                        Ok(message) => out.push(Decoded::Frame(frame(&message))),
                        Err(why) => {
                            out.push(Decoded::Malformed(why));
                            // A length longer than the body swallowed the next frame's header: read on
                            // from there.
                            if let Some(p) = find_ci(&body, CONTENT_LENGTH) {
                                let rest = self.input.split_off(at);
                                self.input = body[p..].to_vec();
                                self.input.extend_from_slice(&rest);
                                at = 0;
                            }
                        }
                    }
                }
                Phase::Resync => match find_ci(avail, CONTENT_LENGTH) {
                    Some(i) => {
                        at += i;
                        self.phase = Phase::Header;
                    }
                    None => {
                        // Keep a tail that may be the start of the header's name.
                        at += avail.len().saturating_sub(CONTENT_LENGTH.len() - 1);
                        break;
                    }
                },
                Phase::Header => {
                    let Some((end, after)) = header_end(avail) else {
                        if avail.len() > MAX_HEADER {
                            out.push(Decoded::Malformed(format!(
                                "more than {MAX_HEADER} bytes without the blank line that ends a header"
                            )));
                            at += avail.len() - (CONTENT_LENGTH.len() - 1);
                            self.phase = Phase::Resync;
                            continue;
                        }
                        break;
                    };
                    let header = &avail[..end];
                    let blank = header.iter().all(u8::is_ascii_whitespace);
                    let length = (!blank).then(|| content_length(header));
                    at += after;
                    match length {
                        // Blank lines between frames are harmless.
                        None => {}
                        Some(Ok(len)) if len > MAX_FRAME => {
                            out.push(Decoded::Malformed(format!(
                                "a frame of {len} bytes is over the limit of {MAX_FRAME}; it was skipped"
                            )));
                            self.phase = Phase::Skip(len);
                        }
                        Some(Ok(len)) => self.phase = Phase::Body(len),
                        Some(Err(why)) => {
                            out.push(Decoded::Malformed(why));
                            self.phase = Phase::Resync;
                        }
                    }
                }
            }
        }
        self.input.drain(..at);
        out
    }
}

/// The end of the header block (`\r\n\r\n`, or `\n\n` from sloppy clients) and where the body starts.
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    // Only a header's length is searched, so a read holding many frames is not scanned once per frame.
    let buf = &buf[..buf.len().min(MAX_HEADER + 4)];
    let crlf = find(buf, b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = find(buf, b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The `Content-Length` of a header block. Garbage before the header name on its line (the tail of a body
/// longer than its stated length) is ignored; other headers (`Content-Type`) are ignored too, since the frame
/// is re-encoded as UTF-8 JSON.
fn content_length(header: &[u8]) -> Result<usize, String> {
    let Some(at) = find_ci(header, CONTENT_LENGTH) else {
        return Err("a frame without a Content-Length header".to_owned());
    };
    let line = &header[at..];
    let line = &line[..find(line, b"\n").unwrap_or(line.len())];
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return Err("a Content-Length header without a value".to_owned());
    };
    let value = String::from_utf8_lossy(&line[colon + 1..]);
    let value = value.trim();
    value
        .parse::<usize>()
        .map_err(|_| format!("Content-Length `{}` is not a byte count", shorten(value)))
}

/// The body if tower-lsp-server can read it as a request, notification or response; a `$/` request is
/// renamed so that it gets an answer. The common case is one parse.
fn check_message(body: &[u8]) -> Result<Vec<u8>, String> {
    if let Ok(request) = serde_json::from_slice::<Request>(body) {
        let is_request = request.id().is_some_and(|id| *id != Id::Null);
        if is_request && request.method().starts_with("$/") {
            let mut renamed: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| e.to_string())?;
            renamed["params"] = serde_json::json!({ "method": request.method() });
            renamed["method"] = UNKNOWN_DOLLAR_REQUEST.into();
            return Ok(renamed.to_string().into_bytes());
        }
        return Ok(body.to_vec());
    }
    if serde_json::from_slice::<Response>(body).is_ok() {
        return Ok(body.to_vec());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    Err(match &value {
        serde_json::Value::Array(_) => {
            "a JSON-RPC batch (an array); LSP sends one message per frame".to_owned()
        }
        serde_json::Value::Object(_) => format!(
            "not a JSON-RPC 2.0 request, notification or response: {}",
            shorten(&value.to_string())
        ),
        other => format!(
            "the body is JSON but not a message object: {}",
            shorten(&other.to_string())
        ),
    })
}

/// `body` is a message tower-lsp-server reads (a request, notification or response).
pub fn is_library_message(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| {
        serde_json::from_value::<Request>(v.clone()).is_ok()
            || serde_json::from_value::<Response>(v).is_ok()
    })
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn malformed(reason: &str) -> Vec<u8> {
    let body =
        serde_json::json!({"jsonrpc": "2.0", "method": MALFORMED, "params": {"error": reason}});
    frame(body.to_string().as_bytes())
}

/// Copies LSP frames from `input` to the returned stream, replacing malformed input with [`MALFORMED`]
/// notifications.
pub fn guard(input: impl AsyncRead + Unpin + Send + 'static) -> DuplexStream {
    let (mut tx, rx) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut input = input;
        let mut decoder = Decoder::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for item in decoder.push(&chunk[..n]) {
                let bytes = match item {
                    Decoded::Frame(f) => f,
                    Decoded::Malformed(why) => malformed(&why),
                };
                if tx.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"openhands/ping"}"#;

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    /// Decodes `input` fed in pieces of `step` bytes; frames as their bodies, warnings as `!reason`.
    fn decode(input: &[u8], step: usize) -> Vec<String> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            out.extend(d.push(piece));
        }
        out.into_iter()
            .map(|item| match item {
                Decoded::Frame(f) => {
                    let s = String::from_utf8(f).unwrap();
                    s.split_once("\r\n\r\n").unwrap().1.to_owned()
                }
                Decoded::Malformed(why) => format!("!{why}"),
            })
            .collect()
    }

    fn assert_recovers(bad: &[u8], warning: &str) {
        let mut input = bad.to_vec();
        input.extend_from_slice(framed(PING).as_bytes());
        for step in [1, 3, 7, input.len()] {
            let out = decode(&input, step);
            assert_eq!(
                out.last().map(String::as_str),
                Some(PING),
                "step {step}: {out:?}"
            );
            assert!(
                out.iter()
                    .any(|o| o.starts_with('!') && o.contains(warning)),
                "step {step}: {out:?}"
            );
        }
    }

    #[test]
    fn good_frames_pass_whole_in_any_pieces() {
        let input = format!("{}{}", framed(PING), framed(PING));
        for step in [1, 2, 5, 1000] {
            assert_eq!(decode(input.as_bytes(), step), [PING, PING]);
        }
    }

    #[test]
    fn a_bad_content_length_is_reported_and_the_stream_recovers() {
        assert_recovers(
            b"Content-Length: abc\r\n\r\n{\"x\":1}",
            "`abc` is not a byte count",
        );
        assert_recovers(b"Content-Length: -5\r\n\r\n{}", "`-5` is not a byte count");
        assert_recovers(
            b"Content-Type: x\r\n\r\n{\"a\":1}",
            "without a Content-Length",
        );
        assert_recovers(b"Content-Length\r\n\r\n{}", "without a value");
    }

    #[test]
    fn a_length_shorter_or_longer_than_the_body_loses_only_that_frame() {
        let body = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        assert_recovers(
            format!("Content-Length: 10\r\n\r\n{body}").as_bytes(),
            "not JSON",
        );
        // Too long: the body runs into the next frame, which is found again.
        let input = format!(
            "Content-Length: {}\r\n\r\n{body}{}",
            body.len() + 30,
            framed(PING)
        );
        let out = decode(input.as_bytes(), 4);
        assert_eq!(out.last().map(String::as_str), Some(PING), "{out:?}");
    }

    #[test]
    fn a_header_that_is_not_utf8_is_skipped() {
        assert_recovers(b"Content-Length: 2\xff\xfe\r\n\r\n{}", "not a byte count");
        assert_recovers(b"X-\xff\xfe: 1\r\nContent-Length: 2\r\n\r\n[]", "batch");
    }

    #[test]
    fn bodies_that_are_not_messages_are_refused() {
        assert_recovers(framed("[1,2,3]").as_bytes(), "batch");
        assert_recovers(framed(r#""abc""#).as_bytes(), "not a message object");
        assert_recovers(framed("42").as_bytes(), "not a message object");
        assert_recovers(framed(r#"{"a":1}"#).as_bytes(), "not a JSON-RPC 2.0");
        assert_recovers(
            framed(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#).as_bytes(),
            "not a JSON-RPC 2.0",
        );
        assert_recovers(
            framed("{\"jsonrpc\":\"2.0\",\"method\":\"\u{fffd}").as_bytes(),
            "not JSON",
        );
        assert_recovers(b"Content-Length: 4\r\n\r\n\"\xff\xfe\"", "not JSON");
    }

    #[test]
    fn a_frame_over_the_cap_is_skipped_by_its_length() {
        let mut d = Decoder::new();
        let header = format!("Content-Length: {}\r\n\r\n", MAX_FRAME + 1);
        let out = d.push(header.as_bytes());
        assert!(matches!(&out[..], [Decoded::Malformed(w)] if w.contains("over the limit")));
        let block = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            assert_eq!(d.push(&block), []);
        }
        assert!(
            d.input.capacity() <= 2 << 20,
            "the skipped body was not kept"
        );
        assert_eq!(d.body.capacity(), 0, "the skipped body was not buffered");
        let mut rest = vec![b'x'];
        rest.extend_from_slice(framed(PING).as_bytes());
        assert_eq!(d.push(&rest), [Decoded::Frame(framed(PING).into_bytes())]);
    }

    #[test]
    fn garbage_without_a_header_is_bounded_and_skipped() {
        let mut input = vec![b'g'; 3 * MAX_HEADER];
        input.extend_from_slice(framed(PING).as_bytes());
        let out = decode(&input, 1000);
        assert_eq!(out.last().map(String::as_str), Some(PING), "{out:?}");
    }

    #[test]
    fn unknown_dollar_requests_are_renamed_and_dollar_notifications_pass() {
        let out = decode(
            framed(r#"{"jsonrpc":"2.0","id":7,"method":"$/foo","params":[1]}"#).as_bytes(),
            9,
        );
        let v: serde_json::Value = serde_json::from_str(&out[0]).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"jsonrpc":"2.0","id":7,"method":UNKNOWN_DOLLAR_REQUEST,"params":{"method":"$/foo"}})
        );
        let note = r#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#;
        assert_eq!(decode(framed(note).as_bytes(), 9), [note]);
    }
}
