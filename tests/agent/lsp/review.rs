//! Checkpoints, rewind and review in the editor: a real runtime, real git, the LSP over its transport; the
//! files, the buffers and the conversation must end exactly where the user asked, and nothing may be lost.

use serde_json::{Value, json};

use super::super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};
use super::{Editor, says, sleeping_task};

fn finish(text: &str) -> Reply {
    tool("finish", json!({"message": text}))
}

fn str_replace(path: &str, old: &str, new: &str) -> Reply {
    tool(
        "str_replace_editor",
        json!({"command": "str_replace", "path": path, "old_str": old, "new_str": new}),
    )
}

fn command(ed: &mut Editor, name: &str, args: Value) -> Value {
    ed.request(
        "workspace/executeCommand",
        json!({"command": name, "arguments": [args]}),
    )
}

fn start(ed: &mut Editor, args: Value) -> (String, String) {
    let r = command(ed, "openhands.task.start", args);
    (
        r["result"]["taskId"]
            .as_str()
            .expect("a task id")
            .to_owned(),
        r["result"]["conversationId"].as_str().unwrap().to_owned(),
    )
}

fn wait_finished(ed: &mut Editor, text: &str) {
    let text = text.to_owned();
    ed.wait_for("the task's end", move |m| {
        says(
            m,
            "window/showMessage",
            &format!("OpenHands finished: {text}"),
        )
    });
}

/// An editor whose workspace has `a.txt` (`a`, with a line `two`) and `b.txt`, and a model that edits both
/// and finishes with "both".
fn two_edits(a: &str) -> (ScriptedLlm, Editor) {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("a.txt", "two", "TWO"),
            str_replace("b.txt", "beta", "BETA"),
            finish("both"),
        ],
    );
    let ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), a).unwrap();
    std::fs::write(ed.ws.join("b.txt"), "alpha\nbeta\n").unwrap();
    (llm, ed)
}

fn read(ed: &Editor, name: &str) -> Option<String> {
    std::fs::read_to_string(ed.ws.join(name)).ok()
}

#[test]
fn ten_edits_over_open_and_closed_files_rewound_to_step_three() {
    // a.txt and c.txt are open (their edits live in the buffers), b.txt is closed (edited on disk), and the
    // last step creates d.txt.
    let mut script = Vec::new();
    for round in 1..=3 {
        for f in ["a", "b", "c"] {
            script.push(str_replace(
                &format!("{f}.txt"),
                &format!("{f}-v{}", round - 1),
                &format!("{f}-v{round}"),
            ));
        }
    }
    script.push(tool(
        "str_replace_editor",
        json!({"command": "create", "path": "d.txt", "file_text": "new\n"}),
    ));
    script.push(finish("ten edits"));
    script.push(finish("continued after the rewind"));
    let llm = ScriptedLlm::start(Wire::OpenAi, script);
    let mut ed = Editor::start(&llm);
    for f in ["a", "b", "c"] {
        std::fs::write(ed.ws.join(format!("{f}.txt")), format!("{f}-v0\n")).unwrap();
    }
    ed.initialize(false);
    let a = ed.open("a.txt", "a-v0\n");
    let c = ed.open("c.txt", "c-v0\n");
    let (_, conversation) = start(&mut ed, json!("edit everything"));
    wait_finished(&mut ed, "ten edits");
    assert_eq!(ed.buffer(&a), "a-v3\n");
    assert_eq!(ed.buffer(&c), "c-v3\n");
    assert_eq!(read(&ed, "b.txt").as_deref(), Some("b-v3\n"));
    assert_eq!(read(&ed, "d.txt").as_deref(), Some("new\n"));

    let list = command(
        &mut ed,
        "openhands.checkpoint.list",
        json!({"conversationId": conversation}),
    );
    let steps = list["result"]["steps"].as_array().expect("steps").clone();
    assert_eq!(steps.len(), 10, "one checkpoint per edit: {list}");
    // Rewinding to the fourth step puts everything back as the third step left it.
    let fourth = steps[3]["eventId"].as_i64().unwrap();
    let r = command(
        &mut ed,
        "openhands.checkpoint.restore",
        json!({"conversationId": conversation, "eventId": fourth}),
    );
    assert_eq!(r["result"]["started"], true, "{r}");
    ed.wait_for("the rewind's report", |m| {
        says(m, "window/logMessage", "OpenHands rewound conversation")
    });
    assert_eq!(ed.buffer(&a), "a-v1\n");
    assert_eq!(ed.buffer(&c), "c-v1\n");
    assert_eq!(read(&ed, "b.txt").as_deref(), Some("b-v1\n"));
    assert_eq!(
        read(&ed, "d.txt"),
        None,
        "the file the last step created is gone"
    );
    // Open files on disk keep what the user saved; the restored text is in their buffers.
    assert_eq!(read(&ed, "a.txt").as_deref(), Some("a-v0\n"));
    assert!(
        !ed.ws.join(".git").exists(),
        "the workspace did not become a repository"
    );

    // The conversation continues from there: the agent reads the rewind, not the undone steps.
    let after = command(
        &mut ed,
        "openhands.checkpoint.list",
        json!({"conversationId": conversation}),
    );
    assert_eq!(
        after["result"]["steps"].as_array().unwrap().len(),
        3,
        "{after}"
    );
    start(
        &mut ed,
        json!({"prompt": "go on", "conversationId": conversation}),
    );
    wait_finished(&mut ed, "continued after the rewind");
    let last = llm.requests().last().unwrap().to_string();
    assert!(last.contains("[Rewind]"), "{last}");
    assert!(last.contains("a-v1") && !last.contains("a-v2"), "{last}");
    // Nothing was lost: the whole log before the cut is kept as a branch.
    let branches = ed
        .ws
        .parent()
        .unwrap()
        .join("data/conversations")
        .join(&conversation)
        .join("branches");
    let kept: Vec<_> = std::fs::read_dir(&branches)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(kept.len(), 1);
    let log = std::fs::read_to_string(kept[0].path()).unwrap();
    assert!(log.contains("a-v2") && log.contains("d.txt"));
    ed.shutdown();
}

