//! JSON-RPC framing as an editor speaks it on stdio (`Content-Length` headers), for the tests and the LSP
//! benchmark that play the editor.
#![allow(dead_code)] // the benchmark uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc::{Receiver, channel};

use serde_json::Value;

/// Reads frames from `out` on a thread; each JSON body arrives on the channel, which closes at EOF.
pub fn read_frames(out: impl Read + Send + 'static) -> Receiver<Value> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(out);
        loop {
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length: ") {
                    len = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_err() {
                return;
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&body)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Writes one frame whose body is `body` as it is (which need not be valid JSON).
pub fn write_raw(w: &mut impl Write, body: &str) {
    write!(w, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    w.flush().unwrap();
}

pub fn write_frame(w: &mut impl Write, msg: &Value) {
    write_raw(w, &msg.to_string());
}
