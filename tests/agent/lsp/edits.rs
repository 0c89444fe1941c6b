//! Agent edits to open buffers, approvals and code actions over the real transport: the edit must land in
//! the editor's buffer (or the agent must hear why not), and risky actions must wait for the user.

use serde_json::{Value, json};

use super::super::scripted_llm::{Reply, ScriptedLlm, Wire, tool};
use super::{AskMode, EditMode, Editor, method, says, sleeping_task};

fn finish() -> Reply {
    tool("finish", json!({"message": "done"}))
}

/// Everything the agent had seen when it made its last LLM call.
fn last_prompt(llm: &ScriptedLlm) -> String {
    llm.requests()
        .last()
        .map(Value::to_string)
        .unwrap_or_default()
}

fn start_task(ed: &mut Editor, prompt: &str) {
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": [prompt]}),
    );
    assert!(r["result"]["taskId"].is_string(), "{r}");
}

fn wait_end(ed: &mut Editor) -> Value {
    ed.wait_for("the task's end", |m| {
        method(m) == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("OpenHands finished") || s.contains("failed"))
    })
}

fn str_replace(path: &str, old: &str, new: &str) -> Reply {
    tool(
        "str_replace_editor",
        json!({"command": "str_replace", "path": path, "old_str": old, "new_str": new}),
    )
}

#[test]
fn an_agent_edit_to_an_open_buffer_lands_there_and_the_agent_saw_the_unsaved_text() {
    let mut ed_llm_script = Vec::new();
    // The path is only known once the editor's workspace exists; a relative path resolves in it.
    ed_llm_script.push(tool(
        "str_replace_editor",
        json!({"command": "view", "path": "app.py"}),
    ));
    ed_llm_script.push(str_replace("app.py", "y = 2", "y = 3"));
    ed_llm_script.push(finish());
    let llm = ScriptedLlm::start(Wire::OpenAi, ed_llm_script);
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("app.py"), "x = 1\ny = 2\n").unwrap();
    ed.initialize(false);
    let uri = ed.open("app.py", "x = 1\ny = 2\n# unsaved note\n");
    start_task(&mut ed, "change y");
    wait_end(&mut ed);
    let edit = ed
        .seen
        .iter()
        .find(|m| method(m) == "workspace/applyEdit")
        .expect("an applyEdit")
        .clone();
    assert_eq!(edit["params"]["label"], "OpenHands: edit app.py");
    let change = &edit["params"]["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["version"], 1);
    assert_eq!(
        change["edits"],
        json!([{"range": {"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}},
                "newText": "y = 3\n"}])
    );
    assert_eq!(ed.buffer(&uri), "x = 1\ny = 3\n# unsaved note\n");
    let requests = llm.requests();
    assert!(
        requests[1].to_string().contains("unsaved note"),
        "the view showed the buffer's unsaved text"
    );
    assert!(
        !last_prompt(&llm).contains("NOT applied"),
        "{}",
        last_prompt(&llm)
    );
    ed.shutdown();
}

/// The agent edits an open buffer through an editor answering with `mode`: the edit must fail, the agent
/// must read `why`, and neither the buffer nor the sandbox may keep the change.
fn a_failed_edit_reaches_the_agent(mode: EditMode, why: &str) {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![str_replace("app.py", "y = 2", "y = 3"), finish()],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("app.py"), "x = 1\ny = 2\n").unwrap();
    ed.initialize_with(false, json!({"openhands": {"editTimeoutSeconds": 2}}));
    let uri = ed.open("app.py", "x = 1\ny = 2\n");
    ed.edit_mode = mode;
    start_task(&mut ed, "change y");
    wait_end(&mut ed);
    let seen = last_prompt(&llm);
    assert!(seen.contains(&format!("was NOT applied: {why}")), "{seen}");
    assert_eq!(ed.buffer(&uri), "x = 1\ny = 2\n");
    assert_eq!(
        std::fs::read_to_string(ed.ws.join("app.py")).unwrap(),
        "x = 1\ny = 2\n",
        "the failed edit was undone in the sandbox too"
    );
    ed.shutdown();
}

#[test]
fn a_refused_edit_is_reported_to_the_agent_and_changes_nothing() {
    a_failed_edit_reaches_the_agent(
        EditMode::Refuse,
        "the editor refused it (document has changed)",
    );
}