#[test]
fn one_file_of_a_finished_task_is_reverted_while_the_user_typed_in_another() {
    let (_llm, mut ed) = two_edits("one\ntwo\nthree\n");
    ed.initialize(false);
    let a = ed.open("a.txt", "one\ntwo\nthree\n");
    let (task, _) = start(&mut ed, json!("shout"));
    wait_finished(&mut ed, "both");
    let changes = command(&mut ed, "openhands.task.changes", json!({"taskId": task}));
    let files = &changes["result"]["files"];
    assert_eq!(
        files,
        &json!([
            {"path": "a.txt", "status": "modified", "added": 1, "removed": 1, "binary": false, "settled": null},
            {"path": "b.txt", "status": "modified", "added": 1, "removed": 1, "binary": false, "settled": null},
        ]),
        "{changes}"
    );
    // Editors without a panel get the review as code actions on a changed file.
    let titles = |ed: &mut Editor, uri: &str| -> Vec<String> {
        let r = ed.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                   "context": {"diagnostics": []}}),
        );
        r["result"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["title"].as_str())
            .filter(|t| t.contains("changes to") || t.contains("diff of"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        titles(&mut ed, &a),
        [
            format!("OpenHands: keep task {task}'s changes to a.txt"),
            format!("OpenHands: revert task {task}'s changes to a.txt"),
            format!("OpenHands: show task {task}'s diff of a.txt"),
        ]
    );
    // The user types in a.txt after the task; reverting b.txt leaves that alone.
    ed.type_text(&a, "one\nTWO\nthree\nmine\n".into());
    let r = command(
        &mut ed,
        "openhands.task.revert",
        json!({"taskId": task, "file": "b.txt"}),
    );
    assert_eq!(r["result"]["reverting"], json!(["b.txt"]), "{r}");
    ed.wait_for("the revert's report", |m| {
        says(m, "window/logMessage", "OpenHands reverted 1 file(s)")
    });
    assert_eq!(read(&ed, "b.txt").as_deref(), Some("alpha\nbeta\n"));
    assert_eq!(ed.buffer(&a), "one\nTWO\nthree\nmine\n");
    // Reverting a.txt undoes only the agent's line; the user's line stays (a three-way merge).
    command(
        &mut ed,
        "openhands.task.revert",
        json!({"taskId": task, "file": "a.txt"}),
    );
    ed.wait_for("the second revert", |m| {
        says(m, "window/logMessage", "reverted 1 file(s) of the task")
            && m["params"]["message"].as_str().unwrap().contains("a.txt")
    });
    assert_eq!(ed.buffer(&a), "one\ntwo\nthree\nmine\n");
    assert!(
        titles(&mut ed, &a).is_empty(),
        "a settled file offers no review"
    );
    let changes = command(&mut ed, "openhands.task.changes", json!({"taskId": task}));
    let settled: Vec<&Value> = changes["result"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["settled"])
        .collect();
    assert_eq!(settled, [&json!("reverted"), &json!("reverted")]);
    // The diff of the task is there for a reader, whole or per file.
    let diff = command(
        &mut ed,
        "openhands.task.diff",
        json!({"taskId": task, "file": "b.txt"}),
    );
    let text = diff["result"]["diff"].as_str().unwrap();
    assert!(text.contains("-beta\n+BETA"), "{text}");
    assert!(!text.contains("a.txt"), "{text}");
    ed.shutdown();
}

