//! The file manager, jailed to one server directory (see [`jail`]). All functions here
//! block; the HTTP layer runs them on the blocking pool.

pub mod archive;
pub mod jail;
pub(crate) mod links;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cap_protocol::files::{FileContent, FileEntry, FileKind};
use cap_std::fs::{Dir, Metadata, MetadataExt, Permissions, PermissionsExt};
use chrono::{DateTime, Utc};

use crate::error::{AgentError, AgentResult};
use jail::{
    check_regular, create_options, fs_error, open_overwrite, open_regular, read_options, relative,
    relative_non_root,
};

/// Most entries returned by one listing.
const MAX_LIST_ENTRIES: usize = 10_000;

/// Build an entry from metadata that was read without following the final symlink.
pub fn entry(path: &Path, meta: &Metadata) -> FileEntry {
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        FileKind::Symlink
    } else if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::File
    } else {
        FileKind::Other
    };
    FileEntry {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.to_string_lossy().into_owned(),
        kind,
        size: if kind == FileKind::File {
            meta.len()
        } else {
            0
        },
        mode: meta.mode() & 0o7777,
        modified: meta
            .modified()
            .ok()
            .map(|t| DateTime::<Utc>::from(t.into_std())),
    }
}

/// Stat without following a final symlink.
pub fn stat(root: &Dir, path: &str) -> AgentResult<FileEntry> {
    let rel = relative(path)?;
    let meta = if rel.as_os_str().is_empty() {
        root.dir_metadata()
    } else {
        root.symlink_metadata(&rel)
    }
    .map_err(|e| fs_error(e, &rel))?;
    Ok(entry(&rel, &meta))
}

/// Directory listing, directories first, then by name.
pub fn list(root: &Dir, path: &str) -> AgentResult<Vec<FileEntry>> {
    let rel = relative(path)?;
    let dir = if rel.as_os_str().is_empty() {
        root.try_clone().map_err(|e| fs_error(e, &rel))?
    } else {
        root.open_dir(&rel).map_err(|e| fs_error(e, &rel))?
    };
    let mut entries = Vec::new();
    for item in dir.entries().map_err(|e| fs_error(e, &rel))? {
        let item = item.map_err(|e| fs_error(e, &rel))?;
        let Ok(meta) = item.metadata() else { continue };
        entries.push(entry(&rel.join(item.file_name()), &meta));
        if entries.len() >= MAX_LIST_ENTRIES {
            break;
        }
    }
    entries.sort_by(|a, b| {
        (a.kind != FileKind::Directory, &a.name).cmp(&(b.kind != FileKind::Directory, &b.name))
    });
    Ok(entries)
}

/// Read a text file (at most `max` bytes).
pub fn read(root: &Dir, path: &str, max: u64) -> AgentResult<FileContent> {
    let rel = relative_non_root(path)?;
    let bytes = read_bounded(root, &rel, max, "must be downloaded")?;
    Ok(FileContent {
        path: rel.to_string_lossy().into_owned(),
        content: String::from_utf8_lossy(&bytes).into_owned(),
        size: bytes.len() as u64,
    })
}

/// Read a regular file of at most `max` bytes; `advice` completes the "too large" message.
fn read_bounded(root: &Dir, rel: &Path, max: u64, advice: &str) -> AgentResult<Vec<u8>> {
    let file = open_regular(root, rel, &read_options())?;
    let size = file.metadata().map_err(|e| fs_error(e, rel))?.len();
    if size > max {
        return Err(AgentError::TooLarge(format!(
            "{} is {size} bytes; files over {max} bytes {advice}",
            rel.display()
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fs_error(e, rel))?;
    if bytes.len() as u64 > max {
        return Err(AgentError::TooLarge(format!(
            "{} grew beyond {max} bytes",
            rel.display()
        )));
    }
    Ok(bytes)
}

/// Read a UTF-8 text file of at most `max` bytes for editing; `None` when it does not
/// exist. A symlink is refused, even one that stays inside the directory, so that the
/// file replaced by [`replace`] is the file that was read.
pub fn read_text(root: &Dir, rel: &Path, max: u64) -> AgentResult<Option<String>> {
    match root.symlink_metadata(rel) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fs_error(e, rel)),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(AgentError::Validation(format!(
                "{} is a symbolic link; only regular files are edited",
                rel.display()
            )))
        }
        Ok(_) => {}
    }
    let bytes = read_bounded(root, rel, max, "are not edited")?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| AgentError::Validation(format!("{} is not UTF-8 text", rel.display())))
}

