//! The plugin runs tasks against the real server: a task from `:OpenHands` with its approvals, edits,
//! panel, transcript, resume and reply; `:OpenHandsStop`; and approvals the server asks with
//! `window/showMessageRequest` (`approval_ui = "editor"`).

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{Home, Nvim, lines, nvim_07, nvim_011, row_of, scenario};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire};

/// What the scripted model does: thinks, plans, runs a command that reads the notes (asked, allowed once),
/// edits the first line (asked, allowed once), and finishes.
pub(super) fn task_script() -> Vec<Reply> {
    vec![
        Reply::Tools {
            text: String::new(),
            calls: vec![
                (
                    "think".into(),
                    json!({"thought": "The notes need one change.\nRead them first, then edit line one."}),
                ),
                (
                    "task_tracker".into(),
                    json!({"command": "plan", "task_list": [
                        {"id": "1", "title": "Read the notes", "status": "in_progress"},
                        {"id": "2", "title": "Edit line one", "status": "todo"}]}),
                ),
            ],
        },
        Reply::Tools {
            text: "Reading the notes.".into(),
            calls: vec![(
                "execute_bash".into(),
                json!({"command": "cat notes.txt && rm -f scratch.txt"}),
            )],
        },
        Reply::Tools {
            text: String::new(),
            calls: vec![(
                "str_replace_editor".into(),
                json!({"command": "str_replace", "path": "notes.txt",
                       "old_str": "first line", "new_str": "first line, edited"}),
            )],
        },
        Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "edited the notes"}))],
        },
        Reply::Tools {
            text: String::new(),
            calls: vec![("finish".into(), json!({"message": "bye"}))],
        },
    ]
}

