//! Replays the file exchanges recorded from OpenHands (reference exchanges 34-52) through `FileOps`.

use std::path::PathBuf;

use openhands_runtime_api::{Action, ActionEvent};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::{FileOps, parse_insert_line};

/// A server-like setup: the working directory is `<tmp>/workspace`, as `/workspace` was when recorded.
struct Replay {
    _tmp: tempfile::TempDir,
    prefix: String,
    ws: PathBuf,
    ops: FileOps,
}

impl Replay {
    fn new(confine: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let prefix = tmp.path().canonicalize().unwrap().display().to_string();
        let ws = PathBuf::from(format!("{prefix}/workspace"));
        std::fs::create_dir_all(&ws).unwrap();
        let ops = FileOps::new(ws.clone(), confine);
        Self {
            _tmp: tmp,
            prefix,
            ws,
            ops,
        }
    }

    /// Runs `action` (with `/workspace` meaning our working directory) and returns the observation
    /// with our temporary prefix removed again.
    fn exec(&mut self, action: Value) -> Value {
        let text = action
            .to_string()
            .replace("\"/workspace", &format!("\"{}/workspace", self.prefix));
        let event = ActionEvent::from_value(&serde_json::from_str(&text).unwrap()).unwrap();
        let cwd = self.ws.clone();
        let obs = match &event.action {
            Action::Read(a) => self.ops.read(a, &cwd),
            Action::Write(a) => self.ops.write(a, &cwd),
            Action::Edit(a) => self.ops.edit(a, &cwd),
            other => panic!("not a file action: {other:?}"),
        };
        let text = obs.to_value().to_string().replace(&self.prefix, "");
        serde_json::from_str(&text).unwrap()
    }

    fn file(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.ws.join(name)).unwrap()
    }
}

fn edit(path: &str, command: &str, extra: Value) -> Value {
    let mut args = json!({"path": path, "command": command, "impl_source": "oh_aci"});
    if let (Some(args), Value::Object(extra)) = (args.as_object_mut(), extra) {
        args.extend(extra);
    }
    json!({"action": "edit", "args": args})
}

fn edit_obs(
    path: &str,
    content: &str,
    prev_exist: bool,
    old: Value,
    new: Value,
    diff: &str,
) -> Value {
    json!({"message": format!("I edited the file {path}."), "observation": "edit", "content": content,
        "extras": {"path": path, "prev_exist": prev_exist, "old_content": old, "new_content": new,
            "impl_source": "oh_aci", "diff": diff, "_diff_cache": null}})
}

fn read_obs(path: &str, content: &str, impl_source: &str) -> Value {
    json!({"message": format!("I read the file {path}."), "observation": "read", "content": content,
        "extras": {"path": path, "impl_source": impl_source}})
}

fn error_obs(content: &str) -> Value {
    json!({"message": content, "observation": "error", "content": content, "extras": {"error_id": ""}})
}

