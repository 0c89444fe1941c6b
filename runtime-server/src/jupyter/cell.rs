//! Runs one cell: send `execute_request`, gather its outputs until the kernel reports idle for it, interrupt
//! it at the deadline, notice if the kernel dies meanwhile.
//!
//! Completion is iopub's `status: idle` for our request, never `execute_reply` (with ipykernel 7 outputs
//! still arrive after the reply). Messages answering an earlier request are dropped by parent id, so a cell
//! that ran past its timeout cannot leak output into the next one.

use std::process::ExitStatus;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::Channels;
use super::kernel::KernelProcess;
use super::text::Output;
use super::wire::Message;

/// After an interrupt, how long the cell has to reach idle before the kernel counts as stuck. It stays
/// well inside the 5 s OpenHands' client adds to the action's timeout.
pub(crate) const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// After the kernel died, how long the channels may stay quiet before its last messages count as read.
const DRAIN_QUIET: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum End {
    /// The kernel went idle.
    Completed,
    /// The deadline passed and the interrupt worked: the kernel is idle again, its state kept.
    TimedOut,
    /// The deadline passed and the kernel ignored the interrupt: it must be replaced.
    Stuck,
    /// The kernel process ended.
    Died(ExitStatus),
}

#[derive(Debug)]
pub(crate) struct Cell {
    pub output: Output,
    pub images: Vec<String>,
    pub end: End,
}

pub(crate) async fn run(
    channels: &mut Channels,
    process: &mut KernelProcess,
    code: &str,
    silent: bool,
    timeout: Option<Duration>,
) -> anyhow::Result<Cell> {
    let id = channels
        .send(
            "execute_request",
            json!({"code": code, "silent": silent, "store_history": false,
                "user_expressions": {}, "allow_stdin": false, "stop_on_error": true}),
        )
        .await?;
    let mut cell = Cell {
        output: Output::default(),
        images: Vec::new(),
        end: End::Completed,
    };
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let mut wake = timeout
        .and_then(|t| Instant::now().checked_add(t))
        .map_or(far, |t| t.min(far));
    let mut interrupted = false;
    loop {
        tokio::select! {
            msg = channels.incoming.recv() => {
                let Some(msg) = msg else {
                    // The reader tasks end only when the sockets do: the process is going away.
                    cell.end = End::Died(process.exited().await);
                    break;
                };
                if msg.parent_id.as_deref() != Some(id.as_str()) {
                    continue;
                }
                if msg.msg_type == "status" && msg.content["execution_state"] == "idle" {
                    cell.end = if interrupted { End::TimedOut } else { End::Completed };
                    break;
                }
                if !interrupted {
                    take(&mut cell, &msg);
                }
            }
            _ = tokio::time::sleep_until(wake) => {
                if interrupted {
                    cell.end = End::Stuck;
                    break;
                }
                process.interrupt();
                interrupted = true;
                wake = Instant::now() + INTERRUPT_GRACE;
            }
            status = process.exited() => {
                cell.end = End::Died(status);
                if !interrupted {
                    drain(channels, &id, &mut cell).await;
                }
                break;
            }
        }
    }
    Ok(cell)
}

/// Takes what a dead kernel sent before it died and we have not read yet.
async fn drain(channels: &mut Channels, id: &str, cell: &mut Cell) {
    while let Ok(Some(msg)) = tokio::time::timeout(DRAIN_QUIET, channels.incoming.recv()).await {
        if msg.parent_id.as_deref() == Some(id) {
            take(cell, &msg);
        }
    }
}

/// What OpenHands keeps of each output message.
fn take(cell: &mut Cell, msg: &Message) {
    let c = &msg.content;
    match msg.msg_type.as_str() {
        "stream" => cell.output.push(c["text"].as_str().unwrap_or_default()),
        "execute_result" | "display_data" => {
            if let Some(text) = c["data"]["text/plain"].as_str() {
                cell.output.push(text);
            }
            if let Some(png) = c["data"]["image/png"].as_str() {
                cell.images.push(format!("data:image/png;base64,{png}"));
            }
        }
        "error" => {
            let lines: Vec<&str> = c["traceback"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            cell.output.push(&lines.join("\n"));
        }
        _ => {}
    }
}
