//! What an editor panel relies on (the VS Code extension and the Neovim plugin): approvals answered by the
//! client itself with the command or the edit's diff in view, task states, and the editor fixes found when
//! real editors were tried as a new user would (Helix, Neovim 0.7).

use serde_json::{Value, json};

use super::super::scripted_llm::{ScriptedLlm, Wire, tool};
use super::{Editor, method, says};

fn start(ed: &mut Editor, prompt: &str) -> String {
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": [prompt]}),
    );
    r["result"]["conversationId"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

fn respond(ed: &mut Editor, id: &str, answer: &str) {
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.approval.respond", "arguments": [id, answer]}),
    );
    assert_eq!(r["result"]["answered"], true, "{r}");
}

/// With `approvalUi: "client"` the panel gets each approval as `openhands/approvalRequest` (the command, or
/// the whole file's diff), answers it with `openhands.approval.respond`, and hears `approvalResolved`; no
/// `showMessageRequest` pops up as well. Task states arrive in order, and the transcript records the answers.
#[test]
fn a_panel_answers_approvals_itself_and_follows_the_task_state() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "rm a.txt"})),
            tool(
                "str_replace_editor",
                json!({"command": "str_replace", "path": "app.py", "old_str": "y = 2", "new_str": "y = 3"}),
            ),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), "a").unwrap();
    std::fs::write(ed.ws.join("app.py"), "x = 1\ny = 2\n").unwrap();
    ed.initialize_with(
        false,
        json!({"openhands": {"ui": "rich", "approvalUi": "client", "approvals": "always"}}),
    );
    let conversation = start(&mut ed, "clean up and change y");
    let first = ed.wait_for("the first approval", |m| {
        method(m) == "openhands/approvalRequest"
    });
    let p = &first["params"];
    assert_eq!(p["approvalId"], "a1");
    assert_eq!(p["conversationId"], json!(conversation));
    assert_eq!(p["kind"], "execute");
    assert_eq!(p["command"], "rm a.txt");
    assert_eq!(p["title"], "$ rm a.txt");
    assert_eq!(p["reason"], "every action is confirmed (approvals: always)");
    assert!(p["toolCallId"].as_str().unwrap().starts_with("call_"));
    respond(&mut ed, "a1", "reject");
    let second = ed.wait_for("the edit's approval", |m| {
        method(m) == "openhands/approvalRequest"
    });
    assert_eq!(
        second["params"]["diff"],
        json!({"path": "app.py", "oldText": "x = 1\ny = 2\n", "newText": "x = 1\ny = 3\n"})
    );
    respond(&mut ed, "a2", "allow_once");
    ed.wait_for("the end", |m| {
        method(m) == "openhands/taskState" && m["params"]["state"] == "finished"
    });
    assert!(
        !ed.seen
            .iter()
            .any(|m| method(m) == "window/showMessageRequest"),
        "no popup beside the panel"
    );
    // A panel never hears of an approval, or an update, for a tool call it was not shown first.
    let mut shown = std::collections::HashSet::new();
    for m in &ed.seen {
        let update = &m["params"]["update"];
        match (method(m), update["sessionUpdate"].as_str()) {
            ("openhands/sessionUpdate", Some("tool_call")) => {
                shown.insert(update["toolCallId"].as_str().unwrap().to_owned());
            }
            ("openhands/sessionUpdate", Some("tool_call_update")) => assert!(
                shown.contains(update["toolCallId"].as_str().unwrap()),
                "an update for an unknown call: {m}"
            ),
            ("openhands/approvalRequest", _) => assert!(
                shown.contains(m["params"]["toolCallId"].as_str().unwrap()),
                "an approval before its call: {m}"
            ),
            _ => {}
        }
    }
    let resolved: Vec<&Value> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "openhands/approvalResolved")
        .map(|m| &m["params"]["decision"])
        .collect();
    assert_eq!(resolved, [&json!("reject"), &json!("allow_once")]);
    assert!(ed.ws.join("a.txt").exists(), "the rejected rm did not run");
    assert_eq!(
        std::fs::read_to_string(ed.ws.join("app.py")).unwrap(),
        "x = 1\ny = 3\n"
    );
    let states: Vec<&str> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "openhands/taskState")
        .map(|m| m["params"]["state"].as_str().unwrap())
        .collect();
    let mut distinct = states.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        [
            "starting",
            "running",
            "awaiting_approval",
            "running",
            "awaiting_approval",
            "running",
            "finished"
        ],
        "{states:?}"
    );
    let last = ed
        .seen
        .iter()
        .rfind(|m| method(m) == "openhands/taskState")
        .unwrap();
    assert_eq!(last["params"]["step"], 3);
    assert_eq!(last["params"]["maxIterations"], 100);
    assert_eq!(last["params"]["message"], "OpenHands finished: done");
    // A panel shows the outcome itself: no popup for a finished task.
    assert!(
        !ed.seen
            .iter()
            .any(|m| says(m, "window/showMessage", "finished"))
    );
    let transcript = std::fs::read_to_string(
        ed.ws
            .join(".openhands/transcripts")
            .join(format!("{conversation}.md")),
    )
    .unwrap();
    assert!(
        transcript.contains("> **Approval #a1**: $ rm a.txt (every action is confirmed (approvals: always)): rejected by the user"),
        "{transcript}"
    );
    assert!(
        transcript.contains("[not run] Action has been rejected by the user!"),
        "{transcript}"
    );
    assert!(transcript.contains("allowed once"), "{transcript}");
    assert_eq!(
        std::fs::read_to_string(ed.ws.join(".openhands/transcripts/.gitignore")).unwrap(),
        "# Written by openhands-lsp: the agent's transcripts, not part of the project.\n*\n"
    );
    ed.shutdown();
}