/// The recorded responses, in order. Where we differ on purpose the expected value says so.
#[test]
fn recorded_exchanges_34_to_52() {
    let mut r = Replay::new(false);
    let a = "/workspace/a.txt";

    // 34: byte-exact write (OpenHands wrote "line 1\nline 2\nline 3\n\n").
    assert_eq!(
        r.exec(
            json!({"action": "write", "args": {"path": a, "content": "line 1\nline 2\nline 3\n"}})
        ),
        json!({"message": "I wrote to the file /workspace/a.txt.", "observation": "write", "content": "",
            "extras": {"path": a}})
    );
    assert_eq!(r.file("a.txt"), b"line 1\nline 2\nline 3\n");
    // Continue from the bytes OpenHands left, so the recorded outputs below apply unchanged.
    std::fs::write(r.ws.join("a.txt"), "line 1\nline 2\nline 3\n\n").unwrap();

    // 35: relative to the shell's cwd, parents created.
    assert_eq!(
        r.exec(json!({"action": "write", "args": {"path": "sub/b.txt", "content": "relative path file"}})),
        json!({"message": "I wrote to the file /workspace/sub/b.txt.", "observation": "write", "content": "",
            "extras": {"path": "/workspace/sub/b.txt"}})
    );
    assert_eq!(r.file("sub/b.txt"), b"relative path file");

    let read = |path: &str, extra: Value| {
        let mut args = json!({"path": path});
        if let (Some(args), Value::Object(extra)) = (args.as_object_mut(), extra) {
            args.extend(extra);
        }
        json!({"action": "read", "args": args})
    };
    // 36, 37, 38
    assert_eq!(
        r.exec(read(a, json!({}))),
        read_obs(a, "line 1\nline 2\nline 3\n\n", "default")
    );
    assert_eq!(
        r.exec(read(a, json!({"start": 1, "end": 2}))),
        read_obs(a, "line 2\n", "default")
    );
    assert_eq!(
        r.exec(read("/workspace/nope.txt", json!({}))),
        error_obs(
            "File not found: /workspace/nope.txt. Your current working directory is /workspace."
        )
    );
    // 39, 40
    assert_eq!(
        r.exec(read(a, json!({"impl_source": "oh_aci"}))),
        read_obs(
            a,
            "Here's the result of running `cat -n` on /workspace/a.txt:\n     1\tline 1\n     2\tline 2\n     3\tline 3\n     4\t\n     5\t\n",
            "oh_aci"
        )
    );
    assert_eq!(
        r.exec(read(
            a,
            json!({"impl_source": "oh_aci", "view_range": [2, 3]})
        )),
        read_obs(
            a,
            "Here's the result of running `cat -n` on /workspace/a.txt:\n     2\tline 2\n     3\tline 3\n",
            "oh_aci"
        )
    );
    // 41, 42, 43
    let listing = "Here's the files and directories up to 2 levels deep in /workspace, excluding hidden items:\n/workspace/\n/workspace/a.txt\n/workspace/sub/\n/workspace/sub/b.txt";
    assert_eq!(
        r.exec(read("/workspace", json!({}))),
        error_obs("Path is a directory: /workspace. You can only read files")
    );
    assert_eq!(
        r.exec(read("/workspace", json!({"impl_source": "oh_aci"}))),
        read_obs("/workspace", listing, "oh_aci")
    );
    // prev_exist is true where the path existed (OpenHands always sends false).
    assert_eq!(
        r.exec(edit("/workspace", "view", json!({}))),
        edit_obs("/workspace", listing, true, Value::Null, Value::Null, "")
    );
    // 44, 45, 46
    assert_eq!(
        r.exec(edit(
            a,
            "str_replace",
            json!({"old_str": "line 2", "new_str": "LINE TWO"})
        )),
        edit_obs(
            a,
            "The file /workspace/a.txt has been edited. Here's the result of running `cat -n` on a snippet of /workspace/a.txt:\n     1\tline 1\n     2\tLINE TWO\n     3\tline 3\n     4\t\n     5\t\nReview the changes and make sure they are as expected. Edit the file again if necessary.",
            true,
            json!("line 2"),
            json!("LINE TWO"),
            "--- /workspace/a.txt\n+++ /workspace/a.txt\n@@ -2 +2 @@\n-line 2\n+LINE TWO"
        )
    );
    assert_eq!(
        r.exec(edit(
            a,
            "str_replace",
            json!({"old_str": "zzz", "new_str": "y"})
        )),
        edit_obs(
            a,
            "ERROR:\nNo replacement was performed, old_str `zzz` did not appear verbatim in /workspace/a.txt.",
            true,
            json!("zzz"),
            json!("y"),
            ""
        )
    );
    assert_eq!(
        r.exec(edit(
            a,
            "str_replace",
            json!({"old_str": "line", "new_str": "L"})
        )),
        edit_obs(
            a,
            "ERROR:\nNo replacement was performed. Multiple occurrences of old_str `line` in lines [1, 3]. Please ensure it is unique.",
            true,
            json!("line"),
            json!("L"),
            ""
        )
    );
    // 47, 48, 49, 50
    let c = "/workspace/c.py";
    assert_eq!(
        r.exec(edit(c, "create", json!({"file_text": "print(1)\n"}))),
        edit_obs(
            c,
            "File created successfully at: /workspace/c.py",
            false,
            Value::Null,
            Value::Null,
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -0,0 +1 @@\n+print(1)"
        )
    );
    assert_eq!(
        r.exec(edit(c, "create", json!({"file_text": "print(2)\n"}))),
        edit_obs(
            c,
            "ERROR:\nInvalid `path` parameter: /workspace/c.py. File already exists at: /workspace/c.py. Cannot overwrite files using command `create`.",
            true,
            Value::Null,
            Value::Null,
            ""
        )
    );
    assert_eq!(
        r.exec(edit(
            c,
            "insert",
            json!({"new_str": "print(3)", "insert_line": 1})
        )),
        edit_obs(
            c,
            "The file /workspace/c.py has been edited. Here's the result of running `cat -n` on a snippet of the edited file:\n     1\tprint(1)\n     2\tprint(3)\n     3\t\nReview the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.",
            true,
            Value::Null,
            json!("print(3)"),
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -1,0 +2 @@\n+print(3)"
        )
    );
    assert_eq!(
        r.exec(edit(c, "undo_edit", json!({}))),
        edit_obs(
            c,
            "Last edit to /workspace/c.py undone successfully. Here's the result of running `cat -n` on /workspace/c.py:\n     1\tprint(1)\n     2\t\n",
            true,
            Value::Null,
            Value::Null,
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -2 +1,0 @@\n-print(3)"
        )
    );
    // 51: a relative path is resolved against the shell's cwd instead of refused.
    assert_eq!(
        r.exec(edit("a.txt", "view", json!({}))),
        edit_obs(
            "a.txt",
            "Here's the result of running `cat -n` on /workspace/a.txt:\n     1\tline 1\n     2\tLINE TWO\n     3\tline 3\n     4\t\n     5\t\n",
            true,
            Value::Null,
            Value::Null,
            ""
        )
    );
    // 52: a binary file is an error observation, not an HTTP 500.
    std::fs::write(r.ws.join("true"), b"\x7fELF\x02\x01\x01\0\0\0\0").unwrap();
    assert_eq!(
        r.exec(read("/workspace/true", json!({}))),
        error_obs("ERROR_BINARY_FILE: /workspace/true is a binary file and cannot be read as text")
    );
}

