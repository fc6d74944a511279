//! Where a symlink really leads. A target is resolved component by component like the
//! kernel does, following every link met on the way — those already on disk and those
//! about to be created — so that a chain of links that each look harmless on their own
//! (`k/up -> ../..`, then `conf -> k/up/../../outside`) cannot lead out of the server
//! directory.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::Dir;

use super::jail::fs_error;
use crate::error::{AgentError, AgentResult};

/// Most links followed while resolving one path (the kernel's limit).
const MAX_HOPS: usize = 40;

/// Symlinks not yet on disk: link path (relative to the root) -> target.
pub type Pending = HashMap<PathBuf, PathBuf>;

/// Does a symlink at `link` (relative to the root) pointing to `target` stay inside the
/// root, given the links on disk and the `pending` ones?
pub fn stays_inside(root: &Dir, pending: &Pending, link: &Path, target: &Path) -> bool {
    if target.as_os_str().is_empty() {
        return false;
    }
    let mut resolver = Resolver {
        root,
        pending,
        hops: 0,
    };
    let parent = link.parent().unwrap_or(Path::new(""));
    resolver
        .walk(Vec::new(), parent)
        .and_then(|dir| resolver.walk(dir, target))
        .is_some()
}

/// Most entries looked at when checking the links of a directory tree.
const MAX_CHECKED_ENTRIES: usize = 1_000_000;

/// The symlinks below `path` (itself included) that lead outside the root, or `None`
/// when the tree has no symlink at all.
pub fn escaping_below(root: &Dir, path: &Path) -> AgentResult<Option<HashSet<PathBuf>>> {
    let mut links = Vec::new();
    let mut todo = vec![path.to_path_buf()];
    let mut seen = 0;
    while let Some(current) = todo.pop() {
        seen += 1;
        if seen > MAX_CHECKED_ENTRIES {
            return Err(AgentError::Validation(format!(
                "{} holds more than {MAX_CHECKED_ENTRIES} entries; too many to check",
                path.display()
            )));
        }
        let is_root = current.as_os_str().is_empty();
        let meta = if is_root {
            root.dir_metadata()
        } else {
            root.symlink_metadata(&current)
        }
        .map_err(|e| fs_error(e, &current))?;
        if meta.file_type().is_symlink() {
            links.push(current);
        } else if meta.is_dir() {
            let dir = if is_root { Path::new(".") } else { &current };
            for item in root.read_dir(dir).map_err(|e| fs_error(e, &current))? {
                let item = item.map_err(|e| fs_error(e, &current))?;
                todo.push(current.join(item.file_name()));
            }
        }
    }
    if links.is_empty() {
        return Ok(None);
    }
    let none = Pending::new();
    Ok(Some(
        links
            .into_iter()
            .filter(|link| {
                root.read_link_contents(link)
                    .map_or(true, |target| !stays_inside(root, &none, link, &target))
            })
            .collect(),
    ))
}

struct Resolver<'a> {
    root: &'a Dir,
    pending: &'a Pending,
    hops: usize,
}

impl Resolver<'_> {
    /// Resolve `path` from the directory `at` (components below the root); `None` when
    /// it leaves the root, is absolute, or follows too many links.
    fn walk(&mut self, mut at: Vec<OsString>, path: &Path) -> Option<Vec<OsString>> {
        for component in path.components() {
            match component {
                Component::CurDir => {}
                Component::ParentDir => {
                    at.pop()?;
                }
                Component::RootDir | Component::Prefix(_) => return None,
                Component::Normal(name) => {
                    at.push(name.to_owned());
                    if let Some(target) = self.link_at(&at)? {
                        self.hops += 1;
                        if self.hops > MAX_HOPS {
                            return None;
                        }
                        at.pop();
                        at = self.walk(at, &target)?;
                    }
                }
            }
        }
        Some(at)
    }

    /// The target of the link at `at`: `Some(None)` when it is no link, `None` when it is
    /// a link that cannot be read (treated as leading outside).
    fn link_at(&self, at: &[OsString]) -> Option<Option<PathBuf>> {
        let path: PathBuf = at.iter().collect();
        if let Some(target) = self.pending.get(&path) {
            return Some(Some(target.clone()));
        }
        match self.root.symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                self.root.read_link_contents(&path).ok().map(Some)
            }
            _ => Some(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_of_links_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
        root.create_dir_all("a/b").unwrap();
        let inside = |pending: &Pending, link: &str, target: &str| {
            stays_inside(&root, pending, Path::new(link), Path::new(target))
        };
        let none = Pending::new();
        assert!(inside(&none, "a/b/link", "../c"));
        assert!(!inside(&none, "link", "../c"));
        assert!(!inside(&none, "a/link", "/etc/passwd"));
        assert!(!inside(&none, "a/link", "x/../../../etc"));
        let pending = Pending::from([(PathBuf::from("a/b/up"), PathBuf::from("../.."))]);
        assert!(inside(&pending, "a/b/up", "../.."));
        assert!(inside(&pending, "conf", "a/b/up/x"));
        assert!(!inside(&pending, "conf", "a/b/up/../outside"));
        root.symlink("..", "a/b/up").unwrap();
        assert!(!inside(&none, "conf", "a/b/up/../../x"));
        assert!(
            !inside(&none, "a/b/up/z", "../.."),
            "parent resolved through the link"
        );
        let looped = Pending::from([(PathBuf::from("l"), PathBuf::from("l"))]);
        assert!(!inside(&looped, "m", "l"));
    }
}
