//! Git objects written in process: blob and tree ids and zlib-compressed loose objects in the shadow store,
//! so a checkpoint of a few changed files costs no `git` process and no read of a 10,000-entry index.

use std::fs::{File, Metadata};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::Compression;
use flate2::write::ZlibEncoder;
use sha1::{Digest as _, Sha1};

/// A git object id (SHA-1).
pub type Oid = [u8; 20];

/// Tree entry modes, as git writes them.
pub const MODE_FILE: u32 = 0o100644;
pub const MODE_EXEC: u32 = 0o100755;
pub const MODE_LINK: u32 = 0o120000;
pub const MODE_TREE: u32 = 0o40000;

/// Files above this size are streamed (hashed and compressed as they are read) instead of read whole.
const STREAM_ABOVE: u64 = 16 << 20;

pub fn hex(oid: &Oid) -> String {
    oid.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn parse_hex(text: &[u8]) -> Option<Oid> {
    if text.len() != 40 {
        return None;
    }
    let mut oid = [0u8; 20];
    for (i, pair) in text.chunks(2).enumerate() {
        oid[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(oid)
}

/// The mode git records for a file with this metadata; `None` for what git does not store (a directory, a
/// socket, a fifo, a device).
pub fn mode_of(meta: &Metadata) -> Option<u32> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some(MODE_LINK)
    } else if kind.is_file() {
        // git keeps only the owner's execute bit.
        Some(match meta.permissions().mode() & 0o100 {
            0 => MODE_FILE,
            _ => MODE_EXEC,
        })
    } else {
        None
    }
}

/// The loose objects of one repository.
pub struct Objects {
    dir: PathBuf,
}

static TEMP: AtomicU64 = AtomicU64::new(0);

impl Objects {
    pub fn new(git_dir: &Path) -> Self {
        Self {
            dir: git_dir.join("objects"),
        }
    }

    fn path(&self, oid: &Oid) -> PathBuf {
        let name = hex(oid);
        self.dir.join(&name[..2]).join(&name[2..])
    }

    /// A new temporary file in the store, and its path.
    fn temp(&self) -> io::Result<(File, PathBuf)> {
        let n = TEMP.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join(format!("tmp_obj_openhands_{}_{n}", std::process::id()));
        match File::create(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir)?;
                Ok((File::create(&path)?, path))
            }
            other => Ok((other?, path)),
        }
    }

    /// Moves a finished temporary object to its name, or drops it when the store already has the object.
    fn settle(&self, temp: &Path, oid: &Oid) -> io::Result<()> {
        let path = self.path(oid);
        if path.exists() {
            let _ = std::fs::remove_file(temp);
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(temp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(temp);
        })
    }

    /// Stores an object of `kind` (`blob`, `tree`) with `body`; its id.
    pub fn write(&self, kind: &str, body: &[u8]) -> io::Result<Oid> {
        let header = format!("{kind} {}\0", body.len());
        let mut hasher = Sha1::new();
        hasher.update(header.as_bytes());
        hasher.update(body);
        let oid: Oid = hasher.finalize().into();
        if self.path(&oid).exists() {
            return Ok(oid);
        }
        let (file, temp) = self.temp()?;
        let mut z = ZlibEncoder::new(io::BufWriter::new(file), Compression::fast());
        let written = z
            .write_all(header.as_bytes())
            .and_then(|_| z.write_all(body))
            .and_then(|_| z.finish()?.flush());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        self.settle(&temp, &oid)?;
        Ok(oid)
    }

    /// Stores the file at `path` (whose metadata is `meta`) as a blob: a symlink's target for a link, the
    /// bytes as they are on disk otherwise (no filters, no line-ending conversion).
    pub fn write_file(&self, path: &Path, meta: &Metadata) -> io::Result<Oid> {
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path)?;
            return self.write(
                "blob",
                std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()),
            );
        }
        let mut file = File::open(path)?;
        let size = file.metadata()?.size();
        if size <= STREAM_ABOVE {
            let mut body = Vec::with_capacity(size as usize);
            file.read_to_end(&mut body)?;
            return self.write("blob", &body);
        }
        self.stream(file, size)
    }

    /// A large file hashed and compressed in one pass; fails when it changes size while it is read.
    fn stream(&self, mut file: File, size: u64) -> io::Result<Oid> {
        let header = format!("blob {size}\0");
        let mut hasher = Sha1::new();
        hasher.update(header.as_bytes());
        let (out, temp) = self.temp()?;
        let result = (|| {
            let mut z = ZlibEncoder::new(io::BufWriter::new(out), Compression::fast());
            z.write_all(header.as_bytes())?;
            let mut buf = vec![0u8; 1 << 16];
            let mut read = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                read += n as u64;
                if read > size {
                    break;
                }
                hasher.update(&buf[..n]);
                z.write_all(&buf[..n])?;
            }
            if read != size {
                return Err(io::Error::other("the file changed while it was read"));
            }
            z.finish()?.flush()
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
        let oid: Oid = hasher.finalize().into();
        self.settle(&temp, &oid)?;
        Ok(oid)
    }

    /// Stores a tree of `entries` (name, mode, id) in git's order; its id.
    pub fn write_tree(&self, entries: &mut [(&[u8], u32, Oid)]) -> io::Result<Oid> {
        // git sorts a directory's name as if it ended with `/`.
        let key = |name: &[u8], mode: u32| {
            let mut k = name.to_vec();
            if mode == MODE_TREE {
                k.push(b'/');
            }
            k
        };
        entries.sort_by_cached_key(|(name, mode, _)| key(name, *mode));
        let mut body = Vec::with_capacity(entries.len() * 48);
        for (name, mode, oid) in entries.iter() {
            body.extend_from_slice(format!("{mode:o} ").as_bytes());
            body.extend_from_slice(name);
            body.push(0);
            body.extend_from_slice(oid);
        }
        self.write("tree", &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> String {
        let mut child = std::process::Command::new("git")
            .env("GIT_DIR", dir)
            .current_dir(dir)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or_default()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn objects_have_gits_ids_and_git_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "--bare", "."], None);
        let objects = Objects::new(dir.path());
        let body = b"bytes\r\nwith \0 a nul\n";
        let blob = objects.write("blob", body).unwrap();
        assert_eq!(
            hex(&blob),
            git(dir.path(), &["hash-object", "--stdin"], Some(body))
        );
        assert_eq!(
            git(dir.path(), &["cat-file", "-p", &hex(&blob)], None).as_bytes(),
            b"bytes\r\nwith \0 a nul"
        );
        // `a.b` sorts before the directory `a` (read as `a/`), which sorts before `a0`.
        let sub = objects.write_tree(&mut [(b"x", MODE_FILE, blob)]).unwrap();
        let mut entries = [
            (&b"a0"[..], MODE_EXEC, blob),
            (&b"a"[..], MODE_TREE, sub),
            (&b"a.b"[..], MODE_LINK, blob),
        ];
        let tree = objects.write_tree(&mut entries).unwrap();
        let listing = format!(
            "120000 blob {b}\ta.b\n040000 tree {s}\ta\n100755 blob {b}\ta0",
            b = hex(&blob),
            s = hex(&sub)
        );
        assert_eq!(git(dir.path(), &["ls-tree", &hex(&tree)], None), listing);
        assert_eq!(
            git(dir.path(), &["fsck", "--strict", "--no-dangling"], None),
            ""
        );
        let input = format!("{}\n", listing.replace("040000", "40000"));
        assert_eq!(
            git(dir.path(), &["mktree"], Some(input.as_bytes())),
            hex(&tree)
        );
    }

    #[test]
    fn a_large_file_is_streamed_to_the_same_blob() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "--bare", "."], None);
        let objects = Objects::new(dir.path());
        let path = dir.path().join("big");
        let body: Vec<u8> = (0..STREAM_ABOVE as usize + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &body).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let oid = objects.write_file(&path, &meta).unwrap();
        assert_eq!(
            hex(&oid),
            git(
                dir.path(),
                &["hash-object", "--no-filters", path.to_str().unwrap()],
                None
            )
        );
        assert_eq!(parse_hex(hex(&oid).as_bytes()), Some(oid));
        git(dir.path(), &["cat-file", "-e", &hex(&oid)], None);
    }
}