fn runs_a_task(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(Wire::OpenAi, task_script());
    let home = Home::new();
    let report = scenario(&nvim, &home, "task", &llm.base_url);
    assert_eq!(report["attached"], true, "{v}: the file buffer is attached");
    assert_eq!(
        report["attached_later"], true,
        "{v}: a file opened later is attached"
    );
    assert_eq!(
        report["attached_scratch"], false,
        "{v}: a scratch buffer is not"
    );

    // The selection's file and lines went with the prompt.
    let first = llm
        .requests()
        .first()
        .map(Value::to_string)
        .unwrap_or_default();
    assert!(
        first.contains("notes.txt, lines 1-2)"),
        "{v}: the range is not in the prompt: {first}"
    );

    // The edit is in the buffer, unsaved, on top of the line the user typed.
    assert_eq!(
        report["lines"],
        json!(["first line, edited", "unsaved line"]),
        "{v}"
    );
    assert_eq!(report["modified"], true, "{v}: the buffer is left unsaved");

    // Two approvals through vim.ui.select, each shown with its command or diff first.
    let selects = report["selects"].as_array().unwrap();
    let approvals: Vec<&Value> = selects
        .iter()
        .filter(|s| s["kind"] == "openhands.approval")
        .collect();
    assert_eq!(approvals.len(), 2, "{v}: {selects:#?}");
    for a in &approvals {
        assert_eq!(
            a["items"],
            json!(["Allow once", "Allow for this conversation", "Reject"]),
            "{v}"
        );
    }
    let prompt = approvals[0]["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("OpenHands wants to run: $ cat notes.txt && rm -f scratch.txt"),
        "{v}: {prompt}"
    );
    let shown = lines(&approvals[0]["panel"]);
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("? Approve $ cat notes.txt && rm -f scratch.txt")),
        "{v}: the command is not in the panel when asked:\n{}",
        shown.join("\n")
    );
    let prompt = approvals[1]["prompt"].as_str().unwrap();
    assert!(prompt.contains("notes.txt"), "{v}: {prompt}");
    let shown = lines(&approvals[1]["panel"]);
    for l in ["  -first line", "  +first line, edited"] {
        assert!(
            shown.iter().any(|s| s == l),
            "{v}: the diff is not in the panel when asked ({l:?}):\n{}",
            shown.join("\n")
        );
    }

    // The panel holds the rendered conversation.
    let panel = lines(&report["panel"]);
    let text = panel.join("\n");
    assert!(
        text.contains("You: edit the first line of notes.txt"),
        "{v}:\n{text}"
    );
    assert!(
        panel.iter().any(|l| l == "Reading the notes."),
        "{v}:\n{text}"
    );
    let thought = row_of(&panel, "Thought: The notes need one change.");
    let command = row_of(&panel, "✓ $ cat notes.txt && rm -f scratch.txt (exit 0)");
    // The command's output follows it, with at most its approval between: the server may send the approval
    // before the call it is about (then the approval shows the command itself) or after it (then it does not).
    // `output`: the 0-based index of the output's first line (`command` is a 1-based row).
    let output = command
        + panel[command..]
            .iter()
            .position(|l| l == "  first line")
            .unwrap_or_else(|| panic!("{v}: no output below the command:\n{text}"));
    let approval = "? Approve $ cat notes.txt && rm -f scratch.txt (every action is confirmed (approvals: always))  [#a1]";
    assert!(
        panel[command..output]
            .iter()
            .all(|l| l.is_empty() || l == approval || l == "  → #a1 allowed once"),
        "{v}: only the approval may come between the command and its output:\n{text}"
    );
    assert_eq!(
        panel[output + 1],
        "  unsaved line",
        "{v}: the agent read the unsaved text:\n{text}"
    );
    let answered = row_of(&panel, approval);
    assert!(
        panel[answered..]
            .iter()
            .take_while(|l| !l.is_empty())
            .any(|l| l == "  → #a1 allowed once"),
        "{v}: the answer is in the approval's block:\n{text}"
    );
    for l in [
        "Plan:",
        "  [~] Read the notes",
        "  [ ] Edit line one",
        "  -first line",
        "  +first line, edited",
    ] {
        row_of(&panel, l);
    }
    assert!(
        panel.iter().any(|l| l.starts_with("── usage: ")),
        "{v}:\n{text}"
    );
    assert!(
        panel.iter().any(|l| l.starts_with("── OpenHands finished")),
        "{v}:\n{text}"
    );

    // Thought and command output are folded in the panel's window.
    assert_eq!(report["panel_open"], true, "{v}");
    let folds: Vec<(usize, usize)> = report["closed_folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f[0].as_u64().unwrap() as usize,
                f[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert!(
        folds.contains(&(thought, thought + 1)),
        "{v}: {folds:?}\n{text}"
    );
    assert!(
        folds.contains(&(output + 1, output + 2)),
        "{v}: the output is not folded: {folds:?}\n{text}"
    );

    // Diff lines carry the diff highlights.
    let hl = |row: usize| -> Vec<String> {
        report["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h[0].as_u64() == Some(row as u64))
            .map(|h| h[1].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        hl(row_of(&panel, "  -first line")).contains(&"OpenHandsDiffDelete".to_owned()),
        "{v}"
    );
    assert!(
        hl(row_of(&panel, "  +first line, edited")).contains(&"OpenHandsDiffAdd".to_owned()),
        "{v}"
    );

    assert!(
        report["statusline"]
            .as_str()
            .unwrap()
            .starts_with("OpenHands: finished"),
        "{v}: {}",
        report["statusline"]
    );
    assert_eq!(
        report["log_window"], "openhands://log",
        "{v}: :OpenHandsLog"
    );
    let log = lines(&report["log"]).join("\n");
    assert!(
        log.contains("approval #a1"),
        "{v}: the log holds the server's messages:\n{log}"
    );

    let transcript = PathBuf::from(report["transcript"].as_str().unwrap());
    assert_eq!(
        transcript.parent(),
        Some(home.ws().join(".openhands/transcripts").as_path()),
        "{v}"
    );
    assert!(transcript.exists(), "{v}: {}", transcript.display());

    // :OpenHandsResume picked the conversation and replayed it from the stored history.
    assert_eq!(report["replayed"], true, "{v}: {report:#}");
    let replayed = lines(&report["panel_after_resume"]);
    for l in [
        "  -first line",
        "  +first line, edited",
        "Reading the notes.",
    ] {
        row_of(&replayed, l);
    }
}

#[test]
fn nvim_07_runs_a_task_in_the_panel() {
    runs_a_task(nvim_07());
}

#[test]
fn nvim_011_runs_a_task_in_the_panel() {
    runs_a_task(nvim_011());
}

fn stops_a_task(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![Reply::Tools {
            text: String::new(),
            calls: vec![("execute_bash".into(), json!({"command": "sleep 30"}))],
        }],
    );
    let home = Home::new();
    let report = scenario(&nvim, &home, "stop", &llm.base_url);
    assert_eq!(report["running"], true, "{v}: {report:#}");
    assert_eq!(report["stopped"], true, "{v}: {report:#}");
    assert!(
        report["stop_ms"].as_u64().unwrap() < 10_000,
        "{v}: {}",
        report["stop_ms"]
    );
    let panel = lines(&report["panel"]);
    assert!(
        panel.iter().any(|l| l == "── OpenHands: task cancelled"),
        "{v}:\n{}",
        panel.join("\n")
    );
}

#[test]
fn nvim_07_stops_a_task() {
    stops_a_task(nvim_07());
}

#[test]
fn nvim_011_stops_a_task() {
    stops_a_task(nvim_011());
}

/// `approval_ui = "editor"`: the server's `window/showMessageRequest` is asked through `vim.ui.select` too.
fn editor_approval(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: String::new(),
                calls: vec![("execute_bash".into(), json!({"command": "rm -f gone.txt"}))],
            },
            Reply::Tools {
                text: String::new(),
                calls: vec![("finish".into(), json!({"message": "cleaned"}))],
            },
        ],
    );
    let home = Home::new();
    std::fs::write(home.ws().join("gone.txt"), "x").unwrap();
    let report = scenario(&nvim, &home, "editor_approval", &llm.base_url);
    assert_eq!(report["finished"], true, "{v}: {report:#}");
    assert_eq!(
        report["selects"],
        json!([{
            "items": ["Allow once", "Allow for this conversation", "Reject"],
            "prompt": "OpenHands wants to run: $ rm -f gone.txt (it deletes files)",
            "kind": "openhands.approval",
        }]),
        "{v}"
    );
    let panel = lines(&report["panel"]);
    for l in [
        "? Approve $ rm -f gone.txt (it deletes files)  [#a1]",
        "  → #a1 allowed once",
    ] {
        row_of(&panel, l);
    }
    assert!(
        !home.ws().join("gone.txt").exists(),
        "{v}: the allowed command ran"
    );
}

#[test]
fn nvim_07_answers_the_editor_approval_request() {
    editor_approval(nvim_07());
}

#[test]
fn nvim_011_answers_the_editor_approval_request() {
    editor_approval(nvim_011());
}
