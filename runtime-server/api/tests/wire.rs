//! Round-trips every example OpenHands serialized through our types and compares whole JSON values.

use openhands_runtime_api::{
    Action, ActionEvent, CmdOutputMetadata, CmdRunAction, Observation, TRUNCATION_MARKER,
    truncate_cmd_output,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// (title, JSON) pairs from OpenHands' own serializer.
fn examples() -> Vec<(String, Value)> {
    let text = include_str!("data/openhands-serialized-examples.txt");
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(title) = lines.next() {
        if title.trim().is_empty() || title.starts_with("from ") {
            continue;
        }
        let mut body = String::new();
        for line in lines.by_ref() {
            body.push_str(line);
            body.push('\n');
            if line == "}" {
                break;
            }
        }
        out.push((title.to_owned(), serde_json::from_str(&body).unwrap()));
    }
    out
}

#[test]
fn every_openhands_example_round_trips_byte_for_byte() {
    let all = examples();
    assert!(all.len() >= 20, "parsed only {} examples", all.len());
    for (title, value) in all {
        let again = if value.get("action").is_some() {
            ActionEvent::from_value(&value).unwrap().to_value()
        } else {
            Observation::from_value(&value).unwrap().to_value()
        };
        // Key order matters to byte-level compatibility: compare the serialized text.
        assert_eq!(
            serde_json::to_string_pretty(&again).unwrap(),
            serde_json::to_string_pretty(&value).unwrap(),
            "{title}"
        );
    }
}

#[test]
fn minimal_run_action_gets_openhands_defaults() {
    let ev = ActionEvent::from_value(&json!({"action": "run", "args": {"command": "ls"}})).unwrap();
    assert_eq!(ev.timeout, None);
    assert_eq!(ev.message, "Running command: ls");
    assert_eq!(ev.action, Action::Run(CmdRunAction::new("ls")));
    let ev = ActionEvent::from_value(
        &json!({"action": "run", "args": {"command": "ls", "blocking": true}, "timeout": 5}),
    )
    .unwrap();
    assert_eq!(ev.timeout, Some(5.0));
}

#[test]
fn decode_errors_name_the_problem() {
    let err = |v: Value| ActionEvent::from_value(&v).unwrap_err().to_string();
    assert_eq!(
        err(json!({"action": "run", "args": {}})),
        "wrong arguments for action 'run': missing field `command`"
    );
    assert_eq!(
        err(json!({"action": "run", "args": {"command": "ls", "is_input": "yes"}})),
        "wrong arguments for action 'run': `is_input`: invalid type: string \"yes\", expected a boolean"
    );
    assert!(
        err(json!({"action": "nope"}))
            .starts_with("unknown action type 'nope'; known types: message,")
    );
    assert_eq!(
        err(json!({"args": {}})),
        "`action.action` is missing: it names the action type, e.g. \"run\""
    );
    assert_eq!(err(json!([1])), "`action` must be a JSON object");
}

#[test]
fn legacy_keys_are_accepted() {
    let ev = ActionEvent::from_value(&json!({
        "action": "run",
        "args": {"command": "ls", "timestamp": "x", "keep_prompt": false, "security_risk": "HIGH"}
    }))
    .unwrap();
    assert_eq!(ev.action, Action::Run(CmdRunAction::new("ls")));
}

#[test]
fn run_output_is_cut_to_head_and_tail() {
    let long: String = (0..40_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let cut = truncate_cmd_output(long.clone());
    assert_eq!(
        cut.chars().count(),
        30_000 + TRUNCATION_MARKER.chars().count()
    );
    assert!(cut.starts_with(&long[..15_000]));
    assert!(cut.ends_with(&long[25_000..]));
    let hidden =
        Observation::cmd_output(long.clone(), "x".into(), CmdOutputMetadata::default(), true);
    assert_eq!(hidden.content, long);
    // Multi-byte characters are counted as characters, as Python does.
    let wide = "é".repeat(30_001);
    assert_eq!(
        truncate_cmd_output(wide).chars().count(),
        30_000 + TRUNCATION_MARKER.chars().count()
    );
}
