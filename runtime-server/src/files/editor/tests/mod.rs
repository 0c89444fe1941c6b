//! Snapshots of what the model sees from each editor command, and its error texts.

mod edit;
mod view;

use std::fs;
use std::path::{Path, PathBuf};

use expect_test::Expect;

use super::{EditArgs, Editor};

pub(super) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(super) root: PathBuf,
    editor: Editor,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        Self {
            _tmp: tmp,
            root,
            editor: Editor::default(),
        }
    }

    pub(super) fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root.join(name);
        fs::write(&p, content).unwrap();
        p
    }

    /// Runs a command and renders it as the observation content would be, the temp dir shown as `/w`.
    pub(super) fn run(&mut self, path: &Path, args: EditArgs<'_>) -> String {
        let out = match self.editor.run(path, &args) {
            Ok(outcome) => outcome.output,
            Err(e) => format!("ERROR:\n{e}"),
        };
        out.replace(&self.root.display().to_string(), "/w")
    }

    pub(super) fn view(&self, path: &Path, range: Option<&[i64]>) -> String {
        let out = match self.editor.view(path, range) {
            Ok(out) => out,
            Err(e) => format!("ERROR:\n{e}"),
        };
        out.replace(&self.root.display().to_string(), "/w")
    }
}

pub(super) fn cmd(command: &str) -> EditArgs<'_> {
    EditArgs {
        command,
        ..EditArgs::default()
    }
}

pub(super) fn replace<'a>(old: &'a str, new: &'a str) -> EditArgs<'a> {
    EditArgs {
        old_str: Some(old),
        new_str: Some(new),
        ..cmd("str_replace")
    }
}

pub(super) fn insert(line: i64, new: &str) -> EditArgs<'_> {
    EditArgs {
        insert_line: Some(line),
        new_str: Some(new),
        ..cmd("insert")
    }
}

pub(super) fn check(actual: String, expected: Expect) {
    expected.assert_eq(&actual);
}
