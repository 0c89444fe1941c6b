//! Integration tests of `read`, `write` and `edit` over HTTP: contents, exact texts, and every fault
//! answered with an observation while the server keeps serving.

use std::fs;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;

use base64::Engine as _;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::common::*;

/// A valid 1x1 PNG: full of NUL bytes, as real images are.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn ws(srv: &Server) -> String {
    srv.workdir.display().to_string()
}

fn error(content: &str) -> Value {
    json!({"message": content, "observation": "error", "content": content, "extras": {"error_id": ""}})
}

fn read_range(path: &str, start: i64, end: i64) -> Value {
    let mut action = read_action(path);
    action["args"]["start"] = json!(start);
    action["args"]["end"] = json!(end);
    action
}

fn read_aci(path: &str, view_range: Value) -> Value {
    let mut action = read_action(path);
    action["args"]["impl_source"] = json!("oh_aci");
    action["args"]["view_range"] = view_range;
    action
}

/// Proves the server still answers after a fault.
fn assert_still_serving(srv: &Server) {
    fs::write(srv.workdir.join("alive.txt"), "yes").unwrap();
    assert_eq!(srv.exec(read_action("alive.txt"))["content"], "yes");
}

#[test]
fn write_is_byte_exact_and_keeps_modes() {
    let srv = Server::start();
    let w = ws(&srv);
    let obs = srv.exec(write_action("notes/a.txt", "no newline"));
    assert_eq!(
        obs,
        json!({"message": format!("I wrote to the file {w}/notes/a.txt."), "observation": "write",
            "content": "", "extras": {"path": format!("{w}/notes/a.txt")}})
    );
    let p = srv.workdir.join("notes/a.txt");
    assert_eq!(fs::read(&p).unwrap(), b"no newline");
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o664
    );

    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    srv.exec(write_action(&p.display().to_string(), "a\nb\n"));
    assert_eq!(fs::read(&p).unwrap(), b"a\nb\n");
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o755
    );

    // start/end replace lines [start, end) of the existing file.
    fs::write(&p, "1\n2\n3\n4\n5\n").unwrap();
    let mut ranged = write_action("notes/a.txt", "X\nY");
    ranged["args"]["start"] = json!(1);
    ranged["args"]["end"] = json!(3);
    srv.exec(ranged);
    assert_eq!(fs::read_to_string(&p).unwrap(), "1\nX\nY\n4\n5\n");

    assert_eq!(
        srv.exec(write_action(&w, "x")),
        error(&format!(
            "Path is a directory: {w}. You can only write to files"
        ))
    );
    assert_still_serving(&srv);
}

#[test]
fn read_text_ranges_and_relative_paths() {
    let srv = Server::start();
    let w = ws(&srv);
    fs::write(srv.workdir.join("five.txt"), "1\n2\n3\n4\n5\n").unwrap();
    let obs = srv.exec(read_action("five.txt"));
    assert_eq!(
        obs,
        json!({"message": format!("I read the file {w}/five.txt."), "observation": "read",
            "content": "1\n2\n3\n4\n5\n", "extras": {"path": format!("{w}/five.txt"), "impl_source": "default"}})
    );
    let range = |s, e| srv.exec(read_range("five.txt", s, e))["content"].clone();
    assert_eq!(range(1, 3), "2\n3\n");
    assert_eq!(range(4, 5), "5\n", "the last line alone, not the last two");
    assert_eq!(range(3, -1), "4\n5\n");

    let obs = srv.exec(read_aci("five.txt", json!([4, 9])));
    assert_eq!(
        obs,
        json!({"message": "I read the file five.txt.", "observation": "read",
            "content": format!("NOTE: We only show up to 5 since there're only 5 lines in this file.\nHere's the result of running `cat -n` on {w}/five.txt:\n     4\t4\n     5\t5\n"),
            "extras": {"path": "five.txt", "impl_source": "oh_aci"}})
    );
}