/// Helix shows a command's error only in its log, and cannot open a document for the server: both are said
/// in a message it shows. Settings with a wrong value are named.
#[test]
fn helix_sees_command_errors_and_where_the_transcript_is() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![tool("finish", json!({"message": "done"}))],
    );
    let mut ed = Editor::start(&llm);
    ed.initialize_as(
        "helix",
        false,
        true,
        json!({"openhands": {"approvalUi": "panel", "editTimeoutSeconds": -1}}),
    );
    let problems = ed.wait_for("the settings problems", |m| {
        says(m, "window/showMessage", "OpenHands settings")
    });
    let text = problems["params"]["message"].as_str().unwrap();
    assert!(
        text.contains("openhands.approvalUi must be \"editor\" or \"client\", got \"panel\"")
            && text.contains("openhands.editTimeoutSeconds must be a positive number of seconds"),
        "{text}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": []}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs a prompt")
    );
    // It may arrive before the answer.
    let shown = ed.seen_or_wait_for("the error where Helix shows it", |m| {
        says(
            m,
            "window/showMessage",
            "OpenHands: openhands.task.start needs a prompt",
        )
    });
    assert_eq!(shown["params"]["type"], 1);
    let conversation = start(&mut ed, "anything");
    ed.wait_for("the end", |m| {
        says(m, "window/showMessage", "OpenHands finished")
    });
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.transcript.open", "arguments": []}),
    );
    assert!(r["result"]["uri"].is_string(), "{r}");
    let path = ed
        .ws
        .join(".openhands/transcripts")
        .join(format!("{conversation}.md"));
    ed.seen_or_wait_for("where the transcript is", |m| {
        says(
            m,
            "window/showMessage",
            &format!("OpenHands transcript: {}", path.display()),
        )
    });
    assert!(
        !ed.seen.iter().any(|m| method(m) == "window/showDocument"),
        "never asked of an editor without it"
    );
    // The progress carries no percentage: step/limit read 6 % for a finished task in Helix.
    assert!(
        ed.seen
            .iter()
            .filter(|m| method(m) == "$/progress")
            .all(|m| m["params"]["value"].get("percentage").is_none()),
        "{:?}",
        ed.seen
    );
    ed.shutdown();
}

/// Neovim prints an edit's label as a message ("Workspace edit ..."), which stacked with others into a
/// hit-enter prompt (found in Neovim 0.7 in tmux): it gets edits without one; other editors keep it.
#[test]
fn neovim_gets_edits_without_a_label() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool(
                "str_replace_editor",
                json!({"command": "str_replace", "path": "app.py", "old_str": "y = 2", "new_str": "y = 3"}),
            ),
            tool("finish", json!({"message": "done"})),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("app.py"), "x = 1\ny = 2\n").unwrap();
    ed.initialize_as("Neovim", true, false, json!(null));
    let uri = ed.open("app.py", "x = 1\ny = 2\n");
    start(&mut ed, "change y");
    ed.wait_for("the end", |m| {
        says(m, "window/showMessage", "OpenHands finished")
    });
    let edit = ed
        .seen
        .iter()
        .find(|m| method(m) == "workspace/applyEdit")
        .expect("an edit");
    assert!(edit["params"].get("label").is_none(), "{edit}");
    assert_eq!(ed.buffer(&uri), "x = 1\ny = 3\n");
    ed.shutdown();
}
