//! With the local runtime the sandbox is the user's disk: an open file's bytes and modification time are kept
//! before an action and put back after it, so the agent's change lives in the buffer until the user saves and
//! an editor watching the disk (Emacs asks "changed on disk; really edit?") sees nothing change under it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An open file's bytes and modification time on disk before an action.
pub struct Saved {
    pub host: PathBuf,
    bytes: Vec<u8>,
    modified: Option<SystemTime>,
}

impl Saved {
    /// The file as it is now; `None` when it cannot be read (never saved, or gone).
    pub fn read(host: &Path) -> Option<Self> {
        let bytes = std::fs::read(host).ok()?;
        let modified = std::fs::metadata(host).and_then(|m| m.modified()).ok();
        Some(Self {
            host: host.to_owned(),
            bytes,
            modified,
        })
    }

    /// Writes the bytes back with their modification time, unless the file still holds them.
    pub fn restore(&self) -> std::io::Result<()> {
        if std::fs::read(&self.host).is_ok_and(|now| now == self.bytes) {
            return Ok(());
        }
        std::fs::write(&self.host, &self.bytes)?;
        match self.modified {
            Some(t) => std::fs::File::options()
                .write(true)
                .open(&self.host)
                .and_then(|f| f.set_modified(t)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_comes_back_with_its_bytes_and_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "saved\n").unwrap();
        let then = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(then)
            .unwrap();
        let saved = Saved::read(&file).unwrap();
        std::fs::write(&file, "the agent's text\n").unwrap();
        saved.restore().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "saved\n");
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), then);
        assert!(Saved::read(&dir.path().join("never-saved.txt")).is_none());
    }
}
