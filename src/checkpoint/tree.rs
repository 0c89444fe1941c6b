//! The last checkpoint's tree in memory: every directory's entries with its tree id kept until something
//! below it changes, so a step that changed a few files writes only the trees on their paths.

use std::collections::BTreeMap;
use std::io;

use super::objects::{MODE_TREE, Objects, Oid, parse_hex};

enum Node {
    File { mode: u32, oid: Oid },
    Dir(Dir),
}

/// A directory: its entries by name, and its tree id while nothing below it changed.
#[derive(Default)]
pub struct Dir {
    children: BTreeMap<Vec<u8>, Node>,
    oid: Option<Oid>,
}

fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .collect()
}

impl Dir {
    /// The tree `root` as `git ls-tree -r -t -z` lists it (each tree before what it holds).
    pub fn load(root: Oid, listing: &[u8]) -> Option<Dir> {
        let mut dir = Dir::default();
        for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let tab = record.iter().position(|b| *b == b'\t')?;
            let (head, path) = (&record[..tab], &record[tab + 1..]);
            let mut fields = head.split(|b| *b == b' ');
            let mode = u32::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 8).ok()?;
            let _kind = fields.next()?;
            let oid = parse_hex(fields.next()?)?;
            let parts = components(path);
            let (name, parents) = parts.split_last()?;
            let parent = dir.descend(parents, false);
            if mode == MODE_TREE {
                let node = parent
                    .children
                    .entry(name.to_vec())
                    .or_insert_with(|| Node::Dir(Dir::default()));
                if let Node::Dir(d) = node {
                    d.oid = Some(oid);
                }
            } else {
                parent
                    .children
                    .insert(name.to_vec(), Node::File { mode, oid });
            }
        }
        dir.oid = Some(root);
        Some(dir)
    }

    /// The directory at `parts`, created when missing (replacing a file in the way); every directory on the
    /// way marked changed when `touch`.
    fn descend(&mut self, parts: &[&[u8]], touch: bool) -> &mut Dir {
        let mut dir = self;
        for part in parts {
            if touch {
                dir.oid = None;
            }
            let node = dir
                .children
                .entry(part.to_vec())
                .or_insert_with(|| Node::Dir(Dir::default()));
            if matches!(node, Node::File { .. }) {
                *node = Node::Dir(Dir::default());
            }
            dir = match node {
                Node::Dir(d) => d,
                Node::File { .. } => unreachable!("replaced above"),
            };
        }
        if touch {
            dir.oid = None;
        }
        dir
    }

    /// The file at `path`: its mode and blob id.
    pub fn get(&self, path: &[u8]) -> Option<(u32, Oid)> {
        let parts = components(path);
        let (name, parents) = parts.split_last()?;
        let mut dir = self;
        for part in parents {
            match dir.children.get(*part)? {
                Node::Dir(d) => dir = d,
                Node::File { .. } => return None,
            }
        }
        match dir.children.get(*name)? {
            Node::File { mode, oid } => Some((*mode, *oid)),
            Node::Dir(_) => None,
        }
    }

    /// Records the file at `path`.
    pub fn set(&mut self, path: &[u8], mode: u32, oid: Oid) {
        let parts = components(path);
        let Some((name, parents)) = parts.split_last() else {
            return;
        };
        if self.get(path) == Some((mode, oid)) {
            return;
        }
        self.descend(parents, true)
            .children
            .insert(name.to_vec(), Node::File { mode, oid });
    }

    /// Forgets whatever is at `path` (a file or a whole directory).
    pub fn remove(&mut self, path: &[u8]) {
        let parts = components(path);
        let Some((name, parents)) = parts.split_last() else {
            return;
        };
        // Only a path that is there marks its directories changed.
        let mut dir = &*self;
        for part in parents {
            match dir.children.get(*part) {
                Some(Node::Dir(d)) => dir = d,
                _ => return,
            }
        }
        if !dir.children.contains_key(*name) {
            return;
        }
        self.descend(parents, true).children.remove(*name);
    }

    /// Forgets the file at `path`, leaving a directory there as it is.
    pub fn remove_file(&mut self, path: &[u8]) {
        if self.get(path).is_some() {
            self.remove(path);
        }
    }

    /// Writes the trees that changed; the tree id, `None` for a directory with no file (git keeps none).
    pub fn write(&mut self, objects: &Objects) -> io::Result<Option<Oid>> {
        if let Some(oid) = self.oid {
            return Ok(Some(oid));
        }
        let mut entries = Vec::with_capacity(self.children.len());
        for (name, node) in self.children.iter_mut() {
            match node {
                Node::File { mode, oid } => entries.push((name.as_slice(), *mode, *oid)),
                Node::Dir(d) => {
                    if let Some(oid) = d.write(objects)? {
                        entries.push((name.as_slice(), MODE_TREE, oid));
                    }
                }
            }
        }
        if entries.is_empty() {
            return Ok(None);
        }
        let oid = objects.write_tree(&mut entries)?;
        self.oid = Some(oid);
        Ok(Some(oid))
    }
}

#[cfg(test)]
mod tests {
    use super::super::objects::{MODE_EXEC, MODE_FILE, hex};
    use super::*;

    #[test]
    fn changes_rewrite_the_trees_on_their_path_and_empty_directories_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let objects = Objects::new(dir.path());
        let a = objects.write("blob", b"a").unwrap();
        let b = objects.write("blob", b"b").unwrap();
        let mut tree = Dir::default();
        tree.set(b"src/x/a.rs", MODE_FILE, a);
        tree.set(b"top", MODE_EXEC, b);
        let first = tree.write(&objects).unwrap().unwrap();
        // Loaded back from a listing, the same tree has the same id without writing anything.
        let mut x = Dir::default();
        x.set(b"a.rs", MODE_FILE, a);
        let x_id = x.write(&objects).unwrap().unwrap();
        let mut src = Dir::default();
        src.set(b"x/a.rs", MODE_FILE, a);
        let src_id = src.write(&objects).unwrap().unwrap();
        let listing = format!(
            "40000 tree {}\tsrc\0040000 tree {}\tsrc/x\0100644 blob {}\tsrc/x/a.rs\0100755 blob {}\ttop\0",
            hex(&src_id),
            hex(&x_id),
            hex(&a),
            hex(&b)
        );
        let mut loaded = Dir::load(first, listing.as_bytes()).unwrap();
        assert_eq!(loaded.get(b"src/x/a.rs"), Some((MODE_FILE, a)));
        loaded.set(b"src/x/a.rs", MODE_FILE, b);
        let second = loaded.write(&objects).unwrap().unwrap();
        assert_ne!(second, first);
        loaded.set(b"src/x/a.rs", MODE_FILE, a);
        assert_eq!(loaded.write(&objects).unwrap(), Some(first));
        // A file replaced by a directory and back; removing the last file drops its directories.
        loaded.set(b"top/inner", MODE_FILE, a);
        assert_eq!(loaded.get(b"top"), None);
        loaded.remove(b"top");
        loaded.remove(b"src/x/a.rs");
        assert_eq!(loaded.write(&objects).unwrap(), None);
        loaded.remove(b"no/such/path");
    }
}