#[test]
fn editor_errors_inside_a_read_and_bad_insert_line() {
    let mut r = Replay::new(false);
    assert_eq!(
        r.exec(
            json!({"action": "read", "args": {"path": "/workspace/x", "impl_source": "oh_aci"}})
        ),
        read_obs(
            "/workspace/x",
            "ERROR:\nInvalid `path` parameter: /workspace/x. The path /workspace/x does not exist. Please provide a valid path.",
            "oh_aci"
        )
    );
    assert_eq!(
        r.exec(edit(
            "/workspace/x",
            "insert",
            json!({"insert_line": "abc", "new_str": "y"})
        )),
        edit_obs(
            "/workspace/x",
            "ERROR:\nInvalid insert_line value: 'abc'. Expected an integer.",
            false,
            Value::Null,
            json!("y"),
            ""
        )
    );
    let refused = r.exec(edit(
        "/workspace/x",
        "view",
        json!({"impl_source": "llm_based_edit"}),
    ));
    assert_eq!(refused["observation"], "error");
}

#[test]
fn confinement_refuses_paths_outside_the_working_directory() {
    let mut r = Replay::new(true);
    std::fs::write(r.ws.join("in.txt"), "inside").unwrap();
    std::os::unix::fs::symlink("/etc", r.ws.join("etc")).unwrap();
    let refusal = |p: &str| {
        error_obs(&format!(
            "Path {p} is outside the working directory /workspace: this runtime only accepts file operations inside it"
        ))
    };
    assert_eq!(
        r.exec(json!({"action": "read", "args": {"path": "../secret.txt"}})),
        refusal("/secret.txt")
    );
    assert_eq!(
        r.exec(json!({"action": "write", "args": {"path": "/tmp/x.txt", "content": "x"}})),
        refusal("/tmp/x.txt")
    );
    assert_eq!(
        r.exec(edit("/workspace/etc/passwd", "view", json!({}))),
        refusal("/workspace/etc/passwd")
    );
    assert_eq!(
        r.exec(json!({"action": "read", "args": {"path": "in.txt"}})),
        read_obs("/workspace/in.txt", "inside", "default")
    );
}

#[test]
fn insert_line_accepts_ints_and_numeric_strings() {
    assert_eq!(parse_insert_line(&json!(3)), Ok(3));
    assert_eq!(parse_insert_line(&json!(" 7 ")), Ok(7));
    assert_eq!(parse_insert_line(&json!("+2")), Ok(2));
    assert_eq!(parse_insert_line(&json!(2.0)), Ok(2));
    assert_eq!(parse_insert_line(&json!("abc")), Err("abc".to_owned()));
    assert_eq!(parse_insert_line(&json!("1.5")), Err("1.5".to_owned()));
    assert_eq!(parse_insert_line(&json!(true)), Err("true".to_owned()));
}
