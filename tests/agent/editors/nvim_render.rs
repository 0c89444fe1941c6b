//! The renderer fed every kind of update in the shapes of editors/vscode/src/protocol.ts, compared whole,
//! and the approval prompt with the panel closed; no server.

use serde_json::json;

use super::{Home, Nvim, lines, nvim_07, nvim_011, scenario};

/// The renderer fed every kind of update (protocol.ts shapes), and the approval prompt with the panel closed.
fn renders_offline(nvim: Option<Nvim>) {
    let Some(nvim) = nvim else { return };
    let v = &nvim.version;
    let home = Home::new();
    let report = scenario(&nvim, &home, "offline", "http://127.0.0.1:9/v1");
    assert_eq!(
        lines(&report["rendered"]),
        [
            "You: fix the build",
            "",
            "Looking.",
            "",
            "Thought: It fails to link.",
            "Try again.",
            "",
            "✗ $ make &&… (exit 2)",
            "  $ make &&",
            "  $ make test",
            "  ld: error",
            "  make: *** [all] Error 2",
            "",
            "✓ str_replace Makefile",
            "  --- Makefile",
            "  @@ -1,2 +1,2 @@",
            "   a",
            "  -b",
            "  +c",
            "",
            "Edited.",
            "",
            "✓ read notes",
            "",
            "Read.",
            "  ↳ read notes",
            "  one",
            "  two",
            "",
            "Plan:",
            "  [x] Link",
            "  [~] Test",
            "  [ ] Ship",
            "── usage: 1200 prompt + 80 completion tokens · 0.0123 USD",
        ],
        "{v}"
    );
    // The thought and the read's output are folded; the failed command's output is not.
    assert_eq!(report["folds"], json!([[5, 6], [27, 28]]), "{v}");
    assert_eq!(
        report["toggled_open"], true,
        "{v}: :OpenHandsPanel opens it"
    );
    assert_eq!(
        report["closed_after_toggle"],
        json!([[5, 6], [27, 28]]),
        "{v}: the new window has the folds, closed"
    );
    assert_eq!(report["toggled_closed"], true, "{v}: and closes it");

    let selects = report["selects"].as_array().unwrap();
    assert_eq!(
        selects.len(),
        1,
        "{v}: a resolved approval is not asked: {selects:#?}"
    );
    assert_eq!(
        selects[0]["prompt"], "OpenHands wants to run: $ rm a.txt (it deletes files)",
        "{v}"
    );
    assert_eq!(
        selects[0]["floats"],
        json!([[
            "$ rm a.txt (it deletes files)",
            "$ rm a.txt",
            "--- a.txt",
            "@@ -1 +1 @@",
            "-old",
            "+new"
        ]]),
        "{v}"
    );
    assert_eq!(
        report["floats_after"], 0,
        "{v}: the float closes after the answer"
    );
    assert_eq!(
        lines(&report["after_approvals"]),
        [
            "",
            "? Approve $ rm a.txt (it deletes files)  [#a1]",
            "  $ rm a.txt",
            "  --- a.txt",
            "  @@ -1 +1 @@",
            "  -old",
            "  +new",
            "  → #a1 rejected",
            "  → #a2 timed out: not run",
        ],
        "{v}"
    );
}

#[test]
fn nvim_07_renders_every_update() {
    renders_offline(nvim_07());
}

#[test]
fn nvim_011_renders_every_update() {
    renders_offline(nvim_011());
}
