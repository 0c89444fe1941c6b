//! The Neovim review list (`:OpenHandsChanges`) against the real server and runtime: a task edits an open
//! buffer and a closed file; the list shows both with their counts, `<CR>` shows a diff, `r` reverts the
//! closed file on disk, a revert over the user's own edit is refused with the server's message, `k` keeps; the
//! next task's edits show while it runs, its changes replace the list by themselves when it ends, and `R`
//! reverts the open buffer through the editor. And the same as a new user types it, in Neovim with its default
//! settings in tmux: no prompt ever waits for Enter.

use serde_json::json;

use super::super::tmux::Tmux;
use super::{Home, Nvim, lines, nvim_07, nvim_011, plugin_dir, scenario};
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
        tool("execute_bash", json!({"command": "sleep 3"})),
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

    let panel = lines(&report["panel"]);
    assert!(
        panel
            .contains(&"── 2 file(s) changed (+4 −2): :OpenHandsChanges to review them".to_owned()),
        "{v}:\n{}",
        panel.join("\n")
    );
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

    let highlights = report["highlights"].as_array().unwrap();
    for want in [
        json!(["+3", "OpenHandsChangesAdded"]),
        json!(["−1", "OpenHandsChangesRemoved"]),
        json!(["+1", "OpenHandsChangesAdded"]),
        json!([list[0], "OpenHandsChangesHeader"]),
    ] {
        assert!(
            highlights.contains(&want),
            "{v}: no {want} in {highlights:?}"
        );
    }

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

    // D: the whole diff; o: the file, with the list still there.
    let whole = lines(&report["whole_diff"]);
    for l in ["+++ b/b.txt", "+++ b/notes.txt", "+first line, edited"] {
        assert!(
            whole.iter().any(|d| d == l),
            "{v}: no {l:?} in\n{}",
            whole.join("\n")
        );
    }
    assert_eq!(
        report["opened"],
        home.ws().join("notes.txt").display().to_string(),
        "{v}"
    );
    assert_eq!(report["list_still_shown"], true, "{v}");

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
    assert_eq!(report["live"], true, "{v}:\n{}", text("list_running"));
    let running = lines(&report["list_running"]);
    for l in [
        "task t2 is running; its changes are listed when it ends",
        "Edited so far by t2 (the list comes when it ends):",
        "~ b.txt",
    ] {
        assert!(
            running.contains(&l.to_owned()),
            "{v}: no {l:?} in\n{}",
            running.join("\n")
        );
    }
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
    let after = lines(&report["list_after_keep_all"]);
    assert!(
        after.contains(&"OpenHands kept nothing (every file is settled)".to_owned())
            && after.contains(&"M b.txt  +1 −1  reverted".to_owned()),
        "{v}: K with nothing left to keep:\n{}",
        after.join("\n")
    );

    // openhands.task.diff by itself (as a code action runs it): what the server shows opens like the list's.
    assert_eq!(
        report["diff_buffers_after_command"],
        json!([
            "openhands://diff/b.txt",
            "openhands://diff/notes.txt",
            "openhands://diff/task"
        ]),
        "{v}"
    );
    let shown = report["shown_document"].as_str().unwrap();
    assert!(
        shown.starts_with(
            &home
                .ws()
                .join(".openhands/transcripts/")
                .display()
                .to_string()
        ) && shown.ends_with(".md"),
        "{v}: {shown}"
    );
}

#[test]
fn nvim_07_reviews_a_tasks_changes() {
    reviews_changes(nvim_07());
}

#[test]
fn nvim_011_reviews_a_tasks_changes() {
    reviews_changes(nvim_011());
}