/// Create or replace a regular file atomically: written beside it under a temporary
/// name, synced, then renamed over it (never through a symlink). Missing parent
/// directories are created; an existing file keeps its permission bits.
pub fn replace(root: &Dir, rel: &Path, content: &[u8]) -> AgentResult<()> {
    let mode = match root.symlink_metadata(rel) {
        Ok(meta) if meta.is_file() => Some(meta.mode() & 0o7777),
        Ok(_) => {
            return Err(AgentError::Validation(format!(
                "not a regular file: {}",
                rel.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fs_error(e, rel)),
    };
    if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        root.create_dir_all(parent)
            .map_err(|e| fs_error(e, parent))?;
    }
    let temp = temp_sibling(rel, "edit");
    let mut file = open_regular(root, &temp, &create_options())?;
    let written = file
        .write_all(content)
        .and_then(|_| file.sync_all())
        .and_then(|_| match mode {
            Some(mode) => file.set_permissions(Permissions::from_mode(mode)),
            None => Ok(()),
        })
        .and_then(|_| root.rename(&temp, root, rel));
    if let Err(e) = written {
        let _ = root.remove_file(&temp);
        return Err(fs_error(e, rel));
    }
    Ok(())
}

/// A hidden name beside `target` for a file being written (`.<name>.<purpose>-<random>`).
fn temp_sibling(target: &Path, purpose: &str) -> std::path::PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(
        ".{name}.{purpose}-{}",
        uuid::Uuid::new_v4().simple()
    ))
}

/// Create or replace a file with `content`.
pub fn write(root: &Dir, path: &str, content: &[u8]) -> AgentResult<FileEntry> {
    let rel = relative_non_root(path)?;
    let mut file = open_overwrite(root, &rel)?;
    file.write_all(content).map_err(|e| fs_error(e, &rel))?;
    file.flush().map_err(|e| fs_error(e, &rel))?;
    stat(root, path)
}

/// Create a directory and its parents.
pub fn mkdir(root: &Dir, path: &str) -> AgentResult<FileEntry> {
    let rel = relative_non_root(path)?;
    root.create_dir_all(&rel).map_err(|e| fs_error(e, &rel))?;
    stat(root, path)
}

/// Rename or move; the target must not exist.
pub fn rename(root: &Dir, from: &str, to: &str) -> AgentResult<FileEntry> {
    let (from_rel, to_rel) = (relative_non_root(from)?, relative_non_root(to)?);
    root.symlink_metadata(&from_rel)
        .map_err(|e| fs_error(e, &from_rel))?;
    if root.symlink_metadata(&to_rel).is_ok() {
        return Err(AgentError::Conflict(format!(
            "already exists: {}",
            to_rel.display()
        )));
    }
    // Moving symlinks changes where relative ones lead (and where the links that pass
    // through them lead): every link of the directory is checked again afterwards, and
    // a move that makes one lead outside is undone.
    let moves_links = links::escaping_below(root, &from_rel)?.is_some();
    let before: HashSet<PathBuf> = if moves_links {
        let moved = |p: PathBuf| match p.strip_prefix(&from_rel) {
            Ok(rest) => to_rel.join(rest),
            Err(_) => p,
        };
        let all = links::escaping_below(root, Path::new(""))?.unwrap_or_default();
        all.into_iter().map(moved).collect()
    } else {
        HashSet::new()
    };
    root.rename(&from_rel, root, &to_rel)
        .map_err(|e| fs_error(e, &to_rel))?;
    if moves_links {
        let after = links::escaping_below(root, Path::new(""))?.unwrap_or_default();
        if let Some(link) = after.difference(&before).next() {
            root.rename(&to_rel, root, &from_rel)
                .map_err(|e| fs_error(e, &from_rel))?;
            return Err(AgentError::Validation(format!(
                "moving {} would make the symbolic link {} lead outside the server directory",
                from_rel.display(),
                link.display()
            )));
        }
    }
    stat(root, to)
}

/// Bytes a copy of `path` would add (regular files only; symlinks and special files are
/// not copied).
pub fn tree_size(root: &Dir, path: &Path) -> AgentResult<u64> {
    let meta = root.symlink_metadata(path).map_err(|e| fs_error(e, path))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    if !meta.is_dir() {
        return Ok(0);
    }
    let mut total = 0;
    for item in root.read_dir(path).map_err(|e| fs_error(e, path))? {
        let item = item.map_err(|e| fs_error(e, path))?;
        total += tree_size(root, &path.join(item.file_name()))?;
    }
    Ok(total)
}