#[test]
fn a_revert_over_the_users_change_to_the_same_lines_is_refused_and_changes_nothing() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![str_replace("a.txt", "two", "TWO"), finish("done")],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), "one\ntwo\n").unwrap();
    ed.initialize(false);
    let a = ed.open("a.txt", "one\ntwo\n");
    let (task, _) = start(&mut ed, json!("shout"));
    wait_finished(&mut ed, "done");
    ed.type_text(&a, "one\nTWO and more\n".into());
    let r = command(&mut ed, "openhands.task.revert", json!({"taskId": task}));
    let why = r["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("a.txt was edited since the task"), "{r}");
    assert_eq!(ed.buffer(&a), "one\nTWO and more\n");
    ed.shutdown();
}

#[test]
fn rewinding_while_the_task_runs_is_refused() {
    let (_llm, mut ed, task) = sleeping_task(json!("sleep"));
    let status = command(&mut ed, "openhands.task.status", json!(null));
    let conversation = status["result"]["tasks"][0]["conversationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = command(
        &mut ed,
        "openhands.checkpoint.restore",
        json!({"conversationId": conversation, "eventId": 0}),
    );
    let why = r["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains(&format!("task {task} is running")), "{r}");
    let r = command(&mut ed, "openhands.task.revert", json!({"taskId": task}));
    assert!(r["error"]["message"].is_string(), "{r}");
    // Its changes are not listed yet, by task or by conversation (whose last run would be an earlier one).
    for args in [
        json!({"taskId": task}),
        json!({"conversationId": conversation}),
        json!(null),
    ] {
        let r = command(&mut ed, "openhands.task.changes", args);
        let why = r["error"]["message"].as_str().unwrap_or_default();
        assert!(why.contains(&format!("task {task} is")), "{r}");
    }
    command(&mut ed, "openhands.task.cancel", json!(task));
    ed.shutdown();
}

#[test]
fn a_deleted_checkpoint_store_and_bad_arguments_are_clear_errors_that_change_nothing() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![str_replace("a.txt", "one", "ONE"), finish("done")],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), "one\n").unwrap();
    ed.initialize(false);
    let (_, conversation) = start(&mut ed, json!("shout"));
    wait_finished(&mut ed, "done");
    let list = command(
        &mut ed,
        "openhands.checkpoint.list",
        json!({"conversationId": conversation}),
    );
    let event = list["result"]["steps"][0]["eventId"]
        .as_i64()
        .expect("the edit's step");
    let store = ed.ws.parent().unwrap().join("data/checkpoints");
    std::fs::remove_dir_all(&store).unwrap();
    let r = command(
        &mut ed,
        "openhands.checkpoint.restore",
        json!({"conversationId": conversation, "eventId": event}),
    );
    let why = r["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("is no longer in the checkpoint store"), "{r}");
    assert_eq!(read(&ed, "a.txt").as_deref(), Some("ONE\n"));
    for (args, says_what) in [
        (
            json!({"conversationId": conversation, "eventId": "x"}),
            "`eventId` must be",
        ),
        (
            json!({"conversationId": conversation, "eventId": 9999}),
            "has no checkpoint",
        ),
        (json!({"eventId": event}), "`conversationId` is missing"),
        (
            json!({"conversationId": "../etc", "eventId": event}),
            "conversation",
        ),
        (
            json!({"conversationId": conversation, "eventId": event, "bogus": 1}),
            "unknown argument `bogus`",
        ),
    ] {
        let r = command(&mut ed, "openhands.checkpoint.restore", args.clone());
        let why = r["error"]["message"].as_str().unwrap_or_default();
        assert!(why.contains(says_what), "{args}: {r}");
    }
    // The conversation was not cut by any of them.
    let list = command(
        &mut ed,
        "openhands.checkpoint.list",
        json!({"conversationId": conversation}),
    );
    assert_eq!(list["result"]["steps"].as_array().unwrap().len(), 1);
    ed.shutdown();
}

