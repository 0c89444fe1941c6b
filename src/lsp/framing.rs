//! Guards the LSP transport against malformed input: tower-lsp-server stops answering after a body that is
//! not JSON, so frames are checked first and a bad one becomes a notification the server reports.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

/// The notification a malformed frame is replaced with.
pub const MALFORMED: &str = "$/openhands/malformedMessage";
/// Frames larger than this are refused (and skipped), so a bad length cannot exhaust memory.
const MAX_FRAME: usize = 64 * 1024 * 1024;

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

/// Copies LSP frames from `input` to the returned stream, replacing bodies that are not JSON.
pub fn guard(input: impl AsyncRead + Unpin + Send + 'static) -> DuplexStream {
    let (mut tx, rx) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let mut r = BufReader::new(input);
        loop {
            let mut len: Option<usize> = None;
            let mut line = String::new();
            loop {
                line.clear();
                match r.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let l = line.trim_end();
                if l.is_empty() {
                    if len.is_some() {
                        break;
                    }
                    continue;
                }
                if let Some((k, v)) = l.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().ok();
                }
            }
            let Some(len) = len.filter(|n| *n <= MAX_FRAME) else {
                if tx
                    .write_all(&malformed("a frame without a valid Content-Length"))
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            };
            let mut body = vec![0; len];
            if r.read_exact(&mut body).await.is_err() {
                return;
            }
            let out = match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(_) => frame(&body),
                Err(e) => malformed(&format!("the body is not JSON: {e}")),
            };
            if tx.write_all(&out).await.is_err() {
                return;
            }
        }
    });
    rx
}
