//! The shadow git repository that holds a workspace's checkpoints: its own `GIT_DIR` and index under the
//! data directory, the workspace as its work tree, trees only (never a commit, a ref or the user's `.git`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::CheckpointError;
use super::incremental::{Incremental, StartError};

/// The id git gives an empty tree.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// One file of a tree, as git lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `100644`, `100755`, `120000` (a symlink) or `160000` (a nested repository).
    pub mode: String,
    pub id: String,
}

/// A file that differs between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Relative to the workspace, `/`-separated.
    pub path: String,
    pub before: Option<Blob>,
    pub after: Option<Blob>,
}

/// Added and removed lines of a file between two trees; `None` for a binary file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCount {
    pub path: String,
    pub lines: Option<(u64, u64)>,
}

/// The checkpoints of one workspace.
pub struct Shadow {
    git_dir: PathBuf,
    workspace: PathBuf,
    /// One snapshot at a time on the shared index, within this process.
    index: std::sync::Arc<Mutex<()>>,
    /// The fast path of a long-lived store ([`Shadow::open_watched`]); `None` rescans at every snapshot.
    fast: Option<Mutex<Fast>>,
    /// Full rescans of the watched store so far (the first snapshot is one).
    rescans: std::sync::atomic::AtomicUsize,
}

/// The state of the fast path.
enum Fast {
    /// The next snapshot rescans and starts the watcher.
    Cold,
    Ready(Box<Incremental>),
    /// The workspace cannot be watched (said why in the log once): every snapshot rescans.
    Off,
}

/// The lock of a store's index shared by every `Shadow` of it in this process (a session's and a review
/// command's): two `git add` on one index would fail on git's `index.lock`.
fn index_lock(git_dir: &Path) -> std::sync::Arc<Mutex<()>> {
    type Locks = Mutex<std::collections::HashMap<PathBuf, std::sync::Arc<Mutex<()>>>>;
    static LOCKS: std::sync::OnceLock<Locks> = std::sync::OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    locks.entry(git_dir.to_owned()).or_default().clone()
}

/// FNV-1a: a stable name for a workspace's directory (std's hasher may change between releases).
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

impl Shadow {
    /// The shadow repository of `workspace` under `data_dir/checkpoints/`, created when missing (also when
    /// it was deleted since the last step).
    pub fn open(data_dir: &Path, workspace: &Path) -> Result<Self, CheckpointError> {
        let workspace = workspace.canonicalize().map_err(|e| {
            CheckpointError::Failed(format!("cannot resolve {}: {e}", workspace.display()))
        })?;
        let name = format!("{:016x}", fnv(&workspace.to_string_lossy()));
        let git_dir = data_dir.join("checkpoints").join(name);
        let shadow = Self {
            index: index_lock(&git_dir),
            git_dir,
            workspace,
            fast: None,
            rescans: Default::default(),
        };
        shadow.ensure()?;
        Ok(shadow)
    }

    /// [`Shadow::open`] for a store that takes many snapshots (a session's): an inotify watcher names the
    /// files that changed since the last snapshot and only those are read, the rest of the tree is kept in
    /// memory. Falls back to the full rescan when the watcher cannot vouch for what changed.
    pub fn open_watched(data_dir: &Path, workspace: &Path) -> Result<Self, CheckpointError> {
        let mut shadow = Self::open(data_dir, workspace)?;
        shadow.fast = Some(Mutex::new(Fast::Cold));
        Ok(shadow)
    }

