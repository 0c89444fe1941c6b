//! Server-sent events, incrementally: bytes as they arrive in, whole events out. Both providers stream
//! this way; lines are split on bytes so a UTF-8 character cut between network chunks stays whole.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names its events; OpenAI does not).
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, false);
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line(&String::from_utf8_lossy(&line), &mut out);
                }
                _ => self.line.push(b),
            }
        }
        out
    }

    /// The stream ended: an event whose lines are complete but lacks its blank line is still delivered;
    /// a half-written line is dropped.
    pub fn finish(&mut self) -> Option<SseEvent> {
        self.line.clear();
        self.dispatch()
    }

    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            out.extend(self.dispatch());
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        self.data.take().map(|data| SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    #[test]
    fn events_split_anywhere() {
        let wire = "event: message_start\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: ping\n\ndata: h\u{e9}llo\n\ndata: [DONE]\n\n";
        let expected = vec![
            ev(Some("message_start"), "{\"a\":\n1}"),
            ev(None, "héllo"),
            ev(None, "[DONE]"),
        ];
        for split in 1..wire.len() {
            let mut parser = SseParser::default();
            let bytes = wire.as_bytes();
            let mut got = parser.feed(&bytes[..split]);
            got.extend(parser.feed(&bytes[split..]));
            assert_eq!(parser.finish(), None);
            assert_eq!(got, expected, "split at {split}");
        }
    }

    #[test]
    fn end_of_stream_keeps_whole_lines_only() {
        let mut parser = SseParser::default();
        assert_eq!(parser.feed(b"data: whole\n"), vec![]);
        assert_eq!(parser.finish(), Some(ev(None, "whole")));
        assert_eq!(parser.feed(b"data: {\"cut"), vec![]);
        assert_eq!(parser.finish(), None);
        assert_eq!(parser.feed(b"event: x\ndata\n\n"), vec![ev(Some("x"), "")]);
    }
}