/// A new user's Neovim (the README's set-up, every other setting Neovim's default) in tmux: `:OpenHands`, then
/// `:OpenHandsChanges`, `<CR>` and `r` typed as keys; each step shows on the screen without a prompt between.
fn typed_by_a_user(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    if !Tmux::available() {
        eprintln!("skipped: no tmux");
        return;
    }
    let v = &nvim.version;
    let llm = ScriptedLlm::start(Wire::OpenAi, script());
    let home = Home::new();
    std::fs::write(home.ws().join("b.txt"), "one\ntwo\n").unwrap();
    let init = home.dir.path().join("init.lua");
    std::fs::write(
        &init,
        format!(
            "vim.opt.runtimepath:append({plugin:?})\n\
             require('openhands').setup({{ cmd = {{ {lsp:?} }}, base_url = {url:?} }})\n",
            plugin = plugin_dir().display().to_string(),
            lsp = env!("CARGO_BIN_EXE_openhands-lsp"),
            url = llm.base_url,
        ),
    )
    .unwrap();
    let d = home.dir.path();
    let command = format!(
        "cd {ws} && env HOME={d} XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_CACHE_HOME={d}/cache \
         XDG_DATA_HOME={d}/share OPENHANDS_DATA_DIR={d}/data LLM_MODEL=scripted-model \
         LLM_API_KEY=sk-test-secret LLM_NATIVE_TOOL_CALLING=true LLM_NUM_RETRIES=0 \
         {nvim} -i NONE -n -u {init} notes.txt",
        ws = home.ws().display(),
        d = d.display(),
        nvim = nvim.bin.display(),
        init = init.display(),
    );
    let tmux = Tmux::start(
        &format!(
            "changes-{}",
            v.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        ),
        &command,
    );
    let no_prompt = |s: &str| {
        for bad in ["Press ENTER", "[Y]es", "(y/n)", "Type number and <Enter>"] {
            assert!(!s.contains(bad), "{v}: a prompt waits: {bad:?}\n{s}");
        }
    };
    tmux.wait("the file", 30, |s| s.contains("first line"), String::new);
    tmux.keys(&[":OpenHands edit two files", "Enter"]);
    let s = tmux.wait(
        "the finished task",
        60,
        |s| s.contains("OpenHands finished"),
        || v.to_string(),
    );
    no_prompt(&s);
    tmux.keys(&[":OpenHandsChanges", "Enter"]);
    let s = tmux.wait(
        "the list",
        30,
        |s| s.contains("M b.txt      +3 −1") && s.contains("M notes.txt  +1 −1"),
        || v.to_string(),
    );
    no_prompt(&s);
    // The cursor starts on the first file (b.txt): Enter shows its diff, then back to the list and revert it.
    tmux.keys(&["Enter"]);
    let s = tmux.wait(
        "the diff",
        30,
        |s| s.contains("openhands://diff/b.txt") && s.contains("+++ b/b.txt"),
        || v.to_string(),
    );
    no_prompt(&s);
    tmux.keys(&[":wincmd b", "Enter"]);
    tmux.wait(
        "the list's window",
        10,
        |s| s.lines().any(|l| l.starts_with(":wincmd b")),
        || v.to_string(),
    );
    tmux.keys(&["r"]);
    let s = tmux.wait(
        "the reverted file",
        30,
        |s| s.contains("M b.txt      +3 −1  reverted"),
        || v.to_string(),
    );
    no_prompt(&s);
    assert_eq!(
        std::fs::read_to_string(home.ws().join("b.txt")).unwrap(),
        "one\ntwo\n",
        "{v}"
    );
    // The user types over the task's line in notes.txt; reverting it is refused, the reason shown in the list
    // and the echo area, and no prompt asks for Enter however long the reason is.
    tmux.keys(&[":wincmd t", "Enter"]);
    tmux.keys(&["A by me", "Escape"]);
    tmux.wait(
        "the user's edit",
        10,
        |s| s.contains("first line, edited by me"),
        || v.to_string(),
    );
    tmux.keys(&[":wincmd b", "Enter"]);
    tmux.keys(&["j", "r"]);
    let s = tmux.wait(
        "the refusal",
        30,
        |s| s.contains("OpenHands: NOT reverted: "),
        || v.to_string(),
    );
    no_prompt(&s);
    // Neovim still takes commands: nothing holds the keyboard.
    tmux.keys(&[":echo 'still here'", "Enter"]);
    tmux.wait(
        "the echo",
        10,
        |s| s.contains("still here"),
        || v.to_string(),
    );
}

#[test]
fn nvim_07_reviews_changes_typed_by_a_user() {
    typed_by_a_user(nvim_07());
}

#[test]
fn nvim_011_reviews_changes_typed_by_a_user() {
    typed_by_a_user(nvim_011());
}

