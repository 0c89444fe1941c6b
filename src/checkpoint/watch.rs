//! The inotify watcher of a workspace's directories: which paths changed since the last checkpoint, so a
//! snapshot reads those files only instead of walking all of them. When it cannot tell (its queue
//! overflowed, ignore rules changed, a directory moved, a network filesystem) it says why and the caller
//! rescans the whole workspace.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};

/// Filesystems whose changes may come from another machine, where inotify sees only local writes: NFS,
/// SMB/CIFS (three magics), FUSE (sshfs, virtiofs, Docker Desktop's shares), 9p, Coda, AFS, Ceph.
const REMOTE_FILESYSTEMS: [u64; 9] = [
    0x6969,
    0x517b,
    0xff53_4d42,
    0xfe53_4d42,
    0x6573_5546,
    0x0102_1997,
    0x7375_7245,
    0x5346_414f,
    0x00c3_6400,
];

/// The paths that changed since the last drain, relative to the workspace, `/`-separated.
#[derive(Debug, Default)]
pub struct Changed {
    /// Files written, created, removed, renamed or whose mode changed.
    pub files: BTreeSet<Vec<u8>>,
    /// Directories created or moved in: not watched yet, their files unknown.
    pub new_dirs: Vec<Vec<u8>>,
    /// Directories removed.
    pub gone_dirs: Vec<Vec<u8>>,
}

/// What a walk of a directory found.
pub struct Walked {
    /// Files (and symlinks) the ignore rules keep.
    pub files: Vec<Vec<u8>>,
    /// Directories the ignore rules keep that are repositories of their own (git records their commit).
    pub repositories: Vec<Vec<u8>>,
}

/// Answers which of a batch of relative paths the ignore rules exclude.
pub type IgnoreCheck<'a> = dyn FnMut(&[Vec<u8>]) -> Result<HashSet<Vec<u8>>, String> + 'a;

pub struct Watcher {
    inotify: Inotify,
    root: PathBuf,
    /// Each watch's directory, relative (`""` the workspace).
    dirs: HashMap<WatchDescriptor, Vec<u8>>,
}

fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    let mut path = dir.to_vec();
    path.push(b'/');
    path.extend_from_slice(name);
    path
}

fn flags() -> AddWatchFlags {
    AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_ONLYDIR
        | AddWatchFlags::IN_DONT_FOLLOW
}

impl Watcher {
    /// A watcher of nothing yet, or why the workspace cannot be watched.
    pub fn new(root: &Path) -> Result<Self, String> {
        let fs = nix::sys::statfs::statfs(root)
            .map_err(|e| format!("cannot read the filesystem of {}: {e}", root.display()))?;
        let kind = fs.filesystem_type().0 as u64;
        if REMOTE_FILESYSTEMS.contains(&kind) {
            return Err(format!(
                "the workspace is on a network or FUSE filesystem (type {kind:#x}), where inotify misses \
                 changes made elsewhere"
            ));
        }
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(|e| format!("cannot start inotify: {e}"))?;
        Ok(Self {
            inotify,
            root: root.to_owned(),
            dirs: HashMap::new(),
        })
    }

    fn abs(&self, rel: &[u8]) -> PathBuf {
        self.root.join(OsStr::from_bytes(rel))
    }

