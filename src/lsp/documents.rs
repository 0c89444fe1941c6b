//! The open buffers as the editor has them (didOpen / incremental didChange / didClose), in ropes, with
//! LSP positions converted in the negotiated encoding. Updated synchronously, before any await.

use std::collections::HashMap;

use ropey::Rope;
use tower_lsp_server::ls_types::{Position, TextDocumentContentChangeEvent};

/// The unit of `Position.character`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    fn units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
            Encoding::Utf32 => 1,
        }
    }
}

/// One open buffer.
#[derive(Debug, Clone)]
pub struct Document {
    pub version: i32,
    pub language_id: String,
    pub text: Rope,
}

/// Why a change could not be applied; the buffer is then left as it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentError {
    #[error("no open document {0}: didChange before didOpen, or after didClose")]
    Unknown(String),
    #[error("range {0} is outside {1} (it has {2} lines)")]
    OutOfBounds(String, String, usize),
    #[error("version {0} of {1} arrived after version {2}")]
    Stale(i32, String, i32),
}

/// What became of a `didChange`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Applied, with any held successors it made consecutive.
    Applied,
    /// Held: its version is not the next one, and an earlier change may still be on its way (Helix sends
    /// each `didChange` from its own task, so they can arrive out of order). Call `flush` after a moment.
    Held,
}

/// Open buffers by URI.
#[derive(Debug)]
pub struct Documents {
    encoding: Encoding,
    docs: HashMap<String, Document>,
    /// Changes that arrived ahead of their predecessor, by URI and version.
    held: HashMap<String, std::collections::BTreeMap<i32, Vec<TextDocumentContentChangeEvent>>>,
}

