//! Our side of the kernel's channels: shell (DEALER) for requests and replies, iopub (SUB) for outputs and
//! status, both read by background tasks into one queue so that no read is ever cancelled halfway.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeromq::{Socket as _, SocketSend as _};

use super::kernel::Connection;
use super::wire::{Message, Session};

/// How long to wait for a first sign of life on iopub before asking again (a SUB socket that has only just
/// connected misses what is published before its subscription reaches the kernel).
const HANDSHAKE_RETRY: Duration = Duration::from_millis(250);

pub(crate) struct Channels {
    session: Session,
    shell: zeromq::DealerSendHalf,
    pub incoming: mpsc::UnboundedReceiver<Message>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Channels {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

impl Channels {
    /// Connects to a kernel that is already listening, and returns once iopub delivers its messages.
    pub async fn connect(conn: &Connection, session_id: String) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let session = Session::new(conn.key.clone().into_bytes(), session_id);
        let mut shell = zeromq::DealerSocket::new();
        shell
            .connect(&format!("tcp://127.0.0.1:{}", conn.shell))
            .await
            .context("cannot connect to the kernel's shell channel")?;
        let mut iopub = zeromq::SubSocket::new();
        iopub
            .subscribe("")
            .await
            .context("cannot subscribe to the kernel's iopub channel")?;
        iopub
            .connect(&format!("tcp://127.0.0.1:{}", conn.iopub))
            .await
            .context("cannot connect to the kernel's iopub channel")?;
        let (shell_tx, shell_rx) = shell.split();
        let (tx, incoming) = mpsc::unbounded_channel();
        let readers = vec![
            spawn_reader("shell", session.clone(), tx.clone(), shell_rx),
            spawn_reader("iopub", session.clone(), tx, iopub),
        ];
        let mut channels = Self {
            session,
            shell: shell_tx,
            incoming,
            readers,
        };
        channels.handshake().await?;
        Ok(channels)
    }

    /// Sends a request on shell; returns its message id, which the answers carry as their parent.
    pub async fn send(&mut self, msg_type: &str, content: Value) -> anyhow::Result<String> {
        let (frames, id) = self.session.request(msg_type, content);
        let msg = zeromq::ZmqMessage::try_from(frames)
            .map_err(|e| anyhow::anyhow!("cannot build a ZeroMQ message: {e}"))?;
        self.shell
            .send(msg)
            .await
            .map_err(|e| anyhow::anyhow!("cannot send {msg_type} to the kernel: {e}"))?;
        Ok(id)
    }

    /// `kernel_info_request` until its status reaches us on iopub: from then on no output is lost.
    async fn handshake(&mut self) -> anyhow::Result<()> {
        let mut sent = Vec::new();
        loop {
            sent.push(
                self.send("kernel_info_request", serde_json::json!({}))
                    .await?,
            );
            let retry = tokio::time::sleep(HANDSHAKE_RETRY);
            tokio::pin!(retry);
            loop {
                tokio::select! {
                    msg = self.incoming.recv() => {
                        let msg = msg.ok_or_else(|| anyhow::anyhow!("the kernel's channels closed"))?;
                        if msg.msg_type == "status"
                            && msg.parent_id.as_ref().is_some_and(|p| sent.contains(p))
                        {
                            return Ok(());
                        }
                    }
                    _ = &mut retry => break,
                }
            }
        }
    }
}

fn spawn_reader(
    name: &'static str,
    session: Session,
    tx: mpsc::UnboundedSender<Message>,
    mut socket: impl zeromq::SocketRecv + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let frames = match socket.recv().await {
                Ok(m) => m.into_vec(),
                Err(e) => {
                    tracing::debug!(channel = name, error = %e, "kernel channel closed");
                    return;
                }
            };
            match session.decode(&frames) {
                Ok(msg) => {
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(channel = name, error = %e, "dropped a malformed kernel message")
                }
            }
        }
    })
}
