//! A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (NUL-separated JSON messages).
//!
//! Why our own client and not `chromiumoxide`: that crate generates types for the whole protocol, which
//! takes many minutes to compile on a 2-core machine, while we call about twenty methods. Why the pipe and
//! not a WebSocket: no port to discover or leave open on the machine, no WebSocket dependency, and the
//! browser quits by itself when the pipe closes, so a dead server cannot leave it running.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, oneshot};

/// Why a CDP call gave no result.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum CdpError {
    /// The pipe closed: the browser exited or crashed.
    #[error("the browser closed its DevTools connection")]
    Closed,
    #[error("{method} got no answer within {} ms", .after.as_millis())]
    Timeout { method: String, after: Duration },
    /// The browser answered with an error (bad parameters, no such node, ...).
    #[error("{method}: {message}")]
    Protocol { method: String, message: String },
}

/// A protocol event (`Page.loadEventFired`, ...), with the session it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub method: String,
    pub params: Value,
    pub session_id: Option<String>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

pub(crate) struct Cdp {
    writer: tokio::sync::Mutex<pipe::Sender>,
    pending: Pending,
    events: broadcast::Sender<Event>,
    next_id: AtomicU64,
    closed: Arc<AtomicBool>,
    reader: tokio::task::JoinHandle<()>,
}

impl Cdp {
    /// Takes our ends of the two pipes: `commands` is read by the browser, `answers` written by it.
    pub fn new(commands: OwnedFd, answers: OwnedFd) -> std::io::Result<Self> {
        let writer = pipe::Sender::from_owned_fd(commands)?;
        let reader = pipe::Receiver::from_owned_fd(answers)?;
        let pending: Pending = Arc::default();
        let (events, _) = broadcast::channel(1024);
        let closed = Arc::new(AtomicBool::new(false));
        let reader = tokio::spawn(read_loop(
            reader,
            pending.clone(),
            events.clone(),
            closed.clone(),
        ));
        Ok(Self {
            writer: tokio::sync::Mutex::new(writer),
            pending,
            events,
            next_id: AtomicU64::new(1),
            closed,
            reader,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Events from now on; subscribe before sending the command whose effects you wait for.
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends one command and waits for its answer.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session_id: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        if self.is_closed() {
            return Err(CdpError::Closed);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session_id {
            message["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&message).map_err(|e| CdpError::Protocol {
            method: method.to_owned(),
            message: e.to_string(),
        })?;
        bytes.push(0);
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, tx);
        let exchange = async {
            self.writer
                .lock()
                .await
                .write_all(&bytes)
                .await
                .map_err(|_| CdpError::Closed)?;
            // The reader may have drained the table just before we registered.
            if self.is_closed() {
                return Err(CdpError::Closed);
            }
            rx.await.map_err(|_| CdpError::Closed)
        };
        let answer = tokio::time::timeout(timeout, exchange).await;
        self.lock_pending().remove(&id);
        match answer {
            Err(_) => Err(CdpError::Timeout {
                method: method.to_owned(),
                after: timeout,
            }),
            Ok(Err(e)) => Err(e),
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(message))) => Err(CdpError::Protocol {
                method: method.to_owned(),
                message,
            }),
        }
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Value, String>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

async fn read_loop(
    mut pipe: pipe::Receiver,
    pending: Pending,
    events: broadcast::Sender<Event>,
    closed: Arc<AtomicBool>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut scanned = 0;
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let mut start = 0;
        while let Some(end) = buf[scanned..]
            .iter()
            .position(|&b| b == 0)
            .map(|i| i + scanned)
        {
            dispatch(&buf[start..end], &pending, &events);
            start = end + 1;
            scanned = start;
        }
        buf.drain(..start);
        scanned = buf.len();
    }
    closed.store(true, Ordering::SeqCst);
    // Dropping the senders wakes every caller with `Closed`.
    pending.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

fn dispatch(raw: &[u8], pending: &Pending, events: &broadcast::Sender<Event>) {
    let Ok(mut message) = serde_json::from_slice::<Value>(raw) else {
        tracing::warn!(
            "unreadable message from the browser: {}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        );
        return;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let waiter = pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some(tx) = waiter {
            let answer = match message.get_mut("error") {
                Some(err) => Err(err["message"]
                    .as_str()
                    .unwrap_or("unknown error")
                    .to_owned()
                    + &err
                        .get("data")
                        .and_then(Value::as_str)
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()),
                None => Ok(message
                    .get_mut("result")
                    .map(Value::take)
                    .unwrap_or(Value::Null)),
            };
            let _ = tx.send(answer);
        }
    } else if let Some(method) = message.get("method").and_then(Value::as_str) {
        let _ = events.send(Event {
            method: method.to_owned(),
            session_id: message
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            params: message
                .get_mut("params")
                .map(Value::take)
                .unwrap_or(Value::Null),
        });
    }
}