impl Documents {
    pub fn new(encoding: Encoding) -> Self {
        Self {
            encoding,
            docs: HashMap::new(),
            held: HashMap::new(),
        }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn open(&mut self, uri: &str, version: i32, language_id: &str, text: &str) {
        self.docs.insert(
            uri.to_owned(),
            Document {
                version,
                language_id: language_id.to_owned(),
                text: Rope::from_str(text),
            },
        );
    }

    pub fn close(&mut self, uri: &str) {
        self.docs.remove(uri);
        self.held.remove(uri);
    }

    pub fn get(&self, uri: &str) -> Option<&Document> {
        self.docs.get(uri)
    }

    /// The URIs of the open documents.
    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The char index of `pos`; a character past the end of its line clamps to the line end (as the
    /// LSP specification asks), a line past the end is an error.
    pub fn char_index(&self, text: &Rope, pos: Position) -> Option<usize> {
        let line = pos.line as usize;
        if line > text.len_lines() {
            return None;
        }
        if line == text.len_lines() {
            return (pos.character == 0).then(|| text.len_chars());
        }
        let start = text.line_to_char(line);
        let slice = text.line(line);
        let mut units = 0usize;
        let mut chars = 0usize;
        for c in slice.chars() {
            if c == '\n' || c == '\r' || units >= pos.character as usize {
                break;
            }
            units += self.encoding.units(c);
            chars += 1;
        }
        Some(start + chars)
    }

    /// The LSP position of char index `idx`.
    pub fn position(&self, text: &Rope, idx: usize) -> Position {
        let idx = idx.min(text.len_chars());
        let line = text.char_to_line(idx);
        let start = text.line_to_char(line);
        let units: usize = text
            .slice(start..idx)
            .chars()
            .map(|c| self.encoding.units(c))
            .sum();
        Position::new(line as u32, units as u32)
    }

    /// Takes the `didChange` of `version`: applies it when it is the next version (then any held changes
    /// that follow it), holds it when an earlier one is missing.
    pub fn change(
        &mut self,
        uri: &str,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
    ) -> Result<Change, DocumentError> {
        let current = self
            .docs
            .get(uri)
            .ok_or_else(|| DocumentError::Unknown(uri.to_owned()))?
            .version;
        if version <= current {
            return Err(DocumentError::Stale(version, uri.to_owned(), current));
        }
        if version > current + 1 {
            self.held
                .entry(uri.to_owned())
                .or_default()
                .insert(version, changes.to_vec());
            return Ok(Change::Held);
        }
        self.apply(uri, version, changes)?;
        self.apply_successors(uri)?;
        Ok(Change::Applied)
    }

    /// Applies held changes that became consecutive.
    fn apply_successors(&mut self, uri: &str) -> Result<(), DocumentError> {
        loop {
            let next = self.docs.get(uri).map(|d| d.version + 1);
            let Some(changes) = next.and_then(|v| self.held.get_mut(uri)?.remove(&v)) else {
                return Ok(());
            };
            self.apply(uri, next.unwrap_or_default(), &changes)?;
        }
    }

    /// Gives up waiting for the versions missing before `version`, which has been held long enough:
    /// applies the held changes up to it in version order, gaps or not (clients may skip versions:
    /// Neovim's are its `changedtick`), then those that follow without a gap. Changes held since, after a
    /// later gap, keep waiting for their own turn. Returns the first that could not be applied.
    pub fn flush_through(&mut self, uri: &str, version: i32) -> Result<(), DocumentError> {
        let Some(held) = self.held.get_mut(uri) else {
            return Ok(());
        };
        let due = match version.checked_add(1) {
            Some(after) => {
                let later = held.split_off(&after);
                std::mem::replace(held, later)
            }
            None => std::mem::take(held),
        };
        for (v, changes) in due {
            self.apply(uri, v, &changes)?;
        }
        self.apply_successors(uri)?;
        if self.held.get(uri).is_some_and(|h| h.is_empty()) {
            self.held.remove(uri);
        }
        Ok(())
    }

    /// Applies `changes` in order; all or nothing.
    fn apply(
        &mut self,
        uri: &str,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
    ) -> Result<(), DocumentError> {
        let doc = self
            .docs
            .get(uri)
            .ok_or_else(|| DocumentError::Unknown(uri.to_owned()))?;
        let mut text = doc.text.clone();
        for change in changes {
            match change.range {
                None => text = Rope::from_str(&change.text),
                Some(range) => {
                    let (Some(a), Some(b)) = (
                        self.char_index(&text, range.start),
                        self.char_index(&text, range.end),
                    ) else {
                        return Err(DocumentError::OutOfBounds(
                            format!(
                                "{}:{}-{}:{}",
                                range.start.line,
                                range.start.character,
                                range.end.line,
                                range.end.character
                            ),
                            uri.to_owned(),
                            text.len_lines(),
                        ));
                    };
                    let (a, b) = (a.min(b), a.max(b));
                    text.remove(a..b);
                    text.insert(a, &change.text);
                }
            }
        }
        if let Some(doc) = self.docs.get_mut(uri) {
            doc.text = text;
            doc.version = version;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::Range;

    fn edit(sl: u32, sc: u32, el: u32, ec: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: text.to_owned(),
        }
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut d = Documents::new(Encoding::Utf16);
        d.open("file:///a.rs", 1, "rust", "fn main() {\n    old();\n}\n");
        d.change(
            "file:///a.rs",
            2,
            &[edit(1, 4, 1, 7, "new"), edit(2, 1, 2, 1, "\n// end")],
        )
        .unwrap();
        let doc = d.get("file:///a.rs").unwrap();
        assert_eq!(doc.text.to_string(), "fn main() {\n    new();\n}\n// end\n");
        assert_eq!(doc.version, 2);
    }

    #[test]
    fn positions_count_in_the_negotiated_encoding() {
        // "é" is 2 bytes in UTF-8 and 1 unit in UTF-16; "😀" is 4 bytes, 2 UTF-16 units, 1 char.
        let text = "aé😀b\n";
        for (enc, b_col) in [
            (Encoding::Utf8, 7),
            (Encoding::Utf16, 4),
            (Encoding::Utf32, 3),
        ] {
            let mut d = Documents::new(enc);
            d.open("u", 1, "txt", text);
            d.change("u", 2, &[edit(0, b_col, 0, b_col + 1, "B")])
                .unwrap();
            assert_eq!(d.get("u").unwrap().text.to_string(), "aé😀B\n", "{enc:?}");
            let rope = d.get("u").unwrap().text.clone();
            assert_eq!(d.position(&rope, 3), Position::new(0, b_col));
        }
    }

    #[test]
    fn bad_changes_are_errors_and_change_nothing() {
        let mut d = Documents::new(Encoding::Utf16);
        assert_eq!(
            d.change("nope", 1, &[]),
            Err(DocumentError::Unknown("nope".into()))
        );
        d.open("u", 1, "txt", "one\ntwo\n");
        let err = d.change("u", 2, &[edit(0, 0, 0, 1, "x"), edit(9, 0, 9, 1, "y")]);
        assert!(matches!(err, Err(DocumentError::OutOfBounds(..))));
        assert_eq!(d.get("u").unwrap().text.to_string(), "one\ntwo\n");
        assert_eq!(d.get("u").unwrap().version, 1);
        // A character past the line end clamps to the end of that line.
        d.change("u", 2, &[edit(0, 99, 0, 99, "!")]).unwrap();
        assert_eq!(d.get("u").unwrap().text.to_string(), "one!\ntwo\n");
    }

    #[test]
    fn a_full_replacement_and_close() {
        let mut d = Documents::new(Encoding::Utf8);
        d.open("u", 1, "txt", "a");
        d.change(
            "u",
            2,
            &[TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "b".into(),
            }],
        )
        .unwrap();
        assert_eq!(d.get("u").unwrap().text.to_string(), "b");
        d.close("u");
        assert!(d.is_empty());
    }

    #[test]
    fn changes_out_of_order_are_applied_in_version_order() {
        let mut d = Documents::new(Encoding::Utf8);
        d.open("u", 1, "text", "\n");
        assert_eq!(d.change("u", 3, &[edit(0, 1, 0, 1, "b")]), Ok(Change::Held));
        assert_eq!(d.get("u").unwrap().text.to_string(), "\n");
        assert_eq!(
            d.change("u", 2, &[edit(0, 0, 0, 0, "a")]),
            Ok(Change::Applied)
        );
        assert_eq!(d.get("u").unwrap().text.to_string(), "ab\n");
        assert_eq!(d.get("u").unwrap().version, 3);
        // A client that skips versions: held until flushed, then applied in order.
        assert_eq!(d.change("u", 9, &[edit(0, 3, 0, 3, "d")]), Ok(Change::Held));
        assert_eq!(d.change("u", 7, &[edit(0, 2, 0, 2, "c")]), Ok(Change::Held));
        // Held since the first's wait began, after a later gap: not given up with it.
        assert_eq!(
            d.change("u", 12, &[edit(0, 4, 0, 4, "f")]),
            Ok(Change::Held)
        );
        d.flush_through("u", 9).unwrap();
        assert_eq!(d.get("u").unwrap().text.to_string(), "abcd\n");
        assert_eq!(d.get("u").unwrap().version, 9);
        assert_eq!(
            d.change("u", 11, &[edit(0, 4, 0, 4, "e")]),
            Ok(Change::Held)
        );
        assert_eq!(
            d.change("u", 10, &[edit(0, 4, 0, 4, "x")]),
            Ok(Change::Applied)
        );
        assert_eq!(d.get("u").unwrap().text.to_string(), "abcdfex\n");
        assert_eq!(d.get("u").unwrap().version, 12);
        d.flush_through("u", 12).unwrap();
        assert_eq!(d.get("u").unwrap().version, 12);
        assert_eq!(
            d.change("u", 9, &[edit(0, 0, 0, 0, "x")]),
            Err(DocumentError::Stale(9, "u".into(), 12))
        );
    }
}
