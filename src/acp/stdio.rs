//! The stdio transport of `openhands-lsp acp`: one thread reads stdin lines, one writes stdout. The writer
//! takes every message queued since its last write and sends them with one write and one flush, so a burst
//! (a `session/load` replays thousands of updates) costs a few system calls instead of a write and a flush per
//! message, and a lone message goes out at once. The crate's own `Stdio` hands every line to a thread pool
//! and waits for its flush before the next.

use std::io::{BufRead, Write};
use std::thread::JoinHandle;

use futures_util::Sink;
use tokio::sync::mpsc;

/// At most this much is gathered into one write; the rest waits for the next.
const BATCH_BYTES: usize = 1 << 20;

/// Lines as the protocol crate's `Lines` transport takes them.
pub type Incoming = futures_util::stream::BoxStream<'static, std::io::Result<String>>;
pub type Outgoing = std::pin::Pin<Box<dyn Sink<String, Error = std::io::Error> + Send>>;

/// The transport's two ends and the writer thread, to be joined once the connection ended so that every
/// queued message is written before the process exits.
pub struct Pipes {
    pub incoming: Incoming,
    pub outgoing: Outgoing,
    pub writer: JoinHandle<()>,
}

/// Lines from `input` (a trailing `\r` dropped, bytes that are not UTF-8 replaced so the protocol layer
/// answers them as malformed JSON instead of the connection failing), written to `output` in batches.
pub fn pipes(
    input: impl std::io::Read + Send + 'static,
    output: impl Write + Send + 'static,
) -> Pipes {
    let (in_tx, in_rx) = mpsc::unbounded_channel::<std::io::Result<String>>();
    std::thread::Builder::new()
        .name("acp-stdin".into())
        .spawn(move || read_lines(input, in_tx))
        .expect("spawn the stdin thread");
    let incoming = futures_util::stream::unfold(in_rx, |mut rx| async move {
        rx.recv().await.map(|line| (line, rx))
    });

    let (out_tx, out_rx) = mpsc::unbounded_channel::<String>();
    let writer = std::thread::Builder::new()
        .name("acp-stdout".into())
        .spawn(move || write_lines(output, out_rx))
        .expect("spawn the stdout thread");
    let outgoing = futures_util::sink::unfold(out_tx, |tx, line: String| async move {
        tx.send(line)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout is closed"))?;
        Ok::<_, std::io::Error>(tx)
    });
    Pipes {
        incoming: Box::pin(incoming),
        outgoing: Box::pin(outgoing),
        writer,
    }
}

fn read_lines(input: impl std::io::Read, tx: mpsc::UnboundedSender<std::io::Result<String>>) {
    let mut reader = std::io::BufReader::new(input);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                if tx.send(Ok(line)).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Writes every queued line in one go, then flushes; returns when the sending side is gone and the queue is
/// written, or when the output fails (the client went away).
fn write_lines(mut output: impl Write, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut batch: Vec<u8> = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.clear();
        batch.extend_from_slice(first.as_bytes());
        batch.push(b'\n');
        while batch.len() < BATCH_BYTES {
            let Ok(line) = rx.try_recv() else { break };
            batch.extend_from_slice(line.as_bytes());
            batch.push(b'\n');
        }
        if let Err(e) = output.write_all(&batch).and_then(|()| output.flush()) {
            tracing::debug!("stdout closed: {e}");
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use std::sync::{Arc, Mutex};

    /// Records each write call separately.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().push(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn lines_in_and_out() {
        let input = b"{\"a\":1}\r\n\xff bad\nlast without newline".to_vec();
        let writes = Writes::default();
        let mut p = pipes(std::io::Cursor::new(input), writes.clone());
        let mut got = Vec::new();
        while let Some(line) = p.incoming.next().await {
            got.push(line.unwrap());
        }
        assert_eq!(got, ["{\"a\":1}", "\u{fffd} bad", "last without newline"]);
        // Everything queued goes out, in order, through the sink and the writer thread.
        for i in 0..3 {
            p.outgoing.feed(format!("line {i}")).await.unwrap();
        }
        p.outgoing.close().await.unwrap();
        drop(p.outgoing);
        p.writer.join().unwrap();
        assert_eq!(
            writes.0.lock().unwrap().concat(),
            b"line 0\nline 1\nline 2\n"
        );
    }

    #[test]
    fn a_queued_burst_is_one_write() {
        let writes = Writes::default();
        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..1000 {
            tx.send(format!("line {i}")).unwrap();
        }
        drop(tx);
        write_lines(writes.clone(), rx);
        let w = writes.0.lock().unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(w.len(), 1);
        assert_eq!(String::from_utf8(w.concat()).unwrap(), expected);
    }
}
