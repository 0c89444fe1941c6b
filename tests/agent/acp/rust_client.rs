//! `openhands-lsp acp` driven by the Rust crate's own client side (`agent-client-protocol`'s `Client.v1()`),
//! over the binary's stdin/stdout: the typed protocol values round-trip, and a prompt streams its updates
//! before its response.

use std::sync::{Arc, Mutex};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema as acp;
use agent_client_protocol::{ByteStreams, Client, on_receive_notification, on_receive_request};
use serde_json::json;
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use super::super::scripted_llm::{ScriptedLlm, Wire, tool};
use super::{AcpEnv, agent_bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_runs_a_prompt_and_reads_its_updates() {
    let env = AcpEnv::new();
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("think", json!({"thought": "pondering"})),
            tool("finish", json!({"message": "done in rust"})),
        ],
    );
    let mut cmd = std::process::Command::new(agent_bin());
    cmd.arg("acp");
    env.apply(&mut cmd, &llm);
    let mut child = tokio::process::Command::from(cmd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap().compat_write();
    let stdout = child.stdout.take().unwrap().compat();
    let updates: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = updates.clone();
    let ws = env.ws.clone();
    let result = Client
        .v1()
        .name("rust-test-client")
        .on_receive_notification(
            async move |n: acp::SessionNotification, _cx| {
                seen.lock()
                    .unwrap()
                    .push(serde_json::to_value(&n.update).unwrap());
                Ok(())
            },
            on_receive_notification!(),
        )
        .on_receive_request(
            async move |_r: acp::RequestPermissionRequest, responder, _cx| {
                responder.respond(acp::RequestPermissionResponse::new(
                    acp::RequestPermissionOutcome::Cancelled,
                ))
            },
            on_receive_request!(),
        )
        .connect_with(ByteStreams::new(stdin, stdout), async move |cx| {
            let init = cx
                .send_request(acp::InitializeRequest::new(ProtocolVersion::V1))
                .block_task()
                .await?;
            assert!(init.agent_capabilities.load_session);
            let session = cx
                .send_request(acp::NewSessionRequest::new(ws))
                .block_task()
                .await?;
            let modes = session.modes.expect("the session's modes");
            assert_eq!(&*modes.current_mode_id.0, "auto-edit");
            let done = cx
                .send_request(acp::PromptRequest::new(
                    session.session_id.clone(),
                    vec![acp::ContentBlock::from("think, then finish".to_owned())],
                ))
                .block_task()
                .await?;
            Ok(done.stop_reason)
        })
        .await
        .unwrap();
    assert_eq!(result, acp::StopReason::EndTurn);
    let kinds: Vec<String> = updates
        .lock()
        .unwrap()
        .iter()
        .map(|u| u["sessionUpdate"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "available_commands_update",
            "session_info_update",
            "agent_thought_chunk",
            "agent_message_chunk",
            "usage_update"
        ]
    );
    let _ = child.kill().await;
}
