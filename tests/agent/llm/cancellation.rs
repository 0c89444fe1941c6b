//! Cancellation: the token aborts an in-flight request or a retry wait at once.

use std::time::{Duration, Instant};

use openhands_lsp::llm::{Llm, LlmConfig, LlmError, StreamEvent};
use pretty_assertions::assert_eq;
use tokio_util::sync::CancellationToken;

use super::{WIRES, request};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

#[tokio::test]
async fn cancellation_aborts_the_request_at_once() {
    for wire in WIRES {
        let server = ScriptedLlm::start(wire, vec![Reply::Hang(Duration::from_secs(5))]);
        let llm = Llm::new(server.config()).expect("config");
        let cancel = CancellationToken::new();
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            canceller.cancel();
        });
        let started = Instant::now();
        let result = llm.complete(&request(), &cancel, &|_| {}).await;
        assert_eq!(result, Err(LlmError::Cancelled));
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_millis(200),
            "cancelled after {elapsed:?}"
        );
    }
    // Also while waiting to retry.
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Status {
            status: 503,
            body: "loading model".into(),
            retry_after: None,
        }],
    );
    let config = LlmConfig {
        retry_min_wait: Duration::from_secs(10),
        retry_max_wait: Duration::from_secs(10),
        ..server.config()
    };
    let llm = Llm::new(config).expect("config");
    let cancel = CancellationToken::new();
    let canceller = cancel.clone();
    let started = Instant::now();
    let on_event = move |e: StreamEvent| {
        if matches!(e, StreamEvent::Retrying { .. }) {
            canceller.cancel();
        }
    };
    assert_eq!(
        llm.complete(&request(), &cancel, &on_event).await,
        Err(LlmError::Cancelled)
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}
