//! The editor's `view` output and its path and file validation messages.

use std::fs;

use expect_test::expect;
use pretty_assertions::assert_eq;

use super::*;

#[test]
fn view_numbers_lines_like_cat_n() {
    let f = Fixture::new();
    let p = f.file("a.txt", "line 1\n\tindented\nline 3\n");
    check(
        f.view(&p, None),
        expect![[r#"
            Here's the result of running `cat -n` on /w/a.txt:
                 1	line 1
                 2		indented
                 3	line 3
                 4	
        "#]],
    );
    let empty = f.file("empty.txt", "");
    assert_eq!(
        f.view(&empty, None),
        "Here's the result of running `cat -n` on /w/empty.txt:\n     1\t\n"
    );
}

#[test]
fn view_range_rules_and_messages() {
    let f = Fixture::new();
    let p = f.file("a.txt", "one\ntwo\nthree\n");
    let views: Vec<String> = [
        vec![2, 3],
        vec![2, -1],
        vec![2, 9],
        vec![0, 2],
        vec![3, 2],
        vec![4, 4],
        vec![1, 2, 3],
        vec![],
    ]
    .iter()
    .map(|r| f.view(&p, Some(r)))
    .collect();
    check(
        views.join("---\n"),
        expect![[r#"
            Here's the result of running `cat -n` on /w/a.txt:
                 2	two
                 3	three
            ---
            Here's the result of running `cat -n` on /w/a.txt:
                 2	two
                 3	three
            ---
            NOTE: We only show up to 3 since there're only 3 lines in this file.
            Here's the result of running `cat -n` on /w/a.txt:
                 2	two
                 3	three
            ---
            ERROR:
            Invalid `view_range` parameter: [0, 2]. Its first element `0` should be within the range of lines of the file: [1, 3].---
            ERROR:
            Invalid `view_range` parameter: [3, 2]. Its second element `2` should be greater than or equal to the first element `3`.---
            ERROR:
            Invalid `view_range` parameter: [4, 4]. Its first element `4` should be within the range of lines of the file: [1, 3].---
            ERROR:
            Invalid `view_range` parameter: [1, 2, 3]. It should be a list of two integers.---
            Here's the result of running `cat -n` on /w/a.txt:
                 1	one
                 2	two
                 3	three
                 4	
        "#]],
    );
    assert_eq!(
        f.view(&f.root, Some(&[1, 2])),
        "ERROR:\nInvalid `view_range` parameter: [1, 2]. The `view_range` parameter is not allowed when `path` points to a directory."
    );
}

#[test]
fn long_files_are_clipped_at_16000_characters() {
    let f = Fixture::new();
    let text: String = (1..=3000).map(|i| format!("Line {i}\n")).collect();
    let p = f.file("big.txt", text);
    let out = f.view(&p, None);
    let tail = out.split('\n').rev().take(4).collect::<Vec<_>>();
    check(
        // A first line without indentation keeps expect-test from stripping the number padding.
        format!(
            "...\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ),
        expect![[r#"
            ...
              1709	Line 1709
              1710	Line 1710
              1711	Line 17<response clipped><NOTE>Due to the max output limit, only part of this file has been shown to you. You should retry this tool after you have searched inside the file with `grep -n` in order to find the line numbers of what you are looking for.</NOTE>
        "#]],
    );
}

#[test]
fn path_and_file_validation_messages() {
    let mut f = Fixture::new();
    let bin = f.file("prog", b"\x7fELF\x02\x01\x01\0\0\0");
    let latin1 = f.file("latin1.txt", b"caf\xe9\n");
    let pdf = f.file("doc.pdf", "%PDF-1.4");
    let txt = f.file("a.txt", "x");
    let big = f.root.join("big.log");
    fs::File::create(&big)
        .unwrap()
        .set_len(10 * 1024 * 1024 + 200_000)
        .unwrap();
    let missing = f.root.join("missing.txt");
    let root = f.root.clone();
    let outs = [
        f.run(&bin, cmd("view")),
        f.run(&latin1, replace("caf", "cafe")),
        // Too large to edit (`view` pages it instead: see `view_pages_a_file_over_the_size_limit`).
        f.run(&big, replace("a", "b")),
        f.run(&pdf, replace("a", "b")),
        f.view(&pdf, None),
        f.run(&missing, cmd("view")),
        f.run(
            &txt,
            EditArgs {
                file_text: Some("y"),
                ..cmd("create")
            },
        ),
        f.run(&txt, cmd("create")),
        f.run(&root, insert(0, "x")),
        f.run(&txt, cmd("delete")),
        f.run(
            &missing,
            EditArgs {
                file_text: None,
                ..cmd("create")
            },
        ),
    ];
    check(
        outs.join("\n---\n"),
        expect![[r#"
            ERROR:
            File validation failed for /w/prog: File appears to be binary and this file type cannot be read or edited by this tool.
            ---
            ERROR:
            File validation failed for /w/latin1.txt: File is not valid UTF-8 (invalid byte at offset 3). This tool only reads and edits UTF-8 text; convert the file first, e.g. with iconv.
            ---
            ERROR:
            File validation failed for /w/big.log: File is too large (10.2MB). Maximum allowed size is 10MB.
            ---
            ERROR:
            Invalid `path` parameter: /w/doc.pdf. The path /w/doc.pdf points to a binary file (.pdf) and only the `view` command can be used on supported binary files.
            ---
            ERROR:
            Error in converting file to Markdown: this runtime does not convert documents or audio. Please use Python code to read /w/doc.pdf
            ---
            ERROR:
            Invalid `path` parameter: /w/missing.txt. The path /w/missing.txt does not exist. Please provide a valid path.
            ---
            ERROR:
            Invalid `path` parameter: /w/a.txt. File already exists at: /w/a.txt. Cannot overwrite files using command `create`.
            ---
            ERROR:
            Invalid `path` parameter: /w/a.txt. File already exists at: /w/a.txt. Cannot overwrite files using command `create`.
            ---
            ERROR:
            Invalid `path` parameter: /w. The path /w is a directory and only the `view` command can be used on directories.
            ---
            ERROR:
            Unrecognized command delete. The allowed commands for the oh_editor tool are: view, create, str_replace, insert, undo_edit
            ---
            ERROR:
            Parameter `file_text` is required for command: create."#]],
    );
}

/// A file over the 10 MB limit is shown in parts (OpenHands refuses it), read with bounded memory.
#[test]
fn view_pages_a_file_over_the_size_limit() {
    let f = Fixture::new();
    let mut text = String::new();
    let mut n = 0;
    while text.len() <= 10 * 1024 * 1024 {
        n += 1;
        text.push_str(&format!("line {n} {}\n", "x".repeat(90)));
    }
    let p = f.file("huge.txt", &text);
    let short = |out: String| {
        let lines: Vec<&str> = out.lines().collect();
        format!(
            "{}\n{}\n...\n{}",
            lines[0],
            lines[1],
            lines[lines.len() - 1]
        )
    };
    check(
        [
            short(f.view(&p, Some(&[100_000, 100_002]))),
            short(f.view(&p, None)),
            f.view(&p, Some(&[200_000, 200_001])),
        ]
        .join("\n---\n"),
        expect![[r#"
            Here's the result of running `cat -n` on /w/huge.txt:
            100000	line 100000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
            ...
            <NOTE>/w/huge.txt is 10485844 bytes, over the 10MB this tool reads at once: lines 100000-100002 of 102883 are shown. View other parts with `view_range`, e.g. [100003, 100202], or search with `grep -n`. The file cannot be edited with this tool.</NOTE>
            ---
            Here's the result of running `cat -n` on /w/huge.txt:
                 1	line 1 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
            ...
            <NOTE>/w/huge.txt is 10485844 bytes, over the 10MB this tool reads at once: lines 1-161 are shown. View other parts with `view_range`, e.g. [162, 361], or search with `grep -n`. The file cannot be edited with this tool.</NOTE>
            ---
            ERROR:
            Invalid `view_range` parameter: [200000, 200001]. Its first element `200000` should be within the range of lines of the file: [1, 102883]."#]],
    );
}

/// Devices and FIFOs are refused without being opened for a blocking read (the tester's OOM and hang).
#[test]
fn view_and_edits_refuse_what_is_not_a_regular_file() {
    let mut f = Fixture::new();
    let fifo = f.root.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let zero = std::path::Path::new("/dev/zero");
    check(
        [
            f.view(&fifo, None),
            f.run(&fifo, replace("a", "b")),
            f.view(zero, Some(&[1, 2])),
            f.run(zero, insert(0, "x")),
        ]
        .join("\n---\n"),
        expect![[r#"
            ERROR:
            /w/fifo is a named pipe (FIFO), not a regular file: this tool can only view or edit regular files
            ---
            ERROR:
            /w/fifo is a named pipe (FIFO), not a regular file: this tool can only view or edit regular files
            ---
            ERROR:
            /dev/zero is a character device, not a regular file: this tool can only view or edit regular files
            ---
            ERROR:
            /dev/zero is a character device, not a regular file: this tool can only view or edit regular files"#]],
    );
}