    /// How many snapshots of a watched store rescanned the whole workspace (the first one does).
    pub fn rescans(&self) -> usize {
        self.rescans.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// Creates the repository if it is missing; refreshes its exclusions from the user's repository. True
    /// when it created the repository or the exclusions changed (what a watcher knew is void).
    fn ensure(&self) -> Result<bool, CheckpointError> {
        let mut fresh = false;
        if !self.git_dir.join("HEAD").is_file() {
            fresh = true;
            std::fs::create_dir_all(&self.git_dir).map_err(|e| {
                CheckpointError::Failed(format!("cannot create {}: {e}", self.git_dir.display()))
            })?;
            let out = Command::new("git")
                .args(["init", "--quiet", "--bare"])
                .arg(&self.git_dir)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .output()
                .map_err(|e| CheckpointError::Failed(format!("cannot run git: {e}")))?;
            if !out.status.success() {
                return Err(CheckpointError::Failed(format!(
                    "git init {} failed: {}",
                    self.git_dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            // A work tree is given with every command; the repository itself has none of its own.
            self.run(&["config", "core.bare", "false"], None)?;
            // The untracked cache spares `add --all` a walk of every directory at each step.
            self.run(&["update-index", "--untracked-cache"], None)?;
            let _ = std::fs::write(
                self.git_dir.join("workspace"),
                self.workspace.to_string_lossy().as_bytes(),
            );
        }
        // The user's own exclusions (`.git/info/exclude`) count as much as their `.gitignore` files; our
        // data directory is never part of a snapshot, even when it lies inside the workspace.
        let mut exclude =
            std::fs::read_to_string(self.workspace.join(".git/info/exclude")).unwrap_or_default();
        if let Ok(rel) = self.git_dir.strip_prefix(&self.workspace) {
            let top = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            if let Some(top) = top {
                exclude.push_str(&format!("\n/{top}/\n"));
            }
        }
        exclude.push_str(&format!("\n/{}/\n", super::TRANSCRIPTS_DIR));
        let info = self.git_dir.join("info");
        if std::fs::read_to_string(info.join("exclude")).ok().as_ref() != Some(&exclude) {
            fresh = true;
            let _ = std::fs::create_dir_all(&info);
            let _ = std::fs::write(info.join("exclude"), exclude);
        }
        Ok(fresh)
    }

    fn git(&self) -> Command {
        let mut c = Command::new("git");
        c.env("GIT_DIR", &self.git_dir)
            .env("GIT_WORK_TREE", &self.workspace)
            .env("GIT_INDEX_FILE", self.git_dir.join("index"))
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .env_remove("GIT_NAMESPACE")
            .current_dir(&self.workspace)
            // Bytes as they are on disk, no hooks, no background maintenance that could drop our trees.
            .args([
                "-c",
                "core.autocrlf=false",
                "-c",
                "core.safecrlf=false",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.untrackedCache=true",
                "-c",
                "index.skipHash=true",
                "-c",
                "core.quotepath=off",
                "-c",
                "gc.auto=0",
                "-c",
                "maintenance.auto=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "advice.addEmbeddedRepo=false",
            ]);
        c
    }

    pub(super) fn run(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, CheckpointError> {
        self.run_command(self.git(), args, input)
    }

    fn run_command(
        &self,
        mut cmd: Command,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<Vec<u8>, CheckpointError> {
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| CheckpointError::Failed(format!("cannot run git: {e}")))?;
        if let Some(bytes) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            let bytes = bytes.to_vec();
            // Written on a thread: git may fill its stdout before it has read all of its stdin.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        let out = child
            .wait_with_output()
            .map_err(|e| CheckpointError::Failed(format!("git {} failed: {e}", args[0])))?;
        if !out.status.success() {
            return Err(CheckpointError::Failed(format!(
                "git {} failed: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out.stdout)
    }

    fn text(&self, args: &[&str]) -> Result<String, CheckpointError> {
        Ok(String::from_utf8_lossy(&self.run(args, None)?)
            .trim()
            .to_owned())
    }

    /// Records the workspace as it is now, with `overlay` (relative path, text) in place of what the disk
    /// holds for those files (the editor's unsaved buffers); returns the tree's id.
    pub fn snapshot(&self, overlay: &[(String, String)]) -> Result<String, CheckpointError> {
        let _guard = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = self.ensure()?;
        let Some(fast) = &self.fast else {
            return self.full_snapshot(overlay);
        };
        let mut fast = fast.lock().unwrap_or_else(|p| p.into_inner());
        if fresh {
            *fast = Fast::Cold;
        }
        if let Fast::Ready(inc) = &mut *fast
            && let Err(why) = inc.update(self)
        {
            tracing::debug!("checkpoint: a full rescan: {why}");
            *fast = Fast::Cold;
        }
        if let Fast::Cold = &*fast {
            self.rescans
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match Incremental::start(self) {
                Ok((inc, tree)) => {
                    *fast = Fast::Ready(Box::new(inc));
                    if overlay.is_empty() {
                        return Ok(tree);
                    }
                }
                Err(StartError::Unwatchable(why)) => {
                    tracing::info!("checkpoints rescan the workspace at every step: {why}");
                    *fast = Fast::Off;
                }
                Err(StartError::Failed(e)) => return Err(e),
            }
        }
        match &mut *fast {
            Fast::Ready(inc) => {
                let ignored = self.ignored(overlay.iter().map(|(rel, _)| rel.as_str()))?;
                let overlay: Vec<(String, String)> = overlay
                    .iter()
                    .filter(|(rel, _)| !ignored.contains(rel))
                    .cloned()
                    .collect();
                inc.write(self, &overlay)
            }
            _ => self.full_snapshot(overlay),
        }
    }

    /// The snapshot by git alone: `git add --all` then `write-tree` on the shadow index.
    pub(super) fn full_snapshot(
        &self,
        overlay: &[(String, String)],
    ) -> Result<String, CheckpointError> {
        // The index keeps every file's stat data, so only changed files are read again. Attributes come
        // from the empty tree: the bytes as they are on disk (no line-ending conversion, no filters), as
        // a restore writes them back and as the fast path hashes them.
        let mut add = self.git();
        add.env("GIT_ATTR_SOURCE", EMPTY_TREE)
            .args(["-c", "core.attributesFile=/dev/null"]);
        self.run_command(add, &["add", "--all", "--ignore-errors", "--", "."], None)
            .or_else(|e| {
                // `--ignore-errors` still fails the command when a file could not be read; the rest is
                // in the index, which is what a snapshot can hold.
                tracing::debug!("checkpoint: {e}");
                Ok::<_, CheckpointError>(Vec::new())
            })?;
        let ignored = self.ignored(overlay.iter().map(|(rel, _)| rel.as_str()))?;
        let overlay: Vec<&(String, String)> = overlay
            .iter()
            .filter(|(rel, _)| !ignored.contains(rel))
            .collect();
        if !overlay.is_empty() {
            let mut info = Vec::new();
            for (rel, text) in overlay {
                let id = String::from_utf8_lossy(
                    &self.run(&["hash-object", "-w", "--stdin"], Some(text.as_bytes()))?,
                )
                .trim()
                .to_owned();
                let exec = std::fs::metadata(self.workspace.join(rel))
                    .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o100 != 0)
                    .unwrap_or(false);
                let mode = if exec { "100755" } else { "100644" };
                info.extend_from_slice(format!("{mode} {id}\t{rel}\0").as_bytes());
            }
            self.run(&["update-index", "-z", "--index-info"], Some(&info))?;
        }
        self.text(&["write-tree"])
    }

    /// Which of `paths` the user's ignore rules name: an unsaved buffer of an ignored file stays out of the
    /// snapshot, as its file does.
    fn ignored<'a>(
        &self,
        paths: impl Iterator<Item = &'a str>,
    ) -> Result<std::collections::HashSet<String>, CheckpointError> {
        let paths: Vec<Vec<u8>> = paths.map(|p| p.as_bytes().to_vec()).collect();
        // A path git refuses (beyond a symlink, say) is not ignored: the buffer is recorded.
        let ignored = self.ignored_paths(&paths).unwrap_or_else(|e| {
            tracing::debug!("checkpoint: {e}");
            Default::default()
        });
        Ok(ignored
            .into_iter()
            .map(|p| String::from_utf8_lossy(&p).into_owned())
            .collect())
    }

    /// Which of `paths` (relative, as bytes) the user's ignore rules name.
    pub(super) fn ignored_paths(
        &self,
        paths: &[Vec<u8>],
    ) -> Result<std::collections::HashSet<Vec<u8>>, CheckpointError> {
        let input: Vec<u8> = paths
            .iter()
            .flat_map(|p| p.iter().copied().chain([0]))
            .collect();
        if input.is_empty() {
            return Ok(Default::default());
        }
        let mut cmd = self.git();
        cmd.args(["check-ignore", "-z", "--stdin", "--no-index"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| CheckpointError::Failed(format!("cannot run git: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child
            .wait_with_output()
            .map_err(|e| CheckpointError::Failed(format!("git check-ignore failed: {e}")))?;
        // Exit 1: none is ignored; 128: git failed.
        if out.status.code() != Some(0) && out.status.code() != Some(1) {
            return Err(CheckpointError::Failed(format!(
                "git check-ignore failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| p.to_vec())
            .collect())
    }

    /// Whether the store still holds `tree`.
    pub fn has(&self, tree: &str) -> bool {
        // A loose object of that id answers without a git process (checkpoints are never packed).
        let loose = tree.len() == 40
            && tree.bytes().all(|b| b.is_ascii_hexdigit())
            && self
                .git_dir
                .join("objects")
                .join(&tree[..2])
                .join(&tree[2..])
                .is_file();
        loose
            || self
                .run(&["cat-file", "-e", &format!("{tree}^{{tree}}")], None)
                .is_ok()
    }

    fn require(&self, tree: &str) -> Result<(), CheckpointError> {
        match self.has(tree) {
            true => Ok(()),
            false => Err(CheckpointError::Missing(tree.to_owned())),
        }
    }

    /// The files that differ from `from` to `to`, limited to `path` when given.
    pub fn changes(
        &self,
        from: &str,
        to: &str,
        path: Option<&str>,
    ) -> Result<Vec<Change>, CheckpointError> {
        self.require(from)?;
        self.require(to)?;
        let mut args = vec!["diff-tree", "-r", "-z", "--no-renames", from, to];
        if let Some(p) = path {
            args.extend(["--", p]);
        }
        let out = self.run(&args, None)?;
        let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut list = Vec::new();
        while let (Some(head), Some(path)) = (fields.next(), fields.next()) {
            // `:100644 100644 <old> <new> M`
            let head = String::from_utf8_lossy(head);
            let parts: Vec<&str> = head.trim_start_matches(':').split(' ').collect();
            if parts.len() < 5 {
                continue;
            }
            let blob = |mode: &str, id: &str| {
                (mode != "000000").then(|| Blob {
                    mode: mode.to_owned(),
                    id: id.to_owned(),
                })
            };
            list.push(Change {
                path: String::from_utf8_lossy(path).into_owned(),
                before: blob(parts[0], parts[2]),
                after: blob(parts[1], parts[3]),
            });
        }
        Ok(list)
    }

    /// Added and removed lines per changed file from `from` to `to`.
    pub fn line_counts(&self, from: &str, to: &str) -> Result<Vec<LineCount>, CheckpointError> {
        self.require(from)?;
        self.require(to)?;
        let out = self.run(
            &[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--numstat",
                from,
                to,
            ],
            None,
        )?;
        let mut list = Vec::new();
        for record in out.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let mut parts = record.splitn(3, '\t');
            let (Some(a), Some(r), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            list.push(LineCount {
                path: path.to_owned(),
                lines: a.parse().ok().zip(r.parse().ok()),
            });
        }
        Ok(list)
    }

    /// The unified diff from `from` to `to` (one file's when `path` is given); binary files are named.
    pub fn diff(
        &self,
        from: &str,
        to: &str,
        path: Option<&str>,
    ) -> Result<String, CheckpointError> {
        self.require(from)?;
        self.require(to)?;
        let mut args = vec![
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            from,
            to,
        ];
        if let Some(p) = path {
            args.extend(["--", p]);
        }
        Ok(String::from_utf8_lossy(&self.run(&args, None)?).into_owned())
    }

    /// The blob at `path` in `tree`, if there is one.
    pub fn entry(&self, tree: &str, path: &str) -> Result<Option<Blob>, CheckpointError> {
        self.require(tree)?;
        let out = self.run(&["ls-tree", "-z", tree, "--", path], None)?;
        let line = String::from_utf8_lossy(&out);
        let line = line.trim_end_matches('\0');
        // `<mode> blob <id>\t<path>`
        let Some((head, _)) = line.split_once('\t') else {
            return Ok(None);
        };
        let parts: Vec<&str> = head.split(' ').collect();
        Ok((parts.len() == 3).then(|| Blob {
            mode: parts[0].to_owned(),
            id: parts[2].to_owned(),
        }))
    }

    /// The contents of `ids`, in order, read by one `git cat-file --batch`.
    pub fn read_blobs(&self, ids: &[&str]) -> Result<Vec<Vec<u8>>, CheckpointError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let input: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let out = self.run(&["cat-file", "--batch"], Some(input.as_bytes()))?;
        let mut blobs = Vec::with_capacity(ids.len());
        let mut at = 0;
        for id in ids {
            let end = out[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| at + p)
                .ok_or_else(|| CheckpointError::Failed("git cat-file ended early".into()))?;
            let header = String::from_utf8_lossy(&out[at..end]).into_owned();
            let size: usize = match header.split(' ').collect::<Vec<_>>().as_slice() {
                [_, "blob", size] => size.parse().unwrap_or(0),
                _ => return Err(CheckpointError::Missing((*id).to_owned())),
            };
            let start = end + 1;
            blobs.push(out[start..start + size].to_vec());
            at = start + size + 1;
        }
        Ok(blobs)
    }

    /// Stores `bytes` as a blob; its id.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<String, CheckpointError> {
        Ok(
            String::from_utf8_lossy(&self.run(&["hash-object", "-w", "--stdin"], Some(bytes))?)
                .trim()
                .to_owned(),
        )
    }

    /// Three-way merge of text: the change from `base` to `theirs` applied on top of `ours`; `None` when
    /// the two changes touch the same lines.
    pub fn merge(
        &self,
        ours: &[u8],
        base: &[u8],
        theirs: &[u8],
    ) -> Result<Option<Vec<u8>>, CheckpointError> {
        let dir = tempdir_in(&self.git_dir)?;
        let names = ["ours", "base", "theirs"];
        for (name, bytes) in names.iter().zip([ours, base, theirs]) {
            std::fs::write(dir.join(name), bytes)
                .map_err(|e| CheckpointError::Failed(format!("cannot write a merge input: {e}")))?;
        }
        let out = Command::new("git")
            .args(["merge-file", "-p", "--quiet"])
            .args(names.iter().map(|n| dir.join(n)))
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let out = out.map_err(|e| CheckpointError::Failed(format!("cannot run git: {e}")))?;
        match out.status.code() {
            Some(0) => Ok(Some(out.stdout)),
            Some(n) if n > 0 && n < 128 => Ok(None),
            _ => Err(CheckpointError::Failed(format!(
                "git merge-file failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
        }
    }
}

fn tempdir_in(parent: &Path) -> Result<PathBuf, CheckpointError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = parent.join(format!("merge-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| CheckpointError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Shadow) {
        let data = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        let shadow = Shadow::open(data.path(), ws.path()).unwrap();
        (data, ws, shadow)
    }

    #[test]
    fn snapshots_follow_the_disk_and_the_overlay_and_respect_gitignore() {
        let (_d, ws, shadow) = setup();
        std::fs::write(ws.path().join("a.txt"), "one\n").unwrap();
        std::fs::write(ws.path().join(".gitignore"), "big.bin\n").unwrap();
        std::fs::write(ws.path().join("big.bin"), "ignored").unwrap();
        // Our transcripts are never the project's, even before their `.gitignore` has its rule.
        let transcripts = ws.path().join(super::super::TRANSCRIPTS_DIR);
        std::fs::create_dir_all(&transcripts).unwrap();
        std::fs::write(transcripts.join(".gitignore"), "").unwrap();
        std::fs::write(transcripts.join("c1.md"), "# c1\n").unwrap();
        let first = shadow.snapshot(&[]).unwrap();
        std::fs::write(ws.path().join("a.txt"), "two\n").unwrap();
        let second = shadow
            .snapshot(&[
                ("b.txt".into(), "unsaved\n".into()),
                ("big.bin".into(), "an open ignored file".into()),
            ])
            .unwrap();
        let changes = shadow.changes(&first, &second, None).unwrap();
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["a.txt", "b.txt"]);
        assert!(shadow.entry(&second, "big.bin").unwrap().is_none());
        for ours in [".gitignore", "c1.md"] {
            let path = format!("{}/{ours}", super::super::TRANSCRIPTS_DIR);
            assert!(shadow.entry(&first, &path).unwrap().is_none(), "{path}");
        }
        let counts = shadow.line_counts(&first, &second).unwrap();
        assert_eq!(counts[0].lines, Some((1, 1)));
        let b = shadow.entry(&second, "b.txt").unwrap().unwrap();
        assert_eq!(
            shadow.read_blobs(&[&b.id]).unwrap(),
            vec![b"unsaved\n".to_vec()]
        );
        // Not a git repository, and it stays one without `.git`.
        assert!(!ws.path().join(".git").exists());
    }

    #[test]
    fn a_deleted_store_is_created_again_and_old_trees_are_missing() {
        let (_d, ws, shadow) = setup();
        std::fs::write(ws.path().join("a.txt"), "one\n").unwrap();
        let first = shadow.snapshot(&[]).unwrap();
        std::fs::remove_dir_all(shadow.git_dir()).unwrap();
        std::fs::write(ws.path().join("a.txt"), "two\n").unwrap();
        let second = shadow.snapshot(&[]).unwrap();
        assert!(!shadow.has(&first));
        assert!(matches!(
            shadow.changes(&first, &second, None),
            Err(CheckpointError::Missing(_))
        ));
    }

    #[test]
    fn merges_apply_one_change_over_another_or_say_they_conflict() {
        let (_d, _ws, shadow) = setup();
        let merged = shadow
            .merge(b"a\nB\nc\nd\n", b"a\nb\nc\nd\n", b"a\nb\nc\nD\n")
            .unwrap();
        assert_eq!(merged.as_deref(), Some(&b"a\nB\nc\nD\n"[..]));
        assert_eq!(shadow.merge(b"X\n", b"a\n", b"Y\n").unwrap(), None);
    }
}