#[test]
fn read_faults_are_observations() {
    let srv = Server::start();
    let w = ws(&srv);
    assert_eq!(
        srv.exec(read_action("nope.txt")),
        error(&format!(
            "File not found: {w}/nope.txt. Your current working directory is {w}."
        ))
    );
    assert_still_serving(&srv);
    assert_eq!(
        srv.exec(read_action(&w)),
        error(&format!(
            "Path is a directory: {w}. You can only read files"
        ))
    );
    assert_still_serving(&srv);

    fs::write(srv.workdir.join("prog"), b"\x7fELF\x02\x01\x01\0\0\0\0\0").unwrap();
    assert_eq!(
        srv.exec(read_action("prog")),
        error(&format!(
            "ERROR_BINARY_FILE: {w}/prog is a binary file and cannot be read as text"
        ))
    );
    assert_still_serving(&srv);

    fs::write(srv.workdir.join("latin1.txt"), b"caf\xe9\n").unwrap();
    assert_eq!(
        srv.exec(read_action("latin1.txt")),
        error(&format!(
            "File could not be decoded as utf-8: {w}/latin1.txt."
        ))
    );
    let aci = srv.exec(read_aci("latin1.txt", Value::Null));
    assert_eq!(aci["observation"], "read");
    assert_eq!(
        aci["content"],
        format!(
            "ERROR:\nFile validation failed for {w}/latin1.txt: File is not valid UTF-8 (invalid byte at offset 3). This tool only reads and edits UTF-8 text; convert the file first, e.g. with iconv."
        )
    );
    assert_still_serving(&srv);
}

#[test]
fn real_png_comes_back_as_a_data_url() {
    let srv = Server::start();
    fs::write(srv.workdir.join("dot.png"), PNG_1X1).unwrap();
    let obs = srv.exec(read_action("dot.png"));
    assert_eq!(obs["observation"], "read", "{obs}");
    let content = obs["content"].as_str().unwrap_or_default();
    let encoded = content
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {content}"));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(decoded, PNG_1X1);
}

#[test]
fn editor_session_over_http() {
    let srv = Server::start();
    let w = ws(&srv);
    let p = format!("{w}/c.py");
    let obs = srv.exec(edit_action(
        &p,
        "create",
        json!({"file_text": "print(1)\n"}),
    ));
    assert_eq!(
        obs,
        json!({"message": format!("I edited the file {p}."), "observation": "edit",
            "content": format!("File created successfully at: {p}"),
            "extras": {"path": p, "prev_exist": false, "old_content": null, "new_content": null,
                "impl_source": "oh_aci", "diff": format!("--- {p}\n+++ {p}\n@@ -0,0 +1 @@\n+print(1)"),
                "_diff_cache": null}})
    );
    assert_eq!(
        srv.exec(edit_action(&p, "undo_edit", json!({})))["content"],
        format!("ERROR:\nNo edit history found for {p}.")
    );

    let obs = srv.exec(edit_action(
        &p,
        "insert",
        json!({"insert_line": "1", "new_str": "print(3)"}),
    ));
    assert_eq!(obs["extras"]["prev_exist"], true);
    assert_eq!(obs["extras"]["new_content"], "print(3)");
    assert_eq!(
        obs["extras"]["diff"],
        format!("--- {p}\n+++ {p}\n@@ -1,0 +2 @@\n+print(3)")
    );

    let obs = srv.exec(edit_action(
        &p,
        "str_replace",
        json!({"old_str": "print(3)", "new_str": "print(2)"}),
    ));
    assert_eq!(
        obs["content"],
        format!(
            "The file {p} has been edited. Here's the result of running `cat -n` on a snippet of {p}:\n     1\tprint(1)\n     2\tprint(2)\n     3\t\nReview the changes and make sure they are as expected. Edit the file again if necessary."
        )
    );
    assert_eq!(
        fs::read_to_string(srv.workdir.join("c.py")).unwrap(),
        "print(1)\nprint(2)\n"
    );

    let obs = srv.exec(edit_action(&p, "undo_edit", json!({})));
    assert_eq!(
        obs["content"],
        format!(
            "Last edit to {p} undone successfully. Here's the result of running `cat -n` on {p}:\n     1\tprint(1)\n     2\tprint(3)\n     3\t\n"
        )
    );
    assert_eq!(
        obs["extras"]["diff"],
        format!("--- {p}\n+++ {p}\n@@ -2 +2 @@\n-print(2)\n+print(3)")
    );

    // A relative path resolves against the shell's cwd; extras.path stays as sent.
    let obs = srv.exec(edit_action("c.py", "view", json!({})));
    assert_eq!(obs["extras"]["path"], "c.py");
    assert_eq!(
        obs["content"],
        format!(
            "Here's the result of running `cat -n` on {p}:\n     1\tprint(1)\n     2\tprint(3)\n     3\t\n"
        )
    );
}

