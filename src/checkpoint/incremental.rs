//! The fast snapshot of a long-lived checkpoint store: the last tree in memory, a watcher naming the paths
//! that changed since, and only those files read and hashed, with git objects written in process. Anything
//! the watcher cannot vouch for sends the caller back to the full rescan (`git add --all`).

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use super::CheckpointError;
use super::objects::{Objects, hex, mode_of, parse_hex};
use super::shadow::Shadow;
use super::tree::Dir;
use super::watch::Watcher;

pub struct Incremental {
    watcher: Watcher,
    tree: Dir,
    objects: Objects,
    /// Paths the ignore rules exclude, as git said (rules change only with a rescan).
    ignored: HashSet<Vec<u8>>,
    /// Paths whose recorded blob may differ from the disk (an unsaved buffer recorded instead, a read
    /// that failed): read again at the next snapshot.
    stale: BTreeSet<Vec<u8>>,
}

/// Why the fast path could not start.
pub enum StartError {
    /// The workspace cannot be watched: every snapshot rescans.
    Unwatchable(String),
    Failed(CheckpointError),
}

fn failed(e: std::io::Error) -> CheckpointError {
    CheckpointError::Failed(format!("cannot write a checkpoint object: {e}"))
}

impl Incremental {
    /// Watches the workspace, then takes a full snapshot and keeps its tree; the watch comes first, so a
    /// change made during the scan is also reported afterwards.
    pub fn start(shadow: &Shadow) -> Result<(Self, String), StartError> {
        let mut watcher = Watcher::new(shadow.workspace()).map_err(StartError::Unwatchable)?;
        let mut check = |paths: &[Vec<u8>]| shadow.ignored_paths(paths).map_err(|e| e.to_string());
        watcher
            .watch_tree(b"", false, &mut check)
            .map_err(StartError::Unwatchable)?;
        let tree = shadow.full_snapshot(&[]).map_err(StartError::Failed)?;
        let listing = shadow
            .run(&["ls-tree", "-r", "-t", "-z", "--full-tree", &tree], None)
            .map_err(StartError::Failed)?;
        let root = parse_hex(tree.as_bytes())
            .and_then(|oid| Dir::load(oid, &listing))
            .ok_or_else(|| {
                StartError::Failed(CheckpointError::Failed(format!(
                    "cannot read the tree {tree}"
                )))
            })?;
        Ok((
            Self {
                watcher,
                tree: root,
                objects: Objects::new(shadow.git_dir()),
                ignored: HashSet::new(),
                stale: BTreeSet::new(),
            },
            tree,
        ))
    }

