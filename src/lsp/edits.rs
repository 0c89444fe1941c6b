//! Text arithmetic for agent edits to open buffers: the minimal `TextEdit`s that turn the buffer into the
//! agent's text, a line-based three-way merge that keeps what the user typed meanwhile, and the text a file
//! action proposes (shown with its approval).

use std::ops::Range;

use ropey::Rope;
use similar::{DiffOp, TextDiff};
use tower_lsp_server::ls_types::{
    DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier, Range as LspRange,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use openhands_runtime_api::Action;

use super::ClientProfile;
use super::documents::Documents;

/// `edits` of the buffer `uri` at `version` as the editor takes them: versioned `documentChanges` (so an
/// editor whose buffer moved on refuses them) where it handles those, plain `changes` otherwise.
pub fn buffer_edit(
    profile: &ClientProfile,
    uri: Uri,
    version: i32,
    edits: Vec<TextEdit>,
) -> WorkspaceEdit {
    if profile.document_changes {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri,
                    version: Some(version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..Default::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some([(uri, edits)].into_iter().collect()),
            ..Default::default()
        }
    }
}

/// The whole file a write or editor action would leave, given the file's text `old` (`None`: no such file),
/// or `None` when it cannot be told without running it (a `str_replace` whose text is not there exactly
/// once, `undo_edit`, a view).
pub fn proposed_text(action: &Action, old: Option<&str>) -> Option<String> {
    match action {
        Action::Write(w) => Some(w.content.clone()),
        Action::Edit(e) => match e.command.as_str() {
            "create" => e.file_text.clone(),
            "str_replace" => {
                let (from, to) = (e.old_str.as_deref()?, e.new_str.as_deref().unwrap_or(""));
                let text = old?;
                (!from.is_empty() && text.matches(from).count() == 1)
                    .then(|| text.replacen(from, to, 1))
            }
            "insert" => {
                // After line `insert_line` (0: at the top), as the editor tool does.
                let at = usize::try_from(e.insert_line.as_ref()?.as_u64()?).ok()?;
                let mut lines: Vec<&str> = old?.split_inclusive('\n').collect();
                let added = format!("{}\n", e.new_str.as_deref()?);
                lines.insert(at.min(lines.len()), &added);
                Some(lines.concat())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Bytes compared at a time when looking for the common prefix and suffix (`==` on slices is memcmp).
const CHUNK: usize = 256;

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + CHUNK <= n && a[i..i + CHUNK] == b[i..i + CHUNK] {
        i += CHUNK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    while i + CHUNK <= limit && a[la - i - CHUNK..la - i] == b[lb - i - CHUNK..lb - i] {
        i += CHUNK;
    }
    while i < limit && a[la - i - 1] == b[lb - i - 1] {
        i += 1;
    }
    i
}

/// The edits that turn `old` (the text of `rope`) into `new`, whole lines at a time, one per changed hunk.
/// Cost: a memcmp of the unchanged head and tail plus a line diff of the changed middle only.
pub fn minimal_edits(docs: &Documents, rope: &Rope, old: &str, new: &str) -> Vec<TextEdit> {
    if old == new {
        return Vec::new();
    }
    let (ob, nb) = (old.as_bytes(), new.as_bytes());
    // The unchanged head, cut back to a line start (line starts are char boundaries).
    let prefix = common_prefix(ob, nb);
    let head_line = rope.byte_to_line(prefix);
    let start = rope.line_to_byte(head_line);
    // The unchanged tail, cut forward to a line start of `old`.
    let limit = (ob.len() - start).min(nb.len() - start);
    let suffix = common_suffix(ob, nb, limit);
    let mut old_end = ob.len() - suffix;
    if old_end > start && ob[old_end - 1] != b'\n' {
        old_end = match old[old_end..].find('\n') {
            Some(i) => old_end + i + 1,
            None => ob.len(),
        };
    }
    let new_end = old_end + nb.len() - ob.len();
    let (old_mid, new_mid) = (&old[start..old_end], &new[start..new_end]);
    let diff = TextDiff::from_lines(old_mid, new_mid);
    let old_lines: Vec<&str> = old_mid.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_mid.split_inclusive('\n').collect();
    let byte_of_line = |lines: &[&str], i: usize| lines[..i].iter().map(|l| l.len()).sum::<usize>();
    let mut edits = Vec::new();
    for group in diff.grouped_ops(0) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let a = start + byte_of_line(&old_lines, old_range.start);
        let b = start + byte_of_line(&old_lines, old_range.end);
        let text: String = new_lines[new_range].concat();
        let range = LspRange::new(
            docs.position(rope, rope.byte_to_char(a)),
            docs.position(rope, rope.byte_to_char(b)),
        );
        edits.push(TextEdit::new(range, text));
    }
    edits
}

/// Changed base lines and their replacement in the other text.
#[derive(Debug, Clone, PartialEq)]
struct Hunk {
    base: Range<usize>,
    lines: Vec<String>,
}

fn hunks(base: &str, other: &str) -> Vec<Hunk> {
    let other_lines: Vec<&str> = other.split_inclusive('\n').collect();
    let diff = TextDiff::from_lines(base, other);
    let mut out: Vec<Hunk> = Vec::new();
    for op in diff.ops() {
        if matches!(op, DiffOp::Equal { .. }) {
            continue;
        }
        let (b, o) = (op.old_range(), op.new_range());
        let lines: Vec<String> = other_lines[o].iter().map(|s| (*s).to_owned()).collect();
        match out.last_mut() {
            Some(h) if h.base.end == b.start => {
                h.base.end = b.end;
                h.lines.extend(lines);
            }
            _ => out.push(Hunk { base: b, lines }),
        }
    }
    out
}

/// Where the agent's and the user's changes to the same base touch the same lines.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("both changed lines {}-{}", .first_line, .last_line)]
pub struct Conflict {
    pub first_line: usize,
    pub last_line: usize,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    (a.start < b.end && b.start < a.end) || a.start == b.start
}

/// Merges `ours` and `theirs`, both edits of `base`; identical changes count once, overlapping ones conflict.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Result<String, Conflict> {
    if ours == theirs || theirs == base {
        return Ok(ours.to_owned());
    }
    if ours == base {
        return Ok(theirs.to_owned());
    }
    let mut all: Vec<Hunk> = Vec::new();
    let theirs_hunks = hunks(base, theirs);
    for h in hunks(base, ours) {
        if let Some(t) = theirs_hunks.iter().find(|t| overlaps(&t.base, &h.base))
            && *t != h
        {
            let first = h.base.start.min(t.base.start) + 1;
            let last = h.base.end.max(t.base.end).max(first);
            return Err(Conflict {
                first_line: first,
                last_line: last,
            });
        }
        all.push(h);
    }
    for t in theirs_hunks {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    all.sort_by_key(|h| (h.base.start, h.base.end));
    let base_lines: Vec<&str> = base.split_inclusive('\n').collect();
    let mut out = String::with_capacity(base.len().max(ours.len()));
    let mut at = 0;
    for h in all {
        out.extend(base_lines[at..h.base.start].iter().copied());
        out.extend(h.lines.iter().map(String::as_str));
        at = h.base.end;
    }
    out.extend(base_lines[at..].iter().copied());
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_proposed_text_of_each_file_action() {
        use openhands_runtime_api::{Action, FileEditAction, FileWriteAction};
        let edit = |command: &str, f: &dyn Fn(&mut FileEditAction)| {
            let mut e = FileEditAction::new("a.py", command);
            f(&mut e);
            Action::Edit(e)
        };
        let old = Some("x = 1\ny = 2\n");
        let replace = edit("str_replace", &|e| {
            e.old_str = Some("y = 2".into());
            e.new_str = Some("y = 3".into());
        });
        assert_eq!(
            super::proposed_text(&replace, old).as_deref(),
            Some("x = 1\ny = 3\n")
        );
        // Not there exactly once: unknown until it runs.
        let twice = edit("str_replace", &|e| e.old_str = Some("=".into()));
        assert_eq!(super::proposed_text(&twice, old), None);
        let insert = edit("insert", &|e| {
            e.insert_line = Some(serde_json::json!(1));
            e.new_str = Some("z = 0".into());
        });
        assert_eq!(
            super::proposed_text(&insert, old).as_deref(),
            Some("x = 1\nz = 0\ny = 2\n")
        );
        let create = edit("create", &|e| e.file_text = Some("new\n".into()));
        assert_eq!(
            super::proposed_text(&create, None).as_deref(),
            Some("new\n")
        );
        let write = Action::Write(FileWriteAction::new("a.py", "all\n"));
        assert_eq!(super::proposed_text(&write, old).as_deref(), Some("all\n"));
        assert_eq!(super::proposed_text(&edit("undo_edit", &|_| {}), old), None);
    }

    use super::*;
    use crate::lsp::documents::Encoding;
    use pretty_assertions::assert_eq;

    fn apply(old: &str, edits: &[TextEdit], docs: &mut Documents) -> String {
        docs.open("file:///t", 1, "text", old);
        let changes: Vec<_> = edits
            .iter()
            .rev()
            .map(
                |e| tower_lsp_server::ls_types::TextDocumentContentChangeEvent {
                    range: Some(e.range),
                    range_length: None,
                    text: e.new_text.clone(),
                },
            )
            .collect();
        docs.change("file:///t", 2, &changes).unwrap();
        docs.get("file:///t").unwrap().text.to_string()
    }

    fn roundtrip(old: &str, new: &str) -> Vec<TextEdit> {
        let mut docs = Documents::new(Encoding::Utf16);
        let edits = minimal_edits(&docs, &Rope::from_str(old), old, new);
        assert_eq!(apply(old, &edits, &mut docs), new, "edits {edits:?}");
        edits
    }

    #[test]
    fn edits_are_whole_changed_lines_only() {
        let old = "a\nb\nc\nd\ne\n";
        let edits = roundtrip(old, "a\nB\nc\nd\nE\n");
        assert_eq!(edits.len(), 2);
        assert_eq!(edits[0].new_text, "B\n");
        assert_eq!((edits[0].range.start.line, edits[0].range.end.line), (1, 2));
        assert_eq!(edits[1].new_text, "E\n");
    }

    #[test]
    fn edge_cases_round_trip() {
        for (old, new) in [
            ("", "x"),
            ("x", ""),
            ("a\nb", "a\nc"),
            ("a\nb", "a\nb\n"),
            ("a\nb\n", "a\nb"),
            ("héllo\nwörld 😀\n", "héllo\nwörld 😀 again\nend"),
            ("same\n", "same\n"),
            ("a\na\na\n", "a\na\n"),
            ("x\r\ny\r\n", "x\r\nz\r\n"),
            ("abc", "abd"),
        ] {
            roundtrip(old, new);
        }
    }

    #[test]
    fn a_one_line_change_in_a_large_document_is_one_small_edit() {
        let old: String = (0..100_000).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 50000\n", "changed\n");
        let edits = roundtrip(&old, &new);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].range.start.line, 50_000);
        assert_eq!(edits[0].new_text, "changed\n");
    }

    #[test]
    fn merge_keeps_both_sides_apart_and_refuses_overlaps() {
        let base = "1\n2\n3\n4\n5\n";
        let ours = "1\nTWO\n3\n4\n5\n";
        let theirs = "1\n2\n3\n4\nFIVE\n";
        assert_eq!(merge3(base, ours, theirs).unwrap(), "1\nTWO\n3\n4\nFIVE\n");
        assert_eq!(
            merge3(base, ours, "1\n2\n3\nnew\n4\n5\n").unwrap(),
            "1\nTWO\n3\nnew\n4\n5\n"
        );
        assert_eq!(merge3(base, ours, ours).unwrap(), ours);
        assert_eq!(
            merge3(base, ours, "1\nzwei\n3\n4\n5\n"),
            Err(Conflict {
                first_line: 2,
                last_line: 2
            })
        );
        assert!(merge3(base, "0\n1\n2\n3\n4\n5\n", "00\n1\n2\n3\n4\n5\n").is_err());
    }
}
