//! The editor's `str_replace`, `insert`, `undo_edit` and `create` outputs and errors.

use std::fs;

use expect_test::expect;
use pretty_assertions::assert_eq;

use super::*;

#[test]
fn str_replace_shows_a_snippet_around_the_edit() {
    let mut f = Fixture::new();
    let text: String = (1..=20).map(|i| format!("line {i}\n")).collect();
    let p = f.file("a.txt", text);
    check(
        f.run(&p, replace("line 10\n", "line ten\nline 10.5\n")),
        expect![[r#"
            The file /w/a.txt has been edited. Here's the result of running `cat -n` on a snippet of /w/a.txt:
                 7	line 7
                 8	line 8
                 9	line 9
                10	line ten
                11	line 10.5
                12	line 11
                13	line 12
                14	line 13
                15	line 14
                16	line 15
                17	
            Review the changes and make sure they are as expected. Edit the file again if necessary."#]],
    );
}

#[test]
fn str_replace_multi_line_with_tabs_as_openhands_tests_it() {
    let mut f = Fixture::new();
    let p = f.file("test.txt", "def test():\n\tprint(\"Hello, World!\")");
    assert_eq!(
        f.run(
            &p,
            replace(
                "def test():\n\tprint(\"Hello, World!\")",
                "def test():\n\tprint(\"Hello, Universe!\")"
            )
        ),
        "The file /w/test.txt has been edited. Here's the result of running `cat -n` on a snippet of /w/test.txt:\n     1\tdef test():\n     2\t\tprint(\"Hello, Universe!\")\nReview the changes and make sure they are as expected. Edit the file again if necessary."
    );
}

#[test]
fn str_replace_errors() {
    let mut f = Fixture::new();
    let p = f.file("a.txt", "Line 1\nLine 2\nLine 3\n");
    let outs = [
        f.run(&p, replace("", "x")),
        f.run(&p, replace("Line", "L")),
        f.run(&p, replace("nope", "x")),
        f.run(&p, replace("  nope  ", "x")),
        f.run(&p, replace("Line 1", "Line 1")),
        f.run(
            &p,
            EditArgs {
                old_str: None,
                ..replace("", "x")
            },
        ),
    ];
    check(
        outs.join("\n---\n"),
        expect![[r#"
            ERROR:
            Parameter `old_str` must not be empty for command: str_replace.
            ---
            ERROR:
            No replacement was performed. Multiple occurrences of old_str `Line` in lines [1, 2, 3]. Please ensure it is unique.
            ---
            ERROR:
            No replacement was performed, old_str `nope` did not appear verbatim in /w/a.txt.
            ---
            ERROR:
            No replacement was performed, old_str `nope` did not appear verbatim in /w/a.txt.
            ---
            ERROR:
            Invalid `new_str` parameter: Line 1. No replacement was performed. `new_str` and `old_str` must be different.
            ---
            ERROR:
            Parameter `old_str` is required for command: str_replace."#]],
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), "Line 1\nLine 2\nLine 3\n");
}

#[test]
fn whitespace_fallback_keeps_new_str_as_given() {
    let mut f = Fixture::new();
    let p = f.file("a.py", "def f():\n    return 1\n");
    let out = f.run(&p, replace("  return 1  \n", "    return 2"));
    assert!(
        out.starts_with("The file /w/a.py has been edited."),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "def f():\n        return 2\n"
    );
}

#[test]
fn insert_snippets_and_range_errors() {
    let mut f = Fixture::new();
    let p = f.file("a.txt", "Line 1\nLine 2\n");
    let outs = [
        f.run(&p, insert(0, "Top")),
        f.run(&p, insert(1, "")),
        f.run(&p, insert(4, "a\nb")),
        f.run(&p, insert(99, "x")),
        f.run(&p, insert(-1, "x")),
        f.run(
            &p,
            EditArgs {
                insert_line: None,
                ..insert(0, "x")
            },
        ),
        f.run(
            &p,
            EditArgs {
                new_str: None,
                ..insert(0, "x")
            },
        ),
    ];
    check(
        outs.join("\n---\n"),
        expect![[r#"
            The file /w/a.txt has been edited. Here's the result of running `cat -n` on a snippet of the edited file:
                 1	Top
                 2	Line 1
                 3	Line 2
                 4	
            Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.
            ---
            The file /w/a.txt has been edited. Here's the result of running `cat -n` on a snippet of the edited file:
                 1	Top
                 2	
                 3	Line 1
                 4	Line 2
                 5	
            Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.
            ---
            The file /w/a.txt has been edited. Here's the result of running `cat -n` on a snippet of the edited file:
                 1	Top
                 2	
                 3	Line 1
                 4	Line 2
                 5	a
                 6	b
                 7	
            Review the changes and make sure they are as expected (correct indentation, no duplicate lines, etc). Edit the file again if necessary.
            ---
            ERROR:
            Invalid `insert_line` parameter: 99. It should be within the range of allowed values: [0, 6]
            ---
            ERROR:
            Invalid `insert_line` parameter: -1. It should be within the range of allowed values: [0, 6]
            ---
            ERROR:
            Parameter `insert_line` is required for command: insert.
            ---
            ERROR:
            Parameter `new_str` is required for command: insert."#]],
    );
    let q = f.file("no-newline.txt", "last");
    f.run(&q, insert(1, "next"));
    assert_eq!(fs::read_to_string(&q).unwrap(), "last\nnext\n");
}

#[test]
fn undo_restores_edits_in_order_but_not_a_create() {
    let mut f = Fixture::new();
    let p = f.root.join("c.py");
    let created = f.run(
        &p,
        EditArgs {
            file_text: Some("print(1)\n"),
            ..cmd("create")
        },
    );
    assert_eq!(created, "File created successfully at: /w/c.py");
    assert_eq!(
        f.run(&p, cmd("undo_edit")),
        "ERROR:\nNo edit history found for /w/c.py."
    );
    f.run(&p, insert(1, "print(2)"));
    f.run(&p, replace("print(2)", "print(3)"));
    check(
        [
            f.run(&p, cmd("undo_edit")),
            f.run(&p, cmd("undo_edit")),
            f.run(&p, cmd("undo_edit")),
        ]
        .join("\n---\n"),
        expect![[r#"
            Last edit to /w/c.py undone successfully. Here's the result of running `cat -n` on /w/c.py:
                 1	print(1)
                 2	print(2)
                 3	

            ---
            Last edit to /w/c.py undone successfully. Here's the result of running `cat -n` on /w/c.py:
                 1	print(1)
                 2	

            ---
            ERROR:
            No edit history found for /w/c.py."#]],
    );
    assert_eq!(fs::read_to_string(&p).unwrap(), "print(1)\n");
}

#[test]
fn history_keeps_the_last_ten_edits() {
    let mut f = Fixture::new();
    let p = f.file("n.txt", "0");
    for i in 0..12 {
        f.run(&p, replace(&i.to_string(), &(i + 1).to_string()));
    }
    let mut undone = 0;
    while !f.run(&p, cmd("undo_edit")).starts_with("ERROR") {
        undone += 1;
    }
    assert_eq!(undone, 10);
    assert_eq!(fs::read_to_string(&p).unwrap(), "2");
}

#[test]
fn crlf_files_are_edited_as_lines_and_keep_their_endings() {
    let mut f = Fixture::new();
    let p = f.file("w.txt", "a\r\nb\r\nc\r\n");
    let out = f.run(&p, replace("a\nb", "A\nB"));
    assert!(out.contains("     2\tB\n"), "{out}");
    assert_eq!(fs::read(&p).unwrap(), b"A\r\nB\r\nc\r\n");
    f.run(&p, cmd("undo_edit"));
    assert_eq!(fs::read(&p).unwrap(), b"a\r\nb\r\nc\r\n");
}

#[test]
fn create_writes_exactly_and_makes_parent_directories() {
    let mut f = Fixture::new();
    let p = f.root.join("new/dir/x.txt");
    let out = f.run(
        &p,
        EditArgs {
            file_text: Some("no trailing newline"),
            ..cmd("create")
        },
    );
    assert_eq!(out, "File created successfully at: /w/new/dir/x.txt");
    assert_eq!(fs::read_to_string(&p).unwrap(), "no trailing newline");
}