#[test]
fn an_editor_that_claims_an_edit_it_never_made_is_caught() {
    a_failed_edit_reaches_the_agent(
        EditMode::ClaimOnly,
        "the editor said it applied the edit, but the buffer did not change",
    );
}

#[test]
fn an_editor_that_never_answers_an_edit_does_not_hang_the_task() {
    a_failed_edit_reaches_the_agent(
        EditMode::Ignore,
        "the editor did not answer the edit within 2 s",
    );
}

/// Neovim behind its hit-enter prompt: the edit is answered only after the server gave up on it. The agent
/// learns with its next observation that the edit landed after all, so it never works from a wrong belief.
#[test]
fn an_edit_the_editor_applies_late_is_reconciled_with_the_agent() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("app.py", "y = 2", "y = 3"),
            tool("execute_bash", json!({"command": "sleep 2"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("app.py"), "x = 1\ny = 2\n").unwrap();
    ed.initialize_with(false, json!({"openhands": {"editTimeoutSeconds": 1}}));
    let uri = ed.open("app.py", "x = 1\ny = 2\n");
    ed.edit_mode = EditMode::Hold;
    start_task(&mut ed, "change y");
    ed.wait_for("the next command", |m| {
        says(m, "window/logMessage", "$ sleep 2")
    });
    ed.release_held();
    wait_end(&mut ed);
    let requests = llm.requests();
    assert!(
        requests[1]
            .to_string()
            .contains("was NOT applied: the editor did not answer the edit within 1 s"),
        "{}",
        requests[1]
    );
    let seen = last_prompt(&llm);
    assert!(
        seen.contains("the editor applied the earlier edit to") && seen.contains("app.py late"),
        "{seen}"
    );
    assert_eq!(ed.buffer(&uri), "x = 1\ny = 3\n");
    ed.shutdown();
}

/// With the local runtime the sandbox is the user's disk: an agent edit to an open file goes to the buffer
/// only, and the file on disk keeps what the user saved, modification time included, so an editor that
/// watches the disk (Emacs asks "changed on disk; really edit?") sees nothing change under it.
#[test]
fn an_open_file_on_disk_keeps_what_the_user_saved() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("app.py", "y = 2", "y = 3"),
            tool("execute_bash", json!({"command": "grep -c 'y = 3' app.py"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    let file = ed.ws.join("app.py");
    std::fs::write(&file, "x = 1\ny = 2\n").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(old)
        .unwrap();
    ed.initialize(false);
    let uri = ed.open("app.py", "x = 1\ny = 2\n# unsaved\n");
    start_task(&mut ed, "change y");
    wait_end(&mut ed);
    assert_eq!(ed.buffer(&uri), "x = 1\ny = 3\n# unsaved\n");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x = 1\ny = 2\n");
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), old);
    // The command still ran on what the user sees.
    let seen = last_prompt(&llm);
    assert!(seen.contains(r#""content":"1\n[The command"#), "{seen}");
    ed.shutdown();
}

#[test]
fn typing_during_an_edit_is_merged_and_a_conflict_is_refused() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            str_replace("app.py", "c = 3", "c = 30"),
            str_replace("app.py", "b = 2", "b = 20"),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("app.py"), "a = 1\nb = 2\nc = 3\n").unwrap();
    ed.initialize(false);
    let uri = ed.open("app.py", "a = 1\nb = 2\nc = 3\n");
    // The user types on line 0 while the first edit is on its way: the edit is rebased and retried.
    // The second edit conflicts with what the user types on its line.
    ed.edit_script = [
        EditMode::TypeThenRefuse {
            line: 0,
            text: "# typed\n",
        },
        EditMode::Apply,
        EditMode::TypeThenRefuse {
            line: 2,
            text: "b = 'user' # ",
        },
    ]
    .into();
    start_task(&mut ed, "edit twice");
    wait_end(&mut ed);
    let requests = llm.requests();
    assert!(
        !requests[1].to_string().contains("NOT applied"),
        "{}",
        requests[1]
    );
    let seen = last_prompt(&llm);
    assert!(
        seen.contains("the user changed the same lines in the editor meanwhile"),
        "{seen}"
    );
    assert_eq!(
        ed.buffer(&uri),
        "# typed\na = 1\nb = 'user' # b = 2\nc = 30\n",
        "the user's typing and the first edit are kept; the conflicting edit is not applied"
    );
    ed.shutdown();
}

#[test]
fn risky_commands_wait_for_approval_and_a_rejection_reaches_the_agent() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "rm a.txt"})),
            tool("execute_bash", json!({"command": "rm b.txt"})),
            tool("execute_bash", json!({"command": "git push origin main"})),
            tool("execute_bash", json!({"command": "pip install requests"})),
            tool("execute_bash", json!({"command": "echo ok && rm -r build"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), "a").unwrap();
    std::fs::write(ed.ws.join("b.txt"), "b").unwrap();
    ed.initialize(false);
    // The third question gets `null`: the user pressed Escape.
    ed.ask_mode = AskMode::Pick(vec!["Allow for this conversation", "Reject"]);
    start_task(&mut ed, "clean up");
    wait_end(&mut ed);
    let asked: Vec<&Value> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "window/showMessageRequest")
        .collect();
    assert_eq!(
        asked.len(),
        3,
        "rm asked once for the conversation, then git push and pip install"
    );
    let first = asked[0]["params"]["message"].as_str().unwrap();
    assert!(first.contains("$ rm a.txt (it deletes files)"), "{first}");
    assert_eq!(
        asked[0]["params"]["actions"],
        json!([{"title": "Allow once"}, {"title": "Allow for this conversation"}, {"title": "Reject"}])
    );
    assert!(!ed.ws.join("a.txt").exists() && !ed.ws.join("b.txt").exists());
    let seen = last_prompt(&llm);
    assert_eq!(
        seen.matches("Action has been rejected by the user!")
            .count(),
        2,
        "git push rejected, pip install escaped: {seen}"
    );
    assert!(
        seen.contains("ok"),
        "the later deletion ran unasked: {seen}"
    );
    ed.shutdown();
}