    /// Which of `paths` the ignore rules exclude, asking git only about those it has not answered before.
    fn excluded(&mut self, shadow: &Shadow, paths: &[Vec<u8>]) -> Result<HashSet<Vec<u8>>, String> {
        let unknown: Vec<Vec<u8>> = paths
            .iter()
            .filter(|p| !self.ignored.contains(*p))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let found = shadow.ignored_paths(&unknown).map_err(|e| e.to_string())?;
            self.ignored.extend(found);
        }
        Ok(paths
            .iter()
            .filter(|p| self.ignored.contains(*p))
            .cloned()
            .collect())
    }

    /// Brings the tree up to date with what the watcher saw; `Err` says why a full rescan is needed.
    pub fn update(&mut self, shadow: &Shadow) -> Result<(), String> {
        let changed = self.watcher.drain()?;
        for dir in &changed.gone_dirs {
            self.tree.remove(dir);
        }
        let mut dirty = std::mem::take(&mut self.stale);
        dirty.extend(changed.files);
        // Files found in new directories were asked about already.
        let mut kept = HashSet::new();
        if !changed.new_dirs.is_empty() {
            let excluded = self.excluded(shadow, &changed.new_dirs)?;
            for dir in changed.new_dirs.iter().filter(|d| !excluded.contains(*d)) {
                if shadow
                    .workspace()
                    .join(OsStr::from_bytes(dir))
                    .join(".git")
                    .exists()
                {
                    return Err(format!(
                        "a repository appeared in {}",
                        String::from_utf8_lossy(dir)
                    ));
                }
                let mut ignored = std::mem::take(&mut self.ignored);
                let mut check = |paths: &[Vec<u8>]| {
                    let found = shadow.ignored_paths(paths).map_err(|e| e.to_string())?;
                    ignored.extend(found.iter().cloned());
                    Ok(found)
                };
                let walked = self.watcher.watch_tree(dir, true, &mut check);
                self.ignored = ignored;
                let walked = walked?;
                if let Some(repo) = walked.repositories.first() {
                    return Err(format!(
                        "a repository appeared in {}",
                        String::from_utf8_lossy(repo)
                    ));
                }
                for file in walked.files {
                    kept.insert(file.clone());
                    dirty.insert(file);
                }
            }
        }
        let mut new = Vec::new();
        for path in dirty {
            if path.split(|b| *b == b'/').any(|c| c == b".git") {
                continue;
            }
            if self.tree.get(&path).is_some() || kept.contains(&path) {
                self.read(shadow, path);
            } else if std::fs::symlink_metadata(shadow.workspace().join(OsStr::from_bytes(&path)))
                .is_ok()
            {
                // New to the tree and still there (a temporary file is gone by now): git is asked.
                new.push(path);
            }
        }
        if !new.is_empty() {
            let excluded = self.excluded(shadow, &new)?;
            for path in new.into_iter().filter(|p| !excluded.contains(p)) {
                self.read(shadow, path);
            }
        }
        Ok(())
    }

    /// Records the file at `path` as the disk has it now, or forgets it when it is gone.
    fn read(&mut self, shadow: &Shadow, path: Vec<u8>) {
        let abs = shadow.workspace().join(OsStr::from_bytes(&path));
        let meta = match std::fs::symlink_metadata(&abs) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return self.tree.remove(&path);
            }
            // A parent replaced by a file, or the like.
            Err(e) if e.raw_os_error() == Some(nix::libc::ENOTDIR) => {
                return self.tree.remove(&path);
            }
            Err(e) => {
                tracing::debug!("checkpoint: cannot read {}: {e}", abs.display());
                self.stale.insert(path);
                return;
            }
        };
        let Some(mode) = mode_of(&meta) else {
            // A directory's files come with its own events (a file it replaced goes); git keeps no fifo,
            // socket or device.
            match meta.is_dir() {
                true => self.tree.remove_file(&path),
                false => self.tree.remove(&path),
            }
            return;
        };
        match self.objects.write_file(&abs, &meta) {
            Ok(oid) => self.tree.set(&path, mode, oid),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.tree.remove(&path),
            Err(e) => {
                // git's `--ignore-errors`: the file keeps what the last checkpoint had.
                tracing::debug!("checkpoint: cannot read {}: {e}", abs.display());
                self.stale.insert(path);
            }
        }
    }

    /// The tree of the workspace with `overlay` (unsaved buffers the ignore rules keep) in place of the
    /// disk's bytes of those files.
    pub fn write(
        &mut self,
        shadow: &Shadow,
        overlay: &[(String, String)],
    ) -> Result<String, CheckpointError> {
        for (rel, text) in overlay {
            let oid = self
                .objects
                .write("blob", text.as_bytes())
                .map_err(failed)?;
            let mode = std::fs::metadata(shadow.workspace().join(rel))
                .ok()
                .and_then(|m| mode_of(&m))
                .unwrap_or(super::objects::MODE_FILE);
            self.tree.set(rel.as_bytes(), mode, oid);
            self.stale.insert(rel.as_bytes().to_vec());
        }
        let root = match self.tree.write(&self.objects).map_err(failed)? {
            Some(oid) => oid,
            None => self.objects.write("tree", b"").map_err(failed)?,
        };
        Ok(hex(&root))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use super::*;

    /// A watched store and a plain one (git alone) of the same workspace.
    struct Pair {
        _data: tempfile::TempDir,
        ws: tempfile::TempDir,
        watched: Shadow,
        plain: Shadow,
    }

    impl Pair {
        fn new() -> Self {
            let data = tempfile::tempdir().unwrap();
            let ws = tempfile::tempdir().unwrap();
            let watched = Shadow::open_watched(&data.path().join("w"), ws.path()).unwrap();
            let plain = Shadow::open(&data.path().join("p"), ws.path()).unwrap();
            Self {
                _data: data,
                ws,
                watched,
                plain,
            }
        }

        fn path(&self, rel: &str) -> std::path::PathBuf {
            self.ws.path().join(rel)
        }

        fn write(&self, rel: &str, body: &[u8]) {
            let path = self.path(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }

        /// Both stores' snapshots, which must be the same tree.
        fn same(&self, what: &str) -> String {
            let fast = self.watched.snapshot(&[]).unwrap();
            let git = self.plain.snapshot(&[]).unwrap();
            assert_eq!(fast, git, "after {what}");
            fast
        }

        fn blob(&self, tree: &str, rel: &str) -> Option<Vec<u8>> {
            let b = self.watched.entry(tree, rel).unwrap()?;
            self.watched.read_blobs(&[&b.id]).unwrap().pop()
        }
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn the_watched_store_records_the_same_trees_as_git_through_every_kind_of_change() {
        let p = Pair::new();
        p.write(".gitignore", b"*.log\ntarget/\n");
        p.write(".gitattributes", b"* text=auto\n");
        p.write("src/a.rs", b"fn a() {}\n");
        p.write("src/deep/b.rs", b"fn b() {}\n");
        p.write("README", b"readme\n");
        std::fs::create_dir_all(p.path("empty")).unwrap();
        let first = p.same("the first snapshot");
        assert_eq!(p.watched.rescans(), 1);

        p.write("src/a.rs", b"fn a() { changed }\n");
        p.same("an edit");
        p.write("src/new.rs", b"new\n");
        p.same("a new file");
        p.write("src/:odd [*] name?.rs", b"odd\n");
        let tree = p.same("a new file whose name looks like a pattern");
        assert!(p.blob(&tree, "src/:odd [*] name?.rs").is_some());
        std::fs::remove_file(p.path("README")).unwrap();
        p.same("a deletion");
        std::fs::rename(p.path("src/new.rs"), p.path("src/renamed.rs")).unwrap();
        p.same("a rename");
        let script = p.path("src/deep/b.rs");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.same("a chmod +x");
        std::os::unix::fs::symlink("src/a.rs", p.path("link")).unwrap();
        p.same("a new symlink");
        p.write("bin.dat", &[0, 159, 146, 150, 255, 0, 1]);
        let crlf = b"one\r\ntwo\r\n";
        p.write("crlf.txt", crlf);
        let tree = p.same("a binary file and a CRLF file");
        // Bytes as on disk, though `text=auto` would have git convert them.
        assert_eq!(p.blob(&tree, "crlf.txt").as_deref(), Some(&crlf[..]));
        p.write("build.log", b"ignored");
        p.write("src/run.log", b"ignored too");
        p.write("target/debug/out", b"ignored directory");
        let tree = p.same("ignored files and an ignored directory");
        assert!(p.blob(&tree, "build.log").is_none());
        p.write("pkg/sub/c.rs", b"c\n");
        p.write("pkg/sub/d.log", b"ignored inside a new directory\n");
        p.write("pkg/top.rs", b"top\n");
        std::fs::create_dir_all(p.path("pkg/empty/deeper")).unwrap();
        p.same("a new directory tree");
        p.write("pkg/empty/deeper/late.rs", b"late\n");
        p.same("a file in a directory created one step before");
        std::fs::remove_dir_all(p.path("src/deep")).unwrap();
        p.same("a removed directory");
        std::fs::remove_file(p.path("src/renamed.rs")).unwrap();
        p.write("src/renamed.rs/inner.rs", b"a file became a directory\n");
        p.same("a file replaced by a directory");
        std::fs::remove_dir_all(p.path("pkg/empty")).unwrap();
        p.write("pkg/empty", b"a directory became a file\n");
        p.same("a directory replaced by a file");
        // Same size, same modification time: still read again.
        p.write("same.txt", b"aaaa");
        let mtime = std::fs::metadata(p.path("same.txt"))
            .unwrap()
            .modified()
            .unwrap();
        p.same("a file before it is rewritten");
        p.write("same.txt", b"bbbb");
        std::fs::File::options()
            .write(true)
            .open(p.path("same.txt"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let tree = p.same("a rewrite within the same mtime");
        assert_eq!(p.blob(&tree, "same.txt").as_deref(), Some(&b"bbbb"[..]));
        assert_eq!(p.watched.rescans(), 1, "none of these needs a rescan");

        // What the watcher cannot follow rescans, and the trees still agree.
        p.write(".gitignore", b"*.log\n");
        let tree = p.same("an ignore rule dropped");
        assert!(p.blob(&tree, "target/debug/out").is_some());
        assert_eq!(p.watched.rescans(), 2);
        std::fs::rename(p.path("pkg"), p.path("moved")).unwrap();
        p.same("a directory moved");
        assert_eq!(p.watched.rescans(), 3);
        std::fs::create_dir_all(p.path("nested")).unwrap();
        git(&p.path("nested"), &["init", "-q"]);
        p.write("nested/n.rs", b"n\n");
        git(&p.path("nested"), &["add", "-A"]);
        git(
            &p.path("nested"),
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "n",
            ],
        );
        let tree = p.same("a nested repository");
        assert_eq!(
            p.watched.entry(&tree, "nested").unwrap().unwrap().mode,
            "160000"
        );
        p.write("src/a.rs", b"fn a() { after the rescans }\n");
        p.same("an edit after the rescans");
        let rescans = p.watched.rescans();
        assert!(p.watched.has(&first));
        assert!(
            !p.path(".git").exists(),
            "the workspace stays no repository"
        );
        p.write("src/a.rs", b"fn a() { once more }\n");
        p.same("one more edit");
        assert_eq!(p.watched.rescans(), rescans);
    }

    #[test]
    fn an_overflowed_watcher_rescans_and_catches_the_change_it_missed() {
        let p = Pair::new();
        p.write("a.txt", b"a");
        p.write("b.txt", b"b");
        p.write("c.txt", b"before");
        p.same("the first snapshot");
        let limit: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Alternating files: the kernel merges only identical consecutive events.
        for i in 0..limit {
            let name = if i % 2 == 0 { "a.txt" } else { "b.txt" };
            p.write(name, format!("{i}").as_bytes());
        }
        // Its events come after the queue is full: only the rescan sees this change.
        p.write("c.txt", b"after the flood");
        let tree = p.same("a flood of events");
        assert_eq!(
            p.blob(&tree, "c.txt").as_deref(),
            Some(&b"after the flood"[..])
        );
        assert_eq!(p.watched.rescans(), 2, "the overflow forced a rescan");
        p.write("c.txt", b"watched again");
        p.same("an edit after the rescan");
        assert_eq!(p.watched.rescans(), 2);
    }

    #[test]
    fn unsaved_buffers_are_recorded_once_and_the_disk_again_after() {
        let p = Pair::new();
        p.write("a.txt", b"disk\n");
        p.write(".gitignore", b"secret.txt\n");
        p.same("the first snapshot");
        let tree = p
            .watched
            .snapshot(&[
                ("a.txt".into(), "unsaved\n".into()),
                ("secret.txt".into(), "an open ignored file\n".into()),
            ])
            .unwrap();
        assert_eq!(p.blob(&tree, "a.txt").as_deref(), Some(&b"unsaved\n"[..]));
        assert!(p.blob(&tree, "secret.txt").is_none());
        let tree = p.same("the buffer closed unsaved");
        assert_eq!(p.blob(&tree, "a.txt").as_deref(), Some(&b"disk\n"[..]));
    }

    #[test]
    fn a_deleted_store_is_created_again_under_the_watcher() {
        let p = Pair::new();
        p.write("a.txt", b"one\n");
        let first = p.same("the first snapshot");
        std::fs::remove_dir_all(p.watched.git_dir()).unwrap();
        p.write("a.txt", b"two\n");
        let second = p.same("the store deleted");
        assert!(!p.watched.has(&first));
        assert_eq!(p.watched.rescans(), 2);
        p.write("b.txt", b"new\n");
        let third = p.same("an edit in the new store");
        let paths: Vec<String> = p
            .watched
            .changes(&second, &third, None)
            .unwrap()
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(paths, ["b.txt"]);
    }

    #[test]
    fn a_large_ignored_file_is_never_read() {
        let p = Pair::new();
        p.write(".gitignore", b"*.bin\n");
        p.write("a.txt", b"a\n");
        p.same("the first snapshot");
        // 1 GB, sparse: reading it would take seconds and write a blob of about a megabyte.
        let big = std::fs::File::create(p.path("huge.bin")).unwrap();
        big.set_len(1 << 30).unwrap();
        drop(big);
        p.write("a.txt", b"b\n");
        let started = std::time::Instant::now();
        let tree = p.watched.snapshot(&[]).unwrap();
        let took = started.elapsed();
        assert!(p.blob(&tree, "huge.bin").is_none());
        assert!(took < std::time::Duration::from_secs(2), "took {took:?}");
        let objects = p.watched.git_dir().join("objects");
        let biggest = std::fs::read_dir(&objects)
            .unwrap()
            .flatten()
            .filter(|d| d.path().is_dir())
            .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
            .map(|f| f.metadata().unwrap().len())
            .max()
            .unwrap_or(0);
        assert!(biggest < 64 * 1024, "an object of {biggest} bytes");
    }
}
