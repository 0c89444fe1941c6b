//! Entry points for the `cargo fuzz` targets in `fuzz/`: each parser that reads bytes we do not control
//! (the editor's frames, the provider's event stream, the model's tool calls), driven the way production
//! drives it, with the properties the targets check. Not an API.

use crate::agent::parse::{Parsed, response_to_events};
use crate::lsp::framing::{Decoded, Decoder};

/// Feeds `data` to the LSP frame decoder in pieces cut at `cuts`; every frame it passes on must be one that
/// tower-lsp-server reads, and the decoder must recover: a well-formed frame after any input is decoded.
pub fn lsp_frames(data: &[u8], cuts: &[u8]) {
    let mut decoder = Decoder::new();
    let mut rest = data;
    for &c in cuts {
        let n = usize::from(c).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        check_frames(decoder.push(piece));
        rest = tail;
    }
    check_frames(decoder.push(rest));
}

fn check_frames(items: Vec<Decoded>) {
    for item in items {
        if let Decoded::Frame(f) = item {
            let body_at = f
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("a frame has a header")
                + 4;
            let body = &f[body_at..];
            let header = std::str::from_utf8(&f[..body_at]).expect("an ASCII header");
            assert_eq!(header, format!("Content-Length: {}\r\n\r\n", body.len()));
            assert!(crate::lsp::framing::is_library_message(body));
        }
    }
}

/// Feeds `data` to the SSE parser in pieces cut at `cuts`; the events must not depend on where the
/// network cut the stream.
pub fn sse(data: &[u8], cuts: &[u8]) {
    let whole = {
        let mut p = crate::llm::fuzzing::Parser::default();
        let mut out = p.feed(data);
        out.extend(p.finish());
        out
    };
    let mut p = crate::llm::fuzzing::Parser::default();
    let mut out = Vec::new();
    let mut rest = data;
    for &c in cuts {
        let n = usize::from(c).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        out.extend(p.feed(piece));
        rest = tail;
    }
    out.extend(p.feed(rest));
    out.extend(p.finish());
    assert_eq!(whole, out);
}

/// Parses a model's text reply as emulated tool calls, then turns the calls into actions: never a panic,
/// and every call becomes an action or an error for the model.
pub fn tool_calls(text: &str) {
    let tools = crate::agent::tools::tools(crate::agent::tools::ToolSupport {
        jupyter: true,
        browser: true,
    });
    let (content, calls) = crate::llm::fuzzing::parse_reply(text, &tools);
    let n = calls.len();
    let response = crate::llm::Response {
        id: "fuzz".into(),
        content,
        tool_calls: calls,
        usage: Default::default(),
        cost: 0.0,
        latency: std::time::Duration::ZERO,
    };
    let parsed = response_to_events(&response);
    assert_eq!(parsed.len(), n.max(1));
    for p in parsed {
        if let Parsed::Invalid { error, .. } = p {
            assert!(!error.is_empty());
        }
    }
}

#[cfg(test)]
mod tests {
    /// The targets' properties hold on a few seeds (the fuzzer explores the rest).
    #[test]
    fn the_fuzz_properties_hold_on_seeds() {
        let ping = br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#;
        let mut frame = format!("Content-Length: {}\r\n\r\n", ping.len()).into_bytes();
        frame.extend_from_slice(ping);
        for cuts in [&[][..], &[1, 2, 3], &[40, 0, 7]] {
            super::lsp_frames(&frame, cuts);
            super::lsp_frames(b"Content-Length: x\r\n\r\n\xff[1]", cuts);
            super::sse(b"event: a\r\ndata: 1\r\n\r\ndata: \xe2\x82\xac\n\n", cuts);
        }
        super::tool_calls(
            "think <function=execute_bash>\n<parameter=command>ls</parameter>\n</function>",
        );
        super::tool_calls("<function=nope><function=");
        super::tool_calls("");
    }
}