#[test]
fn without_show_message_request_approvals_come_from_code_actions_or_time_out() {
    approvals_without_an_answer(AskMode::NotFound);
}

#[test]
fn a_silent_show_message_request_falls_back_to_code_actions_then_times_out() {
    approvals_without_an_answer(AskMode::Silent);
}

fn approvals_without_an_answer(mode: AskMode) {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "rm a.txt"})),
            tool("execute_bash", json!({"command": "rm b.txt"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("a.txt"), "a").unwrap();
    std::fs::write(ed.ws.join("b.txt"), "b").unwrap();
    ed.initialize_with(
        false,
        json!({"openhands": {"approvalTimeoutSeconds": 3, "approvalFallbackSeconds": 1}}),
    );
    let uri = ed.open("notes.py", "# delete the scratch files\n");
    ed.ask_mode = mode;
    start_task(&mut ed, "clean up");
    let told = ed.wait_for("the fallback message", |m| {
        says(m, "window/showMessage", "answer in code actions")
    });
    let line = told["params"]["message"].as_str().unwrap();
    assert!(
        line.chars().count() <= 70,
        "short enough for a status line: {line}"
    );
    assert!(told["params"]["message"].as_str().unwrap().contains("#a1"));
    let actions = ed.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    let list = actions["result"].as_array().unwrap();
    let allow = list
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("OpenHands: allow #a1 (task t1)")
        })
        .unwrap_or_else(|| panic!("{actions}"));
    assert!(
        list.iter()
            .any(|a| a["title"] == "OpenHands: cancel task t1")
    );
    let cmd = &allow["command"];
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": cmd["command"], "arguments": cmd["arguments"]}),
    );
    assert_eq!(r["result"]["answered"], true, "{r}");
    // The second approval nobody answers: after 3 s the action is rejected and the agent told.
    wait_end(&mut ed);
    assert!(!ed.ws.join("a.txt").exists());
    assert!(ed.ws.join("b.txt").exists());
    let seen = last_prompt(&llm);
    assert!(
        seen.contains("Nobody answered approval #a2 within 3 s"),
        "{seen}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.approval.respond", "arguments": ["a2", "allow_once"]}),
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no approval a2 is pending"),
        "{r}"
    );
    ed.shutdown();
}

