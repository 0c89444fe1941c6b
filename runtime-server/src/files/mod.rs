//! File actions: `read`, `write` and the `str_replace_editor` commands of `edit`.
//!
//! Every path is resolved against the shell's current directory and, on a confined server, must stay
//! inside the working directory. Failures are observations, never HTTP errors.

mod diff;
mod editor;
pub(crate) mod paths;
mod read;
pub(crate) mod regular;
mod view_dir;
mod write;

use std::path::{Path, PathBuf};

use openhands_runtime_api::{
    FileEditAction, FileEditExtras, FileReadAction, FileWriteAction, Observation,
};
use serde_json::Value;

use editor::{EditArgs, Editor};

/// The file tools; the editor's undo history lives here.
///
/// Shared by concurrent actions without a lock around them: only the history has one, held for no I/O, so a
/// slow file (a network mount, a huge file) never holds up another file action.
pub(crate) struct FileOps {
    working_dir: PathBuf,
    confine: bool,
    editor: Editor,
}

impl FileOps {
    pub fn new(working_dir: PathBuf, confine: bool) -> Self {
        Self {
            working_dir,
            confine,
            editor: Editor::default(),
        }
    }

    /// The absolute path `path` names from `cwd`, or the refusal text of a confined server.
    fn resolve(&self, path: &str, cwd: &Path) -> Result<PathBuf, String> {
        let abs = paths::absolutize(cwd, path);
        if self.confine {
            paths::check_confined(&abs, &self.working_dir)?;
        }
        Ok(abs)
    }

    pub fn read(&self, action: &FileReadAction, cwd: &Path) -> Observation {
        let abs = match self.resolve(&action.path, cwd) {
            Ok(abs) => abs,
            Err(refusal) => return Observation::error(refusal),
        };
        if action.impl_source == "oh_aci" {
            // Editor errors stay inside the read observation, as OpenHands sends them.
            let content = self
                .editor
                .view(&abs, action.view_range.as_deref())
                .unwrap_or_else(|e| format!("ERROR:\n{e}"));
            return Observation::read(content, action.path.clone(), "oh_aci");
        }
        read::read_default(&abs, action.start, action.end, cwd)
    }

    pub fn write(&self, action: &FileWriteAction, cwd: &Path) -> Observation {
        match self.resolve(&action.path, cwd) {
            Ok(abs) => write::write_action(&abs, &action.content, action.start, action.end),
            Err(refusal) => Observation::error(refusal),
        }
    }

    pub fn edit(&self, action: &FileEditAction, cwd: &Path) -> Observation {
        if action.impl_source != "oh_aci" {
            return Observation::error(format!(
                "Edits with impl_source '{}' are applied by the OpenHands client; this runtime only runs 'oh_aci' edits",
                action.impl_source
            ));
        }
        let extras = |prev_exist: bool, diff: String| FileEditExtras {
            path: action.path.clone(),
            prev_exist,
            old_content: action.old_str.clone(),
            new_content: action.new_str.clone(),
            impl_source: "oh_aci".to_owned(),
            diff,
            diff_cache: None,
        };
        let insert_line = match action
            .insert_line
            .as_ref()
            .map(parse_insert_line)
            .transpose()
        {
            Ok(line) => line,
            Err(bad) => {
                let content =
                    format!("ERROR:\nInvalid insert_line value: '{bad}'. Expected an integer.");
                return Observation::edit(content, extras(false, String::new()));
            }
        };
        let abs = match self.resolve(&action.path, cwd) {
            Ok(abs) => abs,
            Err(refusal) => return Observation::error(refusal),
        };
        let prev_exist = abs.exists();
        let args = EditArgs {
            command: &action.command,
            file_text: action.file_text.as_deref(),
            old_str: action.old_str.as_deref(),
            new_str: action.new_str.as_deref(),
            insert_line,
        };
        match self.editor.run(&abs, &args) {
            Ok(outcome) => {
                let diff = diff::unified_diff(
                    outcome.old_content.as_deref().unwrap_or(""),
                    outcome.new_content.as_deref().unwrap_or(""),
                    &action.path,
                );
                Observation::edit(outcome.output, extras(prev_exist, diff))
            }
            Err(e) => Observation::edit(format!("ERROR:\n{e}"), extras(prev_exist, String::new())),
        }
    }
}

/// `insert_line` as OpenHands takes it: an integer or a string `int()` accepts; the error carries the
/// value as the message shows it.
fn parse_insert_line(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| n.to_string()),
        Value::String(s) => s.trim().parse().map_err(|_| s.clone()),
        other => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
