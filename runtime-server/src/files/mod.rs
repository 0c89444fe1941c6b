//! File actions: `read`, `write` and the `str_replace_editor` commands of `edit`.

pub(crate) mod paths;

use std::path::{Path, PathBuf};

use openhands_runtime_api::{FileEditAction, FileReadAction, FileWriteAction, Observation};

/// The file tools; the editor's undo history lives here.
pub(crate) struct FileOps {
    working_dir: PathBuf,
    confine: bool,
}

impl FileOps {
    pub fn new(working_dir: PathBuf, confine: bool) -> Self {
        Self {
            working_dir,
            confine,
        }
    }

    pub fn read(&self, action: &FileReadAction, cwd: &Path) -> Observation {
        let _ = (action, cwd, &self.working_dir, self.confine);
        Observation::error("not yet")
    }

    pub fn write(&self, action: &FileWriteAction, cwd: &Path) -> Observation {
        let _ = (action, cwd);
        Observation::error("not yet")
    }

    pub fn edit(&mut self, action: &FileEditAction, cwd: &Path) -> Observation {
        let _ = (action, cwd);
        Observation::error("not yet")
    }
}