/// No task yet, a malformed id, an unknown conversation, a key off the files, a stopped server: each is said
/// in the list, in the server's words where it answered.
fn faults(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let llm = ScriptedLlm::start(Wire::OpenAi, vec![]);
    let home = Home::new();
    let report = scenario(&nvim, &home, "changes_faults", &llm.base_url);
    let has = |key: &str, want: &str| {
        let l = lines(&report[key]);
        assert!(
            l.iter().any(|x| x.contains(want)),
            "{v}: {key}: no {want:?} in\n{}",
            l.join("\n")
        );
    };
    has(
        "no_task",
        "no conversation yet: name one with `conversationId` (start a task with :OpenHands, or name a \
         stored conversation: :OpenHandsChanges {id})",
    );
    assert_eq!(report["pending_after_header_key"], false, "{v}");
    has("bad_id", "not-an-id");
    has("unknown_conversation", "0123456789ab");
    has("stopped", "not running");
}

#[test]
fn nvim_07_changes_list_says_what_is_wrong() {
    faults(nvim_07());
}

#[test]
fn nvim_011_changes_list_says_what_is_wrong() {
    faults(nvim_011());
}

/// A picture of the list for the README: Neovim 0.11 in tmux after a task, b.txt reverted and notes.txt's
/// diff shown, written to `$CARGO_TARGET_TMPDIR/nvim-changes.png` (docs/images/nvim-changes.png is a copy).
#[test]
fn nvim_011_changes_screenshot() {
    let Some(nvim) = nvim_011() else { return };
    let chromium = std::path::Path::new("/usr/bin/chromium");
    if !Tmux::available() || !chromium.exists() {
        eprintln!("skipped: no tmux or no /usr/bin/chromium");
        return;
    }
    let llm = ScriptedLlm::start(Wire::OpenAi, script());
    let home = Home::new();
    std::fs::write(home.ws().join("b.txt"), "one\ntwo\n").unwrap();
    let init = home.dir.path().join("init.lua");
    std::fs::write(
        &init,
        format!(
            "vim.opt.rtp:append({plugin:?})\nvim.o.termguicolors = true\nvim.o.laststatus = 2\n\
             vim.o.statusline = \"%f %m%=%{{v:lua.require'openhands'.statusline()}} \"\n\
             require('openhands').setup({{ cmd = {{ {lsp:?} }}, base_url = {url:?}, approvals = 'never', \
             panel = {{ size = 70 }} }})\n",
            plugin = plugin_dir().display().to_string(),
            lsp = env!("CARGO_BIN_EXE_openhands-lsp"),
            url = llm.base_url,
        ),
    )
    .unwrap();
    let d = home.dir.path();
    let command = format!(
        "cd {ws} && env HOME={d} XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_CACHE_HOME={d}/cache \
         XDG_DATA_HOME={d}/share OPENHANDS_DATA_DIR={d}/data LLM_MODEL=scripted-model \
         LLM_API_KEY=sk-test-secret LLM_NATIVE_TOOL_CALLING=true LLM_NUM_RETRIES=0 TERM=tmux-256color \
         {nvim} -i NONE -n -u {init} notes.txt",
        ws = home.ws().display(),
        d = d.display(),
        nvim = nvim.bin.display(),
        init = init.display(),
    );
    let tmux = Tmux::start_sized("nvim-changes", &command, 150, 30);
    tmux.run(&["set-option", "-g", "default-terminal", "tmux-256color"]);
    tmux.wait("the file", 30, |s| s.contains("first line"), String::new);
    tmux.keys(&[":OpenHands edit two files", "Enter"]);
    tmux.wait(
        "the task",
        60,
        |s| s.contains("file(s) changed"),
        String::new,
    );
    tmux.keys(&[":OpenHandsChanges", "Enter"]);
    tmux.wait(
        "the list",
        30,
        |s| s.contains("M notes.txt  +1 −1"),
        String::new,
    );
    tmux.keys(&["r"]);
    tmux.wait(
        "the revert",
        30,
        |s| s.contains("+3 −1  reverted"),
        String::new,
    );
    tmux.keys(&["j", "Enter"]);
    tmux.wait(
        "the diff",
        30,
        |s| s.contains("openhands://diff/notes.txt") && s.contains("+++ b/notes.txt"),
        String::new,
    );
    tmux.keys(&["C-w", "b"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let png = super::screenshot::picture(&tmux, chromium, "nvim-changes", "1290,550");
    eprintln!("the changes list: {}", png.display());
}