#[test]
fn a_plan_mode_task_is_refused_writes_ends_with_a_plan_and_act_continues_with_all_tools() {
    let create = tool(
        "str_replace_editor",
        json!({"command": "create", "path": "new.txt", "file_text": "made\n"}),
    );
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            create.clone(),
            tool("execute_bash", json!({"command": "rm keep.txt"})),
            tool("execute_bash", json!({"command": "ls && cat keep.txt"})),
            tool(
                "task_tracker",
                json!({"command": "plan", "task_list": [
                    {"id": "1", "title": "create new.txt", "status": "todo"},
                    {"id": "2", "title": "keep keep.txt", "status": "todo"}]}),
            ),
            finish("the plan is ready"),
            create,
            finish("acted"),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("keep.txt"), "precious\n").unwrap();
    ed.initialize(false);
    let r = command(
        &mut ed,
        "openhands.task.start",
        json!({"prompt": "plan the change", "mode": "plan"}),
    );
    assert_eq!(r["result"]["mode"], "plan", "{r}");
    let task = r["result"]["taskId"].as_str().unwrap().to_owned();
    wait_finished(&mut ed, "the plan is ready");
    assert!(!ed.ws.join("new.txt").exists(), "plan mode wrote a file");
    assert_eq!(read(&ed, "keep.txt").as_deref(), Some("precious\n"));
    let seen = llm.requests()[4].to_string();
    assert!(seen.contains("[Plan mode]"), "{seen}");
    assert_eq!(seen.matches("Refused in plan mode").count(), 2, "{seen}");
    assert!(
        seen.contains("precious"),
        "the read-only command ran: {seen}"
    );
    ed.seen_or_wait_for("the plan", |m| {
        says(m, "window/logMessage", "OpenHands plan")
            && m["params"]["message"]
                .as_str()
                .unwrap()
                .contains("1. create new.txt\n2. keep keep.txt")
    });
    let bad = command(
        &mut ed,
        "openhands.task.start",
        json!({"prompt": "x", "mode": "yolo"}),
    );
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("`mode`"),
        "{bad}"
    );
    // Act: the same conversation, every tool back.
    let r = command(&mut ed, "openhands.task.act", json!({"taskId": task}));
    assert_eq!(r["result"]["mode"], "act", "{r}");
    wait_finished(&mut ed, "acted");
    assert_eq!(read(&ed, "new.txt").as_deref(), Some("made\n"));
    let last = llm.requests().last().unwrap().to_string();
    assert!(
        last.contains("[Act]") && last.contains("plan the change"),
        "{last}"
    );
    ed.shutdown();
}

#[test]
fn an_edit_that_breaks_a_file_hears_the_editors_new_diagnostics() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("app.rs", "let x: i32 = 1;", "let x: i32 = \"one\";"),
            finish("edited"),
            finish("edited"),
        ],
    );
    let mut ed = Editor::start(&llm);
    let text = "fn main() {\n    let x: i32 = 1;\n}\n";
    std::fs::write(ed.ws.join("app.rs"), text).unwrap();
    ed.initialize(false);
    let uri = ed.open("app.rs", text);
    let diagnostic = |line: u32, severity: u32, message: &str| {
        json!({"range": {"start": {"line": line, "character": 8}, "end": {"line": line, "character": 9}},
               "severity": severity, "source": "rustc", "message": message})
    };
    let unused = diagnostic(1, 2, "unused variable: `x`");
    ed.notify(
        "openhands/diagnostics",
        json!({"uri": uri, "diagnostics": [unused.clone()]}),
    );
    start(&mut ed, json!("make x a string"));
    ed.wait_for("the edit", |m| m["method"] == "workspace/applyEdit");
    // The language server first reports the stale list, then the new one.
    ed.notify(
        "openhands/diagnostics",
        json!({"uri": uri, "diagnostics": [unused.clone()]}),
    );
    ed.notify(
        "openhands/diagnostics",
        json!({"uri": uri, "diagnostics": [unused, diagnostic(1, 1, "mismatched types: expected `i32`, found `&str`")]}),
    );
    wait_finished(&mut ed, "edited");
    let seen = llm.requests()[1].to_string();
    assert!(
        seen.contains("The editor reports new problems in app.rs after this edit:\\n  line 2: error: mismatched types: expected `i32`, found `&str` [rustc]"),
        "{seen}"
    );
    assert!(
        !seen.contains("unused variable"),
        "an old warning is not new: {seen}"
    );
    // The finish is held back once: the error is still there.
    let held = llm.requests()[2].to_string();
    assert!(
        held.contains("Not finished yet: the files you changed have new errors since your first edit of them:\\n  app.rs line 2: mismatched types"),
        "{held}"
    );
    assert_eq!(llm.requests().len(), 3, "held once only");
    ed.shutdown();
}

