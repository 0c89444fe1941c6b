//! The `diff` extra of edit observations: a zero-context unified diff formatted like Python's difflib.
//!
//! OpenHands computes `difflib.unified_diff(old.split('\n'), new.split('\n'), path, path, n=0)`, strips
//! trailing whitespace from every line and joins them with `\n`. The line matching comes from `similar`
//! (Myers); difflib uses Ratcliff-Obershelp, so only ambiguous multi-hunk diffs can place hunks
//! differently. The hunk text itself is formatted here exactly as difflib does.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag};

/// Past this, `similar` returns a coarser (still correct) diff instead of blocking the file tools.
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// `get_diff(old, new, path)` of openhands-aci: empty when nothing changed.
pub(crate) fn unified_diff(old: &str, new: &str, path: &str) -> String {
    let a: Vec<&str> = old.split('\n').collect();
    let b: Vec<&str> = new.split('\n').collect();
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &a,
        &b,
        Some(Instant::now() + DIFF_DEADLINE),
    );

    // With n=0 every run of unchanged lines ends a hunk, so a hunk is one maximal run of changes.
    let mut hunks: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    let mut open: Option<(Range<usize>, Range<usize>)> = None;
    for op in ops {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            hunks.extend(open.take());
            continue;
        }
        open = Some(match open.take() {
            Some((o, n)) => (o.start..old_range.end, n.start..new_range.end),
            None => (old_range, new_range),
        });
    }
    hunks.extend(open);
    if hunks.is_empty() {
        return String::new();
    }

    let mut lines = vec![format!("--- {path}"), format!("+++ {path}")];
    for (o, n) in hunks {
        lines.push(format!(
            "@@ -{} +{} @@",
            format_range(o.start, o.end),
            format_range(n.start, n.end)
        ));
        lines.extend(a[o].iter().map(|l| format!("-{l}")));
        lines.extend(b[n].iter().map(|l| format!("+{l}")));
    }
    lines
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// difflib's `_format_range_unified`: 1-based start, `,len` unless the length is 1, and an empty range
/// is written as the line before it.
fn format_range(start: usize, stop: usize) -> String {
    let len = stop - start;
    match len {
        1 => format!("{}", start + 1),
        0 => format!("{start},0"),
        _ => format!("{},{len}", start + 1),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;
    use pretty_assertions::assert_eq;

    use super::unified_diff;

    /// The `diff` values recorded from OpenHands (exchanges 44, 47, 49, 50).
    #[test]
    fn recorded_diffs_match_exactly() {
        let p = "/workspace/a.txt";
        assert_eq!(
            unified_diff(
                "line 1\nline 2\nline 3\n\n",
                "line 1\nLINE TWO\nline 3\n\n",
                p
            ),
            "--- /workspace/a.txt\n+++ /workspace/a.txt\n@@ -2 +2 @@\n-line 2\n+LINE TWO"
        );
        let c = "/workspace/c.py";
        assert_eq!(
            unified_diff("", "print(1)\n", c),
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -0,0 +1 @@\n+print(1)"
        );
        assert_eq!(
            unified_diff("print(1)\n", "print(1)\nprint(3)\n", c),
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -1,0 +2 @@\n+print(3)"
        );
        assert_eq!(
            unified_diff("print(1)\nprint(3)\n", "print(1)\n", c),
            "--- /workspace/c.py\n+++ /workspace/c.py\n@@ -2 +1,0 @@\n-print(3)"
        );
    }

    #[test]
    fn no_change_gives_an_empty_diff() {
        assert_eq!(unified_diff("", "", "p"), "");
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", "p"), "");
    }

    #[test]
    fn create_without_trailing_newline_replaces_the_empty_line() {
        assert_eq!(
            unified_diff("", "x", "p"),
            "--- p\n+++ p\n@@ -1 +1 @@\n-\n+x"
        );
    }

    #[test]
    fn separate_hunks_multi_line_ranges_and_rstripped_lines() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nB1\nB2  \nc\nd\ne\ng\n";
        expect![[r#"
            --- f.txt
            +++ f.txt
            @@ -2 +2,2 @@
            -b
            +B1
            +B2
            @@ -6 +6,0 @@
            -f"#]]
        .assert_eq(&unified_diff(old, new, "f.txt"));
    }
}