#[test]
fn code_actions_start_tasks_from_the_selection_and_the_diagnostics() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let uri = ed.open(
        "m.py",
        "def f():\n    # TODO: return the answer\n    pass\n",
    );
    let r = ed.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
               "context": {"diagnostics": [{"range": {"start": {"line": 2, "character": 4}, "end": {"line": 2, "character": 8}},
                                             "message": "pass does nothing", "source": "lint"}]}}),
    );
    let list = r["result"].as_array().unwrap();
    let titles: Vec<&str> = list.iter().map(|a| a["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "OpenHands: do what this selection or comment says",
            "OpenHands: fix the diagnostics here"
        ]
    );
    let prompt = list[0]["command"]["arguments"][0]["prompt"]
        .as_str()
        .unwrap();
    assert!(prompt.contains("# TODO: return the answer"), "{prompt}");
    let fix = list[1]["command"]["arguments"][0]["prompt"]
        .as_str()
        .unwrap();
    assert!(fix.contains("- line 3: pass does nothing (lint)"), "{fix}");
    assert_eq!(list[1]["kind"], "quickfix");
    ed.shutdown();
}

#[test]
fn settings_apply_key_by_key_and_cancelled_requests_leave_the_server_serving() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            tool("execute_bash", json!({"command": "rm x.txt"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    std::fs::write(ed.ws.join("x.txt"), "x").unwrap();
    // Answers nobody: a request would hang the test if the new policy were ignored.
    ed.ask_mode = AskMode::Silent;
    ed.initialize_with(false, json!({"openhands": {"approvals": "sometimes"}}));
    ed.wait_for("the settings error", |m| {
        says(
            m,
            "window/showMessage",
            "`sometimes` is not an approval policy",
        )
    });
    ed.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"openhands": {"approvalTimeoutSeconds": "soon", "approvals": "never"}}}),
    );
    ed.wait_for("the configuration error", |m| {
        says(
            m,
            "window/showMessage",
            "approvalTimeoutSeconds must be a positive number",
        )
    });
    // The valid part of the change applies: with `approvals: never` a deletion runs unasked.
    // A buffer never saved is not written into the sandbox around the command.
    ed.open("draft.py", "print('not saved yet')\n");
    start_task(&mut ed, "delete x.txt");
    wait_end(&mut ed);
    assert!(!ed.ws.join("x.txt").exists());
    assert!(!ed.ws.join("draft.py").exists());
    assert!(
        !ed.seen
            .iter()
            .any(|m| method(m) == "window/showMessageRequest")
    );
    // A cancel for a request that is long answered, and one for an id that never existed.
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    ed.notify("$/cancelRequest", json!({"id": r["id"]}));
    ed.notify("$/cancelRequest", json!({"id": 987654}));
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    assert_eq!(r["result"]["tasks"][0]["state"], "finished", "{r}");
    ed.shutdown();
}