#[test]
fn without_editor_diagnostics_the_configured_checker_reports_what_an_edit_broke() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("run.sh", "echo ok\n", "if true; then\n  echo ok\n"),
            str_replace("run.sh", "echo start\n", "echo begin\n"),
            finish("edited"),
            str_replace("run.sh", "  echo ok\n", "  echo ok\nfi\n"),
            finish("fixed"),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::create_dir_all(ed.ws.join(".openhands")).unwrap();
    std::fs::write(
        ed.ws.join(".openhands/config.toml"),
        "[checkers]\nshell = \"bash -n {file}\"\n",
    )
    .unwrap();
    std::fs::write(ed.ws.join("run.sh"), "echo start\necho ok\n").unwrap();
    ed.initialize(false);
    start(&mut ed, json!("wrap it"));
    wait_finished(&mut ed, "fixed");
    let first = llm.requests()[1].to_string();
    assert!(
        first.contains(
            "The checker (`bash -n {file}`) reports new problems in run.sh after this edit:"
        ),
        "{first}"
    );
    assert!(first.contains("syntax error"), "{first}");
    // The same error after the next edit is not new.
    let second = llm.requests()[2].to_string();
    assert_eq!(
        second.matches("reports new problems").count(),
        1,
        "{second}"
    );
    // The finish is held back with the checker's error; the agent fixes it and finishes.
    let held = llm.requests()[3].to_string();
    assert!(
        held.contains("Not finished yet") && held.contains("run.sh: "),
        "{held}"
    );
    let last = llm.requests()[4].to_string();
    assert_eq!(
        last.matches("reports new problems").count(),
        1,
        "the fix reports nothing new"
    );
    ed.shutdown();
}

#[test]
fn a_rich_client_hears_how_a_revert_and_a_restore_ended() {
    let (_llm, mut ed) = two_edits("one\ntwo\n");
    ed.initialize_with(false, json!({"openhands": {"ui": "rich"}}));
    let (task, conversation) = start(&mut ed, json!("shout"));
    ed.wait_for("the task's end", |m| {
        m["method"] == "openhands/taskState" && m["params"]["state"] == "finished"
    });
    let r = command(
        &mut ed,
        "openhands.task.revert",
        json!({"taskId": task, "file": "a.txt"}),
    );
    assert_eq!(r["result"]["reverting"], json!(["a.txt"]), "{r}");
    let note = ed.wait_for("the revert's outcome", |m| {
        m["method"] == "openhands/reviewUpdated"
    });
    let p = &note["params"];
    assert_eq!(p["action"], "revert", "{note}");
    assert_eq!(p["ok"], true, "{note}");
    assert_eq!(p["taskId"], json!(task), "{note}");
    assert_eq!(p["conversationId"], json!(conversation), "{note}");
    assert_eq!(p["reverted"], json!(["a.txt"]), "{note}");
    assert_eq!(p["failed"], json!([]), "{note}");
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("reverted 1 file(s)"),
        "{note}"
    );
    assert_eq!(read(&ed, "a.txt").as_deref(), Some("one\ntwo\n"));
    // A rewind to the first step says so the same way.
    let steps = command(
        &mut ed,
        "openhands.checkpoint.list",
        json!({"conversationId": conversation}),
    );
    let first = steps["result"]["steps"][0]["eventId"].as_i64().unwrap();
    command(
        &mut ed,
        "openhands.checkpoint.restore",
        json!({"conversationId": conversation, "eventId": first, "conversation": false}),
    );
    let note = ed.wait_for("the restore's outcome", |m| {
        m["method"] == "openhands/reviewUpdated" && m["params"]["action"] == "restore"
    });
    assert_eq!(note["params"]["ok"], true, "{note}");
    assert_eq!(note["params"]["eventId"], json!(first), "{note}");
    assert_eq!(read(&ed, "b.txt").as_deref(), Some("alpha\nbeta\n"));
    ed.shutdown();
}