    /// Watches the directory `rel` (`""` the workspace) and every directory below it that the ignore rules
    /// keep, a level at a time (each directory watched before it is listed, so nothing created meanwhile
    /// is missed). With `files`, also asks the rules about the files found and returns those they keep.
    pub fn watch_tree(
        &mut self,
        rel: &[u8],
        files: bool,
        ignored: &mut IgnoreCheck<'_>,
    ) -> Result<Walked, String> {
        let mut walked = Walked {
            files: Vec::new(),
            repositories: Vec::new(),
        };
        let mut level = vec![rel.to_vec()];
        while !level.is_empty() {
            let mut dirs = Vec::new();
            let mut found = Vec::new();
            for dir in &level {
                let abs = self.abs(dir);
                match self.inotify.add_watch(&abs, flags()) {
                    Ok(wd) => {
                        self.dirs.insert(wd, dir.clone());
                    }
                    // Gone meanwhile (its parent's events say so), or not a directory any more.
                    Err(Errno::ENOENT | Errno::ENOTDIR) => continue,
                    Err(Errno::ENOSPC) => {
                        return Err(
                            "the inotify watch limit (fs.inotify.max_user_watches) is reached"
                                .into(),
                        );
                    }
                    Err(e) => return Err(format!("cannot watch {}: {e}", abs.display())),
                }
                let entries = match std::fs::read_dir(&abs) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(format!("cannot list {}: {e}", abs.display())),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| format!("cannot list {}: {e}", abs.display()))?;
                    let name = entry.file_name();
                    if name == ".git" {
                        continue;
                    }
                    let path = join(dir, name.as_bytes());
                    match entry.file_type() {
                        Ok(kind) if kind.is_dir() => dirs.push(path),
                        Ok(kind) if files && (kind.is_file() || kind.is_symlink()) => {
                            found.push(path)
                        }
                        _ => {}
                    }
                }
            }
            let asked: Vec<Vec<u8>> = dirs.iter().chain(&found).cloned().collect();
            let excluded = match asked.is_empty() {
                true => HashSet::new(),
                false => ignored(&asked)?,
            };
            walked
                .files
                .extend(found.into_iter().filter(|f| !excluded.contains(f)));
            level = Vec::new();
            for dir in dirs.into_iter().filter(|d| !excluded.contains(d)) {
                match self.abs(&dir).join(".git").exists() {
                    true => walked.repositories.push(dir),
                    false => level.push(dir),
                }
            }
        }
        Ok(walked)
    }

    /// The changes queued since the last call, or why they cannot be known (then the caller rescans and
    /// starts a new watcher).
    pub fn drain(&mut self) -> Result<Changed, String> {
        let mut changed = Changed::default();
        loop {
            let events = match self.inotify.read_events() {
                Ok(events) if events.is_empty() => break,
                Ok(events) => events,
                Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(format!("cannot read the watcher: {e}")),
            };
            for event in events {
                let mask = event.mask;
                if mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                    return Err("the watcher's queue overflowed".into());
                }
                if mask.contains(AddWatchFlags::IN_UNMOUNT) {
                    return Err("a filesystem under the workspace was unmounted".into());
                }
                if mask.contains(AddWatchFlags::IN_IGNORED) {
                    if self.dirs.remove(&event.wd).is_some_and(|d| d.is_empty()) {
                        return Err("the workspace was removed".into());
                    }
                    continue;
                }
                let Some(dir) = self.dirs.get(&event.wd) else {
                    continue;
                };
                let Some(name) = event.name else {
                    let gone = AddWatchFlags::IN_DELETE_SELF | AddWatchFlags::IN_MOVE_SELF;
                    if dir.is_empty() && mask.intersects(gone) {
                        return Err("the workspace was moved or removed".into());
                    }
                    continue;
                };
                let name = name.as_bytes();
                let path = join(dir, name);
                if name == b".gitignore" {
                    return Err(format!(
                        "ignore rules changed ({})",
                        String::from_utf8_lossy(&path)
                    ));
                }
                if name == b".git" {
                    if dir.is_empty() {
                        continue;
                    }
                    return Err(format!(
                        "a repository appeared or went in {}",
                        String::from_utf8_lossy(dir)
                    ));
                }
                if mask.contains(AddWatchFlags::IN_ISDIR) {
                    if mask.intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO) {
                        changed.new_dirs.push(path);
                    } else if mask.contains(AddWatchFlags::IN_MOVED_FROM) {
                        return Err(format!(
                            "a directory was moved ({})",
                            String::from_utf8_lossy(&path)
                        ));
                    } else if mask.contains(AddWatchFlags::IN_DELETE) {
                        changed.gone_dirs.push(path);
                    }
                    continue;
                }
                changed.files.insert(path);
            }
        }
        Ok(changed)
    }
}