/// Copy a file or a directory tree; the target must not exist.
pub fn copy(root: &Dir, from: &str, to: &str) -> AgentResult<FileEntry> {
    let (from_rel, to_rel) = (relative_non_root(from)?, relative_non_root(to)?);
    if root.symlink_metadata(&to_rel).is_ok() {
        return Err(AgentError::Conflict(format!(
            "already exists: {}",
            to_rel.display()
        )));
    }
    if to_rel.starts_with(&from_rel) {
        return Err(AgentError::Validation(
            "cannot copy a directory into itself".into(),
        ));
    }
    if let Err(e) = copy_tree(root, &from_rel, &to_rel) {
        // Leave no half-made copy behind.
        let _ = match root.symlink_metadata(&to_rel) {
            Ok(meta) if meta.is_dir() => root.remove_dir_all(&to_rel),
            _ => root.remove_file(&to_rel),
        };
        return Err(e);
    }
    stat(root, to)
}

fn copy_tree(root: &Dir, from: &Path, to: &Path) -> AgentResult<()> {
    let meta = root.symlink_metadata(from).map_err(|e| fs_error(e, from))?;
    if meta.is_dir() {
        root.create_dir(to).map_err(|e| fs_error(e, to))?;
        for item in root.read_dir(from).map_err(|e| fs_error(e, from))? {
            let name = item.map_err(|e| fs_error(e, from))?.file_name();
            copy_tree(root, &from.join(&name), &to.join(&name))?;
        }
    } else if meta.is_file() {
        let mut source = open_regular(root, from, &read_options())?;
        let mut target = open_regular(root, to, &create_options())?;
        std::io::copy(&mut source, &mut target).map_err(|e| fs_error(e, to))?;
        target
            .set_permissions(Permissions::from_mode(meta.mode() & 0o777))
            .map_err(|e| fs_error(e, to))?;
    }
    Ok(())
}

/// Delete files and directory trees (symlinks are removed, never followed).
pub fn delete(root: &Dir, paths: &[String]) -> AgentResult<()> {
    let rels = paths
        .iter()
        .map(|p| relative_non_root(p))
        .collect::<AgentResult<Vec<_>>>()?;
    for rel in rels {
        remove(root, &rel)?;
    }
    Ok(())
}

/// Delete one file or directory tree (a symlink is removed, never followed).
pub fn remove(root: &Dir, rel: &Path) -> AgentResult<()> {
    let meta = root.symlink_metadata(rel).map_err(|e| fs_error(e, rel))?;
    if meta.is_dir() {
        root.remove_dir_all(rel)
    } else {
        root.remove_file(rel)
    }
    .map_err(|e| fs_error(e, rel))
}

/// Change permission bits (0..=0o777).
pub fn chmod(root: &Dir, path: &str, mode: u32) -> AgentResult<FileEntry> {
    if mode > 0o777 {
        return Err(AgentError::Validation(
            "mode must be between 0 and 0o777 (511)".into(),
        ));
    }
    let rel = relative_non_root(path)?;
    let meta = root.symlink_metadata(&rel).map_err(|e| fs_error(e, &rel))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(AgentError::Validation(format!(
            "not a regular file or directory: {}",
            rel.display()
        )));
    }
    if meta.is_file() {
        // The mode of a hard-linked file is also the mode of its other names.
        check_regular(&meta, &rel)?;
    }
    root.set_permissions(&rel, Permissions::from_mode(mode))
        .map_err(|e| fs_error(e, &rel))?;
    stat(root, path)
}

/// Open an existing regular file for download; returns the file and its size.
pub fn open_download(root: &Dir, path: &str) -> AgentResult<(std::fs::File, u64)> {
    let rel = relative_non_root(path)?;
    let file = open_regular(root, &rel, &read_options())?;
    let size = file.metadata().map_err(|e| fs_error(e, &rel))?.len();
    Ok((file.into_std(), size))
}

/// A file being uploaded: written under a temporary name, renamed into place by
/// [`Upload::finish`], removed by [`Upload::abort`].
pub struct Upload {
    root: Dir,
    temp: std::path::PathBuf,
    target: std::path::PathBuf,
}

impl Upload {
    /// Start an upload to `path` (parents must exist).
    pub fn begin(root: Dir, path: &str) -> AgentResult<(Self, std::fs::File)> {
        let target = relative_non_root(path)?;
        if let Ok(meta) = root.symlink_metadata(&target) {
            if !meta.is_file() {
                return Err(AgentError::Validation(format!(
                    "not a regular file: {}",
                    target.display()
                )));
            }
        }
        let temp = temp_sibling(&target, "upload");
        let file = open_regular(&root, &temp, &create_options())?;
        Ok((Self { root, temp, target }, file.into_std()))
    }

    /// Move the finished upload into place.
    pub fn finish(self) -> AgentResult<FileEntry> {
        self.root
            .rename(&self.temp, &self.root, &self.target)
            .map_err(|e| fs_error(e, &self.target))?;
        stat(&self.root, &self.target.to_string_lossy())
    }

    /// Remove the partial upload.
    pub fn abort(self) {
        let _ = self.root.remove_file(&self.temp);
    }
}
