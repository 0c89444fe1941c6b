//! Malformed input on the real stdio transport: each bad frame gets a warning, the stream resynchronises and
//! the server keeps answering; `$/` requests are answered; `exit` without `shutdown` exits with 1.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use super::super::scripted_llm::{ScriptedLlm, Wire};
use super::{Editor, says};

fn status_answers(ed: &mut Editor) {
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    assert_eq!(r["result"]["tasks"], json!([]), "{r}");
}

fn exit_status(ed: &mut Editor) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(status)) = ed.child.try_wait() {
            return status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_malformed_frame_is_reported_and_the_server_keeps_answering() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let cases: Vec<(&[u8], &str)> = vec![
        (b"Content-Length: abc\r\n\r\n{\"x\":1}", "not a byte count"),
        (b"Content-Length: -5\r\n\r\n{}", "not a byte count"),
        (b"Content-Type: application/json\r\n\r\n{\"a\":1}", "without a Content-Length"),
        (
            b"Content-Length: 10\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}",
            "not JSON",
        ),
        (b"Content-Length: 2\xff\xfe\r\n\r\n{}", "not a byte count"),
        (b"Content-Length: 7\r\n\r\n[1,2,3]", "batch"),
        (b"Content-Length: 5\r\n\r\n\"abc\"", "not a message object"),
        (
            b"Content-Length: 45\r\n\r\n[{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"},{}]",
            "batch",
        ),
        (b"Content-Length: 9\r\n\r\n{\"id\":{}}", "not a JSON-RPC 2.0"),
    ];
    for (bytes, warning) in cases {
        ed.stdin.write_all(bytes).unwrap();
        ed.stdin.flush().unwrap();
        ed.wait_for(warning, |m| {
            says(m, "window/logMessage", "malformed message")
                && says(m, "window/logMessage", warning)
        });
        status_answers(&mut ed);
    }
    ed.shutdown();
}

#[test]
fn unknown_dollar_requests_get_method_not_found() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let r = ed.request("$/openhands/nothing", json!({}));
    assert_eq!(r["error"]["code"], json!(-32601), "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$/openhands/nothing"),
        "{r}"
    );
    // A `$/` notification the server does not know is ignored, as the spec allows.
    ed.notify("$/unknownNotification", json!({}));
    status_answers(&mut ed);
    ed.shutdown();
}

#[test]
fn exit_without_shutdown_exits_with_status_1() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    ed.notify("exit", json!(null));
    assert_eq!(exit_status(&mut ed).code(), Some(1));
}

#[test]
fn task_start_refuses_arguments_of_the_wrong_type() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    for (arg, error) in [
        (json!({"prompt": "x", "uri": 42}), "`uri` must be a string"),
        (
            json!({"prompt": "x", "uri": "file:///a", "range": "1-2"}),
            "`range` must be",
        ),
        (
            json!({"prompt": "x", "uri": "file:///a", "range": {"start": {"line": "a"}}}),
            "`range` must be",
        ),
        (
            json!({"prompt": "x", "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}}),
            "`range` needs the `uri`",
        ),
        (
            json!({"prompt": "x", "promt": "typo"}),
            "does not know `promt`",
        ),
    ] {
        let r = ed.request(
            "workspace/executeCommand",
            json!({"command": "openhands.task.start", "arguments": [arg]}),
        );
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(error), "{arg}: {r}");
    }
    status_answers(&mut ed);
    ed.shutdown();
}
