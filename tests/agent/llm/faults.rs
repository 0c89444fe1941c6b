//! Faults: HTTP errors, hangs, broken streams, odd tool calls, cancellation, and key secrecy.

use std::time::{Duration, Instant};

use openhands_lsp::llm::{Llm, LlmConfig, LlmError, StreamEvent};
use pretty_assertions::assert_eq;
use serde_json::json;

use super::{WIRES, request, retries, run, texts};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

fn status(status: u16, body: &str, retry_after: Option<u64>) -> Reply {
    Reply::Status {
        status,
        body: body.into(),
        retry_after,
    }
}

#[tokio::test]
async fn unauthorized_is_auth_without_retry() {
    for wire in WIRES {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-test-secret","type":"invalid_request_error"}}"#;
        let server = ScriptedLlm::start(
            wire,
            vec![status(401, body, None), Reply::Text("never".into())],
        );
        let (result, events) = run(server.config(), &request()).await;
        let error = result.expect_err("401 fails");
        assert_eq!(
            error,
            LlmError::Auth {
                status: 401,
                message: "Incorrect API key provided: [redacted]".into()
            },
            "the key the server echoed is redacted"
        );
        assert_eq!(server.requests().len(), 1, "no retry after 401");
        assert_eq!(retries(&events), vec![]);
    }
}

#[tokio::test]
async fn rate_limit_honours_retry_after_then_succeeds() {
    for wire in WIRES {
        let server = ScriptedLlm::start(
            wire,
            vec![
                status(429, r#"{"error":{"message":"slow down"}}"#, Some(1)),
                Reply::Text("finally".into()),
            ],
        );
        let config = LlmConfig {
            retry_max_wait: Duration::from_secs(5),
            ..server.config()
        };
        let started = Instant::now();
        let (result, events) = run(config, &request()).await;
        assert_eq!(result.expect("second attempt succeeds").content, "finally");
        assert_eq!(
            retries(&events),
            vec![(1, 3, Duration::from_secs(1))],
            "retry-after: 1 is honoured"
        );
        assert!(started.elapsed() >= Duration::from_secs(1));
        let StreamEvent::Retrying { reason, .. } = &events[0] else {
            panic!("first event is the retry: {events:?}")
        };
        assert_eq!(reason, "rate limited (HTTP 429): slow down");

        // A retry-after beyond retry_max_wait is capped.
        let server = ScriptedLlm::start(
            wire,
            vec![status(429, "busy", Some(3600)), Reply::Text("ok".into())],
        );
        let (result, events) = run(server.config(), &request()).await;
        assert_eq!(result.expect("ok").content, "ok");
        assert_eq!(retries(&events), vec![(1, 3, Duration::from_millis(50))]);
    }
}

#[tokio::test]
async fn rate_limit_forever_is_rate_limited() {
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        (0..4).map(|_| status(429, "busy", None)).collect(),
    );
    let (result, _) = run(server.config(), &request()).await;
    assert_eq!(
        result.expect_err("gives up"),
        LlmError::RateLimited {
            attempts: 4,
            message: "busy".into()
        }
    );
}

#[tokio::test]
async fn server_error_forever_gives_up_after_num_retries() {
    for wire in WIRES {
        // An exhausted script answers 500 "script exhausted" to everything.
        let server = ScriptedLlm::start(wire, vec![]);
        let (result, events) = run(server.config(), &request()).await;
        assert_eq!(
            result.expect_err("gives up"),
            LlmError::Server {
                status: 500,
                attempts: 4,
                message: "script exhausted".into()
            }
        );
        assert_eq!(server.requests().len(), 4, "1 attempt + num_retries 3");
        let ms = Duration::from_millis;
        assert_eq!(
            retries(&events),
            vec![(1, 3, ms(10)), (2, 3, ms(20)), (3, 3, ms(40))],
            "exponential, capped at 50 ms"
        );
    }
}

#[tokio::test]
async fn hang_beyond_timeout_is_timeout() {
    for wire in WIRES {
        for stream in [true, false] {
            let hang = Reply::Hang(Duration::from_secs(3));
            let server = ScriptedLlm::start(wire, vec![hang.clone(), hang]);
            let timeout = Duration::from_millis(300);
            let config = LlmConfig {
                timeout,
                num_retries: 1,
                stream,
                ..server.config()
            };
            let started = Instant::now();
            let (result, events) = run(config, &request()).await;
            assert_eq!(result.expect_err("times out"), LlmError::Timeout(timeout));
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(server.requests().len(), 2, "a timeout is retried");
            assert_eq!(retries(&events).len(), 1);
        }
    }
}

#[tokio::test]
async fn context_window_errors_have_their_own_kind() {
    let cases = [
        (
            Wire::OpenAi,
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
        ),
        (
            Wire::Anthropic,
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        ),
        (
            Wire::OpenAi,
            r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it"}}"#,
        ),
    ];
    for (wire, body) in cases {
        let server = ScriptedLlm::start(wire, vec![status(400, body, None)]);
        let error = run(server.config(), &request())
            .await
            .0
            .expect_err("too long");
        assert!(
            matches!(error, LlmError::ContextWindowExceeded(_)),
            "{wire:?}: {error:?}"
        );
        assert_eq!(server.requests().len(), 1, "not retried");
    }
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        vec![status(
            400,
            r#"{"error":{"message":"bad tool schema"}}"#,
            None,
        )],
    );
    let error = run(server.config(), &request())
        .await
        .0
        .expect_err("refused");
    assert_eq!(
        error,
        LlmError::BadRequest {
            status: 400,
            message: "bad tool schema".into()
        }
    );
}

