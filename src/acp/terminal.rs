//! The agent's commands in the client's terminal (`terminal/create`, `output`, `wait_for_exit`, `kill`,
//! `release`), for clients that offer one when the user chose it (`OPENHANDS_ACP_CLIENT_TERMINAL=1`) and the
//! runtime is the local one (a sandbox's commands stay in the sandbox). The tool call shows the terminal
//! live; the agent gets its output and exit code as a command observation. A client that does not answer,
//! a command past its deadline and a cancelled turn each end in a clear observation, the command killed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_client_protocol::v1::schema as acp;
use openhands_runtime_api::{CmdOutputMetadata, CmdRunAction, Observation};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::bridge::Link;
use super::client::{json_of, wire};

/// Terminals shown in tool calls: tool call id → terminal id, so the call's closing update keeps showing
/// the terminal (the client keeps its output after `terminal/release`).
pub type Shown = Arc<Mutex<HashMap<String, String>>>;

/// A command's closing `tool_call_update` keeps showing the client's terminal it ran in (its output is
/// there), instead of the output as text.
pub fn keep_shown(shown: &Shown, mut update: Value) -> Value {
    if update["sessionUpdate"] != "tool_call_update" || update.get("content").is_none() {
        return update;
    }
    let Some(call) = update["toolCallId"].as_str() else {
        return update;
    };
    if let Some(terminal) = shown.lock().ok().and_then(|mut s| s.remove(call)) {
        update["content"] = json!([{"type": "terminal", "terminalId": terminal}]);
    }
    update
}

/// Whether the user chose the client's terminal (`OPENHANDS_ACP_CLIENT_TERMINAL` = `1` or `true`).
pub fn chosen() -> bool {
    chosen_by(
        std::env::var("OPENHANDS_ACP_CLIENT_TERMINAL")
            .ok()
            .as_deref(),
    )
}

fn chosen_by(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some("1" | "true" | "yes" | "on"))
}

/// Output kept from a client terminal (the client truncates from the start beyond it).
const OUTPUT_LIMIT: u64 = 1 << 20;

/// One request to the client, answered within `timeout`; the error is a sentence naming the method.
async fn ask<R>(link: &Link, request: Value, timeout: Duration) -> Result<Value, String>
where
    R: agent_client_protocol::JsonRpcRequest + serde::de::DeserializeOwned,
    R::Response: serde::Serialize,
{
    let req: R = wire(request).map_err(|e| format!("{e:?}"))?;
    let method = req.method().to_string();
    let answer = tokio::time::timeout(timeout, link.peer.cx.send_request(req).block_task())
        .await
        .map_err(|_| {
            format!(
                "the client did not answer {method} within {} s",
                timeout.as_secs()
            )
        })?
        .map_err(|e| format!("the client failed {method}: {}", e.message))?;
    Ok(json_of(&answer))
}

/// Runs `cmd` in a new client terminal; `action_id` is its tool call's event id.
pub async fn run(
    link: &Link,
    shown: &Shown,
    cmd: &CmdRunAction,
    action_id: i64,
    cancel: CancellationToken,
) -> Observation {
    if cmd.is_input {
        return Observation::error(
            "Commands run in the editor's terminal, one process each: there is no running command to send input to.",
        );
    }
    let sid = link.session_id.clone();
    let fs = link.deadlines.fs;
    let cwd = match &cmd.cwd {
        Some(c) if !c.is_empty() => c.clone(),
        _ => link.cwd.display().to_string(),
    };
    let created = ask::<acp::CreateTerminalRequest>(
        link,
        json!({"sessionId": sid, "command": "bash", "args": ["-c", cmd.command], "cwd": cwd,
               "outputByteLimit": OUTPUT_LIMIT}),
        fs,
    )
    .await;
    let terminal = match created {
        Ok(v) => v["terminalId"].as_str().unwrap_or_default().to_owned(),
        Err(e) => return Observation::error(format!("The command did not run: {e}.")),
    };
    let ids = json!({"sessionId": sid, "terminalId": terminal});
    // The tool call (sent when the action was recorded) shows the terminal from now on.
    let mut seen = link.forwarded.clone();
    let _ =
        tokio::time::timeout(Duration::from_secs(2), seen.wait_for(|id| *id >= action_id)).await;
    let call = crate::updates::call_id(action_id);
    if let Ok(mut s) = shown.lock() {
        s.insert(call.clone(), terminal.clone());
    }
    link.peer.update(
        &sid,
        json!({"sessionUpdate": "tool_call_update", "toolCallId": call,
               "content": [{"type": "terminal", "terminalId": terminal}]}),
    );

    let limit = link.deadlines.terminal;
    let waited = tokio::select! {
        w = ask::<acp::WaitForTerminalExitRequest>(link, ids.clone(), limit) => Some(w),
        _ = cancel.cancelled() => None,
    };
    let ending = match &waited {
        Some(Ok(_)) => None,
        Some(Err(e)) if e.contains("did not answer") => Some(format!(
            "[The command did not finish within {} s and was killed.]",
            limit.as_secs()
        )),
        Some(Err(e)) => Some(format!("[{e}; the command was killed.]")),
        None => Some("[The turn was cancelled; the command was killed.]".to_owned()),
    };
    if ending.is_some() {
        let _ = ask::<acp::KillTerminalRequest>(link, ids.clone(), fs).await;
    }
    let output = ask::<acp::TerminalOutputRequest>(link, ids.clone(), fs).await;
    let _ = ask::<acp::ReleaseTerminalRequest>(link, ids, fs).await;
    let (mut text, status) = match output {
        Ok(o) => {
            let status = o
                .get("exitStatus")
                .filter(|s| !s.is_null())
                .cloned()
                .or_else(|| waited.and_then(Result::ok));
            let mut text = o["output"].as_str().unwrap_or_default().to_owned();
            if o["truncated"] == true {
                text = format!(
                    "[Earlier output was cut: only the last {OUTPUT_LIMIT} bytes are kept.]\n{text}"
                );
            }
            (text, status)
        }
        Err(e) => (format!("[The output could not be read: {e}.]"), None),
    };
    let exit_code = status
        .as_ref()
        .and_then(|s| s["exitCode"].as_i64())
        .unwrap_or(-1);
    if let Some(signal) = status.as_ref().and_then(|s| s["signal"].as_str()) {
        text.push_str(&format!("\n[The command ended on signal {signal}.]"));
    }
    if let Some(e) = ending {
        text.push('\n');
        text.push_str(&e);
    }
    let metadata = CmdOutputMetadata {
        exit_code,
        working_dir: Some(cwd),
        ..CmdOutputMetadata::default()
    };
    Observation::cmd_output(text, cmd.command.clone(), metadata, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_off_unless_turned_on() {
        assert!(!chosen_by(None));
        assert!(!chosen_by(Some("0")));
        assert!(!chosen_by(Some("")));
        assert!(chosen_by(Some("1")));
        assert!(chosen_by(Some(" true")));
    }
}