#[test]
fn directory_view_with_spaces_and_hidden_entries() {
    let srv = Server::start();
    let dir = srv.workdir.join("my project");
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::create_dir_all(dir.join(".git")).unwrap();
    fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    fs::write(dir.join("READ ME.md"), "hi").unwrap();
    let d = dir.display().to_string();
    let obs = srv.exec(edit_action(&d, "view", json!({})));
    assert_eq!(
        obs["content"],
        format!(
            "Here's the files and directories up to 2 levels deep in {d}, excluding hidden items:\n{d}/\n{d}/READ ME.md\n{d}/src/\n{d}/src/main.rs\n\n1 hidden files/directories in this directory are excluded. You can use 'ls -la {d}' to see them."
        )
    );
}

#[test]
fn editor_faults_are_observations() {
    let srv = Server::start();
    let w = ws(&srv);
    let content = |action: Value| {
        srv.exec(action)["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };

    assert_eq!(
        content(edit_action(
            "x.txt",
            "insert",
            json!({"insert_line": "abc", "new_str": "y"})
        )),
        "ERROR:\nInvalid insert_line value: 'abc'. Expected an integer."
    );
    assert_still_serving(&srv);

    let big = srv.workdir.join("huge.log");
    fs::File::create(&big)
        .unwrap()
        .set_len(11 * 1024 * 1024)
        .unwrap();
    // Editing commands refuse it; `view` pages it instead (see `huge_files_are_read_in_pages`).
    assert_eq!(
        content(edit_action(
            "huge.log",
            "insert",
            json!({"insert_line": 0, "new_str": "y"})
        )),
        format!(
            "ERROR:\nFile validation failed for {w}/huge.log: File is too large (11.0MB). Maximum allowed size is 10MB."
        )
    );
    assert_still_serving(&srv);

    fs::write(srv.workdir.join("dot.png"), PNG_1X1).unwrap();
    assert_eq!(
        content(edit_action("dot.png", "view", json!({}))),
        format!(
            "ERROR:\nFile validation failed for {w}/dot.png: File appears to be binary and this file type cannot be read or edited by this tool."
        )
    );
    fs::write(srv.workdir.join("latin1.txt"), b"caf\xe9\n").unwrap();
    assert_eq!(
        content(edit_action(
            "latin1.txt",
            "str_replace",
            json!({"old_str": "caf", "new_str": "x"})
        )),
        format!(
            "ERROR:\nFile validation failed for {w}/latin1.txt: File is not valid UTF-8 (invalid byte at offset 3). This tool only reads and edits UTF-8 text; convert the file first, e.g. with iconv."
        )
    );
    assert_still_serving(&srv);

    fs::write(srv.workdir.join("a.txt"), "Line 1\nLine 2\n").unwrap();
    assert_eq!(
        content(edit_action(
            "a.txt",
            "str_replace",
            json!({"old_str": "", "new_str": "x"})
        )),
        "ERROR:\nParameter `old_str` must not be empty for command: str_replace."
    );
    assert_eq!(
        content(edit_action(
            "a.txt",
            "insert",
            json!({"insert_line": 9, "new_str": "x"})
        )),
        "ERROR:\nInvalid `insert_line` parameter: 9. It should be within the range of allowed values: [0, 2]"
    );
    assert_eq!(
        content(edit_action("missing.txt", "view", json!({}))),
        format!(
            "ERROR:\nInvalid `path` parameter: {w}/missing.txt. The path {w}/missing.txt does not exist. Please provide a valid path."
        )
    );
    assert_eq!(
        fs::read_to_string(srv.workdir.join("a.txt")).unwrap(),
        "Line 1\nLine 2\n"
    );
    assert_still_serving(&srv);
}

#[test]
fn confined_server_refuses_outside_paths() {
    let srv = Server::builder().arg("--confine-files").start();
    let w = ws(&srv);
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().canonicalize().unwrap().join("secret.txt");
    fs::write(&secret, "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), srv.workdir.join("escape")).unwrap();
    let s = secret.display().to_string();
    let refusal = |p: &str| {
        error(&format!(
            "Path {p} is outside the working directory {w}: this runtime only accepts file operations inside it"
        ))
    };

    assert_eq!(srv.exec(read_action(&s)), refusal(&s));
    assert_eq!(srv.exec(read_aci(&s, Value::Null)), refusal(&s));
    assert_eq!(srv.exec(write_action(&s, "pwned")), refusal(&s));
    assert_eq!(
        srv.exec(edit_action(
            &s,
            "str_replace",
            json!({"old_str": "secret", "new_str": "x"})
        )),
        refusal(&s)
    );
    let via_link = format!("{w}/escape/secret.txt");
    assert_eq!(
        srv.exec(read_action("escape/secret.txt")),
        refusal(&via_link)
    );
    assert_eq!(fs::read_to_string(&secret).unwrap(), "secret");

    srv.exec(write_action("inside.txt", "ok"));
    assert_eq!(srv.exec(read_action("inside.txt"))["content"], "ok");
    assert!(Path::new(&format!("{w}/inside.txt")).exists());
}

/// A client that gives up quickly: before the fix a FIFO read never answered.
fn impatient(srv: &Server, action: Value) -> (u16, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .unwrap();
    let resp = client
        .post(srv.url("/execute_action"))
        .header("X-Session-API-Key", KEY)
        .json(&json!({ "action": action }))
        .send()
        .expect("the file action must answer, not block");
    (resp.status().as_u16(), resp.json().unwrap())
}

/// The tester's OOM (`/dev/zero`, `/dev/urandom`) and hang (a FIFO, which also wedged every later read):
/// anything but a regular file is refused without being read, and the next actions are served.
#[test]
fn devices_and_fifos_are_refused_without_blocking() {
    let srv = Server::start();
    let fifo = srv.workdir.join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let p = fifo.display().to_string();
    let fifo_refusal = |doing: &str| {
        format!(
            "{p} is a named pipe (FIFO), not a regular file: this tool can only {doing} regular files"
        )
    };
    let zero = "/dev/zero is a character device, not a regular file: this tool can only read regular files";
    let urandom = "/dev/urandom is a character device, not a regular file: this tool can only read regular files";
    assert_eq!(
        impatient(&srv, read_action("pipe")),
        (200, error(&fifo_refusal("read")))
    );
    assert_eq!(
        impatient(&srv, read_action("/dev/zero")),
        (200, error(zero))
    );
    assert_eq!(
        impatient(&srv, read_action("/dev/urandom")),
        (200, error(urandom))
    );
    assert_eq!(
        impatient(&srv, read_aci("/dev/zero", Value::Null)).1["content"],
        "ERROR:\n/dev/zero is a character device, not a regular file: this tool can only view or edit regular files"
    );
    let (_, view) = impatient(&srv, edit_action("pipe", "view", json!({})));
    assert_eq!(
        view["content"],
        format!("ERROR:\n{}", fifo_refusal("view or edit"))
    );
    let (_, replaced) = impatient(
        &srv,
        edit_action(
            "pipe",
            "str_replace",
            json!({"old_str": "a", "new_str": "b"}),
        ),
    );
    assert_eq!(
        replaced["content"],
        format!("ERROR:\n{}", fifo_refusal("view or edit"))
    );
    assert_eq!(
        impatient(&srv, write_action("pipe", "x")),
        (200, error(&fifo_refusal("write")))
    );
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_still_serving(&srv);
}

/// A file over the 4 MiB a read returns comes back as its first part and a note on paging; the next page
/// is the next lines.
#[test]
fn huge_files_are_read_in_pages() {
    let srv = Server::start();
    let line = |n: usize| format!("line {n:07} {}\n", "x".repeat(80));
    let lines = 60_000; // 5.5 MB
    let text: String = (0..lines).map(line).collect();
    fs::write(srv.workdir.join("big.txt"), &text).unwrap();
    let p = format!("{}/big.txt", ws(&srv));

    let first = srv.exec(read_action("big.txt"));
    let content = first["content"].as_str().unwrap();
    let per_line = line(0).len();
    let shown = 4 * 1024 * 1024 / per_line;
    let expected_note = format!(
        "[{p} is {} bytes, more than the 4194304 bytes one read returns: this shows lines 1-{shown} (1-based). Read on with `start` and `end` (0-based, end exclusive), e.g. start={shown} end={}.]",
        text.len(),
        shown + 2000
    );
    let (body, note) = content.split_at(content.len() - expected_note.len());
    assert_eq!(note, expected_note);
    assert_eq!(body, (0..shown).map(line).collect::<String>());

    let next = srv.exec(read_range("big.txt", shown as i64, shown as i64 + 2));
    assert_eq!(
        next["content"],
        format!("{}{}", line(shown), line(shown + 1))
    );
    let last = srv.exec(read_range("big.txt", lines as i64 - 1, -1));
    assert_eq!(last["content"], line(lines - 1));

    // The editor's commands refuse a file over their 10 MB limit rather than load it.
    let huge = srv.workdir.join("huge.txt");
    let doubled = text.repeat(2);
    fs::write(&huge, &doubled).unwrap();
    let mb = doubled.len() as f64 / 1024.0 / 1024.0;
    let edit = srv.exec(edit_action(
        "huge.txt",
        "str_replace",
        json!({"old_str": "line 0000000", "new_str": "x"}),
    ));
    assert_eq!(
        edit["content"],
        format!(
            "ERROR:\nFile validation failed for {}/huge.txt: File is too large ({mb:.1}MB). Maximum allowed size is 10MB.",
            ws(&srv)
        )
    );
    let view = srv.exec(read_aci("huge.txt", json!([3, 4])));
    assert!(
        view["content"].as_str().unwrap().starts_with(&format!(
            "Here's the result of running `cat -n` on {}/huge.txt:\n     3\t{}",
            ws(&srv),
            line(2).trim_end()
        )),
        "{view}"
    );
}

/// The tester's escape: `ln -s /outside/x ws/d`, then `write d` or `edit create d` created `/outside/x`.
/// Links are resolved component by component, dangling ones included; in-root links still work.
#[test]
fn confine_dangling_symlink() {
    let srv = Server::builder().arg("--confine-files").start();
    let w = ws(&srv);
    let outside_dir = tempfile::tempdir().unwrap();
    let outside = outside_dir.path().canonicalize().unwrap();
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, srv.workdir.join(name)).unwrap()
    };
    link(&outside.join("x"), "d");
    link(Path::new("hop"), "chain");
    link(&outside.join("y"), "hop");
    link(&outside.join("newdir"), "dd");
    fs::create_dir(srv.workdir.join("sub")).unwrap();
    std::os::unix::fs::symlink(&outside, srv.workdir.join("sub/out")).unwrap();
    link(Path::new("sub/../.."), "up");
    let refusal = |p: &str| {
        error(&format!(
            "Path {w}/{p} is outside the working directory {w}: this runtime only accepts file operations inside it"
        ))
    };
    for p in ["d", "chain", "dd/file.txt", "sub/out/z.txt", "up/x"] {
        assert_eq!(srv.exec(write_action(p, "pwned")), refusal(p), "write {p}");
        assert_eq!(
            srv.exec(edit_action(p, "create", json!({"file_text": "pwned"}))),
            refusal(p),
            "create {p}"
        );
        assert_eq!(srv.exec(read_action(p)), refusal(p), "read {p}");
    }
    let mut left: Vec<_> = fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert!(left.is_empty(), "nothing may be created outside: {left:?}");

    // Links inside the working directory, dangling or not, still work.
    link(&srv.workdir.join("sub/target.txt"), "inside");
    link(Path::new("sub"), "subdir");
    assert_eq!(
        srv.exec(write_action("inside", "via link"))["observation"],
        "write"
    );
    assert_eq!(
        fs::read_to_string(srv.workdir.join("sub/target.txt")).unwrap(),
        "via link"
    );
    assert_eq!(
        srv.exec(read_action("subdir/target.txt"))["content"],
        "via link"
    );
    let created = srv.exec(edit_action(
        "subdir/new.txt",
        "create",
        json!({"file_text": "new"}),
    ));
    assert_eq!(created["observation"], "edit", "{created}");
    assert_eq!(
        fs::read_to_string(srv.workdir.join("sub/new.txt")).unwrap(),
        "new"
    );
}