#[test]
fn rich_clients_get_acp_session_updates_and_can_replay_them() {
    let llm = ScriptedLlm::start(
        Wire::OpenAi,
        vec![
            Reply::Tools {
                text: "Writing the file.".into(),
                calls: vec![(
                    "str_replace_editor".into(),
                    json!({"command": "create", "path": "new.txt", "file_text": "hello\n"}),
                )],
            },
            tool("execute_bash", json!({"command": "cat new.txt"})),
            finish(),
        ],
    );
    let mut ed = Editor::start(&llm);
    ed.initialize_with(false, json!({"openhands": {"ui": "rich"}}));
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.start", "arguments": ["write new.txt"]}),
    );
    let conversation = r["result"]["conversationId"].as_str().unwrap().to_owned();
    ed.wait_for("the usage update", |m| {
        method(m) == "openhands/sessionUpdate"
            && m["params"]["update"]["sessionUpdate"] == "usage_update"
    });
    let updates: Vec<Value> = ed
        .seen
        .iter()
        .filter(|m| method(m) == "openhands/sessionUpdate")
        .map(|m| m["params"].clone())
        .collect();
    assert!(
        updates
            .iter()
            .all(|u| u["sessionId"] == conversation.as_str())
    );
    let kinds: Vec<String> = updates
        .iter()
        .map(|u| u["update"]["sessionUpdate"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "user_message_chunk",
            "agent_message_chunk",
            "tool_call",
            "tool_call_update",
            "tool_call",
            "tool_call_update",
            "agent_message_chunk",
            "usage_update"
        ]
    );
    let call = &updates[2]["update"];
    assert_eq!(call["kind"], "edit");
    assert_eq!(call["title"], "create new.txt");
    let done = &updates[3]["update"];
    assert_eq!(done["toolCallId"], call["toolCallId"]);
    assert_eq!(done["status"], "completed");
    assert_eq!(
        call["content"],
        json!([{"type": "diff", "path": "new.txt", "oldText": null, "newText": "hello\n"}])
    );
    assert!(
        done["content"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("File created successfully"),
        "{done}"
    );
    let run = &updates[5]["update"];
    assert_eq!(run["rawOutput"]["exitCode"], 0);
    let usage = &updates[7]["update"];
    assert!(
        usage["cachedTokens"].is_u64() && usage["cacheWriteTokens"].is_u64(),
        "{usage}"
    );
    assert!(
        run["content"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .contains("hello")
    );
    // Replay after the user's message, as a panel opened late would.
    let after = updates[0]["_meta"]["seq"].as_i64().unwrap();
    let r = ed.request(
        "openhands/sessionHistory",
        json!({"conversationId": conversation, "afterSeq": after}),
    );
    let replayed: Vec<String> = r["result"]["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update"]["sessionUpdate"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(replayed, kinds[1..7], "{r}");
    let r = ed.request(
        "openhands/sessionHistory",
        json!({"conversationId": conversation, "afterSeq": "x"}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = ed.request(
        "openhands/sessionHistory",
        json!({"conversationId": "nope"}),
    );
    assert!(r["error"]["message"].is_string(), "{r}");
    ed.shutdown();
}

/// Processes whose working directory is inside `dir`.
fn processes_in(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if pid.parse::<u32>().is_err() {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd"))
            && cwd.starts_with(dir)
        {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

#[test]
fn an_editor_that_exits_mid_task_leaves_nothing_running() {
    let (_llm, ed, _) = sleeping_task(json!("wait"));
    assert!(
        !processes_in(&ed.ws).is_empty(),
        "the sleep runs in the workspace"
    );
    // The editor dies: its end of the pipes closes, with no shutdown or exit.
    let Editor {
        mut child,
        stdin,
        ws,
        _dir,
        ..
    } = ed;
    drop(stdin);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let gone = child.try_wait().unwrap().is_some() && processes_in(&ws).is_empty();
        if gone {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 10 s after the editor left: server {:?}, {:?}",
            child.try_wait(),
            processes_in(&ws)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_runtime_that_cannot_start_is_reported_and_the_server_keeps_serving() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![finish()]);
    let mut ed = Editor::start_with_env(
        &llm,
        &[("OPENHANDS_RUNTIME_BIN", "/nonexistent/openhands-runtime")],
    );
    ed.initialize(false);
    start_task(&mut ed, "anything");
    let failed = ed.wait_for("the failure", |m| {
        method(m) == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.starts_with("OpenHands could not run the task"))
    });
    assert_eq!(failed["params"]["type"], 1, "an error: {failed}");
    assert!(
        failed["params"]["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/openhands-runtime"),
        "{failed}"
    );
    let r = ed.request(
        "workspace/executeCommand",
        json!({"command": "openhands.task.status", "arguments": []}),
    );
    assert_eq!(r["result"]["tasks"][0]["state"], "error", "{r}");
    ed.shutdown();
}

#[test]
fn keystrokes_arriving_out_of_order_reach_the_document_store_in_order() {
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let mut ed = Editor::start(&llm);
    ed.initialize(false);
    let uri = ed.open("typed.py", "\n");
    // One didChange per keystroke, each inserting at the start of the line (so order matters). Helix
    // sends each from its own task, so they can arrive out of order: here every pair is swapped.
    let typed: String = (0..400)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut keys: Vec<(usize, char)> = typed.chars().enumerate().collect();
    for pair in keys.chunks_mut(2) {
        pair.reverse();
    }
    for (i, c) in keys {
        ed.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2 + i},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                                       "text": c.to_string()}]}),
        );
    }
    let r = ed.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": []}}),
    );
    let prompt = r["result"][0]["command"]["arguments"][0]["prompt"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    let expected: String = typed.chars().rev().collect();
    assert!(
        prompt.contains(&format!("```\n{expected}\n```")),
        "the store has the keystrokes out of order: {prompt}"
    );
    assert!(
        !ed.seen
            .iter()
            .any(|m| says(m, "window/logMessage", "ignored a change")),
        "a change was refused"
    );
    ed.shutdown();
}
