//! The Neovim review list (`:OpenHandsChanges`) against the real server and runtime: a task edits an open
//! buffer and a closed file; the list shows both with their counts, `<CR>` shows a diff, `r` reverts the closed
//! file on disk, a revert over the user's own edit is refused with the server's message, `k` keeps; the next
//! task's changes replace the list by themselves and `R` reverts the open buffer through the editor.

use serde_json::json;

use super::{Home, Nvim, lines, nvim_07, nvim_011, scenario};
use crate::scripted_llm::{Reply, ScriptedLlm, Wire, tool};

fn script() -> Vec<Reply> {
    vec![
        tool(
            "str_replace_editor",
            json!({"command": "str_replace", "path": "notes.txt",
                   "old_str": "first line", "new_str": "first line, edited"}),
        ),
        tool(
            "str_replace_editor",
            json!({"command": "str_replace", "path": "b.txt", "old_str": "two", "new_str": "2\n3\n4"}),
        ),
        tool("finish", json!({"message": "edited two files"})),
        tool(
            "str_replace_editor",
            json!({"command": "str_replace", "path": "b.txt", "old_str": "one", "new_str": "one!"}),
        ),
        tool("finish", json!({"message": "changed b"})),
    ]
}

fn reviews_changes(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(Wire::OpenAi, script());
    let home = Home::new();
    std::fs::write(home.ws().join("b.txt"), "one\ntwo\n").unwrap();
    let report = scenario(&nvim, &home, "changes", &llm.base_url);
    let text = |k: &str| lines(&report[k]).join("\n");

    assert_eq!(report["loaded"], true, "{v}: {report:#}");
    let list = lines(&report["list"]);
    assert!(
        list[0].starts_with("OpenHands: 2 file(s) changed by t1"),
        "{v}:\n{}",
        list.join("\n")
    );
    let files: Vec<&String> = list.iter().filter(|l| l.starts_with("M ")).collect();
    assert_eq!(
        files,
        ["M b.txt      +3 −1", "M notes.txt  +1 −1"],
        "{v}:\n{}",
        list.join("\n")
    );

    // <CR>: the file's diff, read-only.
    assert_eq!(report["diff_name"], "openhands://diff/b.txt", "{v}");
    let diff = lines(&report["diff"]);
    for l in ["-two", "+2", "+3", "+4"] {
        assert!(
            diff.iter().any(|d| d == l),
            "{v}: no {l:?} in\n{}",
            diff.join("\n")
        );
    }
    assert!(
        !diff.iter().any(|d| d.contains("notes.txt")),
        "{v}: {diff:?}"
    );
    assert_eq!(report["diff_modifiable"], false, "{v}");
    assert_eq!(report["diff_filetype"], "diff", "{v}");
    assert_eq!(
        report["diff_buffers"],
        json!(["openhands://diff/b.txt"]),
        "{v}: one diff, however many ways it was shown"
    );

    // r on the closed file: restored on disk, and the list says so.
    assert_eq!(
        report["reverted"],
        true,
        "{v}:\n{}",
        text("list_after_revert")
    );
    assert!(
        lines(&report["list_after_revert"]).contains(&"M b.txt      +3 −1  reverted".to_owned()),
        "{v}:\n{}",
        text("list_after_revert")
    );
    assert!(
        text("list_after_revert").contains("OpenHands reverted 1 file(s)"),
        "{v}:\n{}",
        text("list_after_revert")
    );
    assert_eq!(report["b_disk"], json!(["one", "two"]), "{v}");

    // The user's edit of the same line: refused, the server's reason shown, the buffer untouched.
    assert_eq!(
        report["refused"],
        true,
        "{v}:\n{}",
        text("list_after_refusal")
    );
    let refusal = text("list_after_refusal");
    assert!(
        refusal.contains("OpenHands: NOT reverted: ") && refusal.contains("notes.txt"),
        "{v}:\n{refusal}"
    );
    assert_eq!(
        report["notes_after_refusal"],
        json!(["first line, edited by me"]),
        "{v}"
    );

    // k keeps it.
    assert_eq!(report["kept"], true, "{v}:\n{}", text("list_after_keep"));
    assert!(
        lines(&report["list_after_keep"]).contains(&"M notes.txt  +1 −1  kept".to_owned()),
        "{v}:\n{}",
        text("list_after_keep")
    );

    // The next task: the list follows it by itself; R reverts the open buffer through the editor.
    assert_eq!(report["b_buffer"], json!(["one", "two"]), "{v}");
    assert_eq!(report["followed"], true, "{v}:\n{}", text("list_second"));
    assert_eq!(report["b_buffer_second"], json!(["one!", "two"]), "{v}");
    assert_eq!(
        report["reverted_all"],
        true,
        "{v}:\n{}",
        text("list_after_revert_all")
    );
    assert!(
        lines(&report["list_after_revert_all"]).contains(&"M b.txt  +1 −1  reverted".to_owned()),
        "{v}:\n{}",
        text("list_after_revert_all")
    );
    assert_eq!(report["b_buffer_after"], json!(["one", "two"]), "{v}");
    assert_eq!(report["b_disk_after"], json!(["one", "two"]), "{v}");

    // openhands.task.diff by itself (as a code action runs it): 0.11 opens what the server shows.
    let mut want = vec!["openhands://diff/b.txt"];
    if v.contains("v0.11") {
        want.push("openhands://diff/notes.txt");
    }
    assert_eq!(report["diff_buffers_after_command"], json!(want), "{v}");
}

#[test]
fn nvim_07_reviews_a_tasks_changes() {
    reviews_changes(nvim_07());
}

#[test]
fn nvim_011_reviews_a_tasks_changes() {
    reviews_changes(nvim_011());
}