#[tokio::test]
async fn invalid_json_arguments_and_unknown_tools_pass_through() {
    for wire in WIRES {
        for stream in [true, false] {
            let raw = r#"{"command": "ls"#;
            let server = ScriptedLlm::start(
                wire,
                vec![
                    Reply::RawArgs {
                        name: "execute_bash".into(),
                        arguments: raw.into(),
                    },
                    Reply::Tools {
                        text: String::new(),
                        calls: vec![("fly_to_moon".into(), json!({ "speed": 3 }))],
                    },
                ],
            );
            let config = LlmConfig {
                stream,
                ..server.config()
            };
            let response = run(config.clone(), &request())
                .await
                .0
                .expect("passed through");
            let call = &response.tool_calls[0];
            assert_eq!(
                (call.name.as_str(), call.arguments.as_str()),
                ("execute_bash", raw),
                "{wire:?} stream={stream}"
            );
            let response = run(config, &request()).await.0.expect("passed through");
            let call = &response.tool_calls[0];
            assert_eq!(
                (call.name.as_str(), call.arguments.as_str()),
                ("fly_to_moon", r#"{"speed":3}"#)
            );
        }
    }
}

#[tokio::test]
async fn empty_response_is_retried_then_bad_response() {
    for wire in WIRES {
        for stream in [true, false] {
            let server =
                ScriptedLlm::start(wire, vec![Reply::Empty, Reply::Text("there you go".into())]);
            let config = LlmConfig {
                stream,
                temperature: Some(0.0),
                ..server.config()
            };
            let (result, events) = run(config.clone(), &request()).await;
            assert_eq!(result.expect("second try").content, "there you go");
            assert_eq!(retries(&events).len(), 1);
            let temperatures: Vec<_> = server
                .requests()
                .iter()
                .map(|r| r["temperature"].clone())
                .collect();
            assert_eq!(
                temperatures,
                vec![json!(0.0), json!(1.0)],
                "temperature 0 becomes 1 after an empty answer"
            );

            let server = ScriptedLlm::start(wire, (0..4).map(|_| Reply::Empty).collect());
            let config = LlmConfig {
                base_url: server.base_url.clone(),
                ..config
            };
            let error = run(config, &request()).await.0.expect_err("always empty");
            let LlmError::BadResponse(message) = error else {
                panic!("{error:?}")
            };
            assert_eq!(
                message,
                "the response was empty (no choices or content) 4 times"
            );
        }
    }
}

#[tokio::test]
async fn cut_stream_is_retried() {
    for wire in WIRES {
        for cut in [
            Reply::CutStream("I was saying".into()),
            Reply::Truncated("I was saying".into()),
        ] {
            let server = ScriptedLlm::start(
                wire,
                vec![cut.clone(), Reply::Text("The whole answer.".into())],
            );
            let (result, events) = run(server.config(), &request()).await;
            assert_eq!(
                result.expect("second try").content,
                "The whole answer.",
                "{wire:?} {cut:?}"
            );
            let first_try = texts(
                &events[..events
                    .iter()
                    .position(|e| matches!(e, StreamEvent::Retrying { .. }))
                    .expect("a retry")],
            );
            assert_eq!(
                first_try.concat(),
                "I was saying",
                "text streamed before the cut"
            );
            assert_eq!(server.requests().len(), 2);
        }
    }
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        (0..4).map(|_| Reply::CutStream("x".into())).collect(),
    );
    let error = run(server.config(), &request())
        .await
        .0
        .expect_err("always cut");
    assert!(
        matches!(&error, LlmError::BadResponse(m) if m.contains("stream")),
        "{error:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_a_connection_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base_url = format!("http://{}/v1", closed.local_addr().expect("addr"));
    drop(closed);
    let server = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let config = LlmConfig {
        base_url: base_url.clone(),
        num_retries: 1,
        ..server.config()
    };
    let (result, events) = run(config, &request()).await;
    let error = result.expect_err("nothing listens");
    assert!(
        matches!(&error, LlmError::Connection { url, .. } if *url == base_url),
        "{error:?}"
    );
    assert_eq!(retries(&events).len(), 1, "connection errors are retried");
}

/// A host name that does not resolve stays that way: no retries (they kept an editor silent for minutes).
#[tokio::test]
async fn a_name_that_does_not_resolve_is_not_retried() {
    let base_url = "http://no-such-host.invalid/v1".to_owned();
    let server = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let config = LlmConfig {
        base_url: base_url.clone(),
        num_retries: 3,
        ..server.config()
    };
    let started = Instant::now();
    let (result, events) = run(config, &request()).await;
    let error = result.expect_err("no such host");
    assert!(
        matches!(&error, LlmError::Connection { url, .. } if *url == base_url),
        "{error:?}"
    );
    assert_eq!(retries(&events), vec![], "nothing to wait for");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn api_key_never_shows() {
    let server = ScriptedLlm::start(
        Wire::OpenAi,
        vec![status(500, "upstream rejected key sk-test-secret", None)],
    );
    let config = LlmConfig {
        num_retries: 0,
        ..server.config()
    };
    assert!(
        !format!("{config:?}").contains("sk-test-secret"),
        "{config:?}"
    );
    let llm = Llm::new(config.clone()).expect("config");
    assert!(!format!("{llm:?}").contains("sk-test-secret"));
    let error = run(config, &request()).await.0.expect_err("500");
    assert!(
        !format!("{error} {error:?}").contains("sk-test-secret"),
        "{error:?}"
    );
}
