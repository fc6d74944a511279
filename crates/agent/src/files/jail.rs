//! The file jail: every path is relative to the server directory and resolved by
//! `cap-std`, which walks each component with `openat` (`openat2(RESOLVE_BENEATH)` where
//! available) so that neither `..`, absolute paths, nor symlinks — including ones swapped in
//! while a request runs — can reach outside the directory.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::{Dir, File, Metadata, MetadataExt, OpenOptions, OpenOptionsExt};

use crate::error::{AgentError, AgentResult};

/// Longest accepted relative path, bytes.
const MAX_PATH_BYTES: usize = 4096;

/// Check a client path and make it a clean relative path (`""` is the root).
/// Refuses NUL bytes, absolute paths and any `..` component, before touching the disk.
pub fn relative(path: &str) -> AgentResult<PathBuf> {
    if path.len() > MAX_PATH_BYTES {
        return Err(AgentError::Validation("path too long".into()));
    }
    if path.contains('\0') {
        return Err(AgentError::Validation("path contains a NUL byte".into()));
    }
    if path.starts_with('/') {
        return Err(AgentError::Validation(format!(
            "absolute paths are not allowed ({path}); paths are relative to the server directory"
        )));
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(AgentError::Validation(format!(
                    "'..' is not allowed in paths ({path})"
                )))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(AgentError::Validation(format!(
                    "absolute paths are not allowed ({path})"
                )))
            }
        }
    }
    Ok(clean)
}

/// Like [`relative`], but the server directory itself is refused.
pub fn relative_non_root(path: &str) -> AgentResult<PathBuf> {
    let clean = relative(path)?;
    if clean.as_os_str().is_empty() {
        return Err(AgentError::Validation(
            "this operation needs a path inside the server directory".into(),
        ));
    }
    Ok(clean)
}

/// Open a server directory as a capability.
pub fn open_root(dir: &Path) -> AgentResult<Dir> {
    Dir::open_ambient_dir(dir, cap_std::ambient_authority()).map_err(|e| fs_error(e, Path::new("")))
}

/// Translate a file-system error into an API error naming the client's path.
pub fn fs_error(err: std::io::Error, path: &Path) -> AgentError {
    let shown = path.display();
    match err.kind() {
        ErrorKind::NotFound => AgentError::NotFound(format!("no such file or directory: {shown}")),
        ErrorKind::AlreadyExists => AgentError::Conflict(format!("already exists: {shown}")),
        ErrorKind::PermissionDenied => AgentError::Validation(format!(
            "access denied: {shown} leads outside the server directory or is not accessible"
        )),
        ErrorKind::NotADirectory => AgentError::Validation(format!("not a directory: {shown}")),
        ErrorKind::IsADirectory => AgentError::Validation(format!("is a directory: {shown}")),
        ErrorKind::DirectoryNotEmpty => {
            AgentError::Conflict(format!("directory not empty: {shown}"))
        }
        ErrorKind::InvalidInput | ErrorKind::InvalidFilename => {
            AgentError::Validation(format!("invalid path: {shown}"))
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => {
            AgentError::TooLarge("no space left on the node's disk".into())
        }
        _ if err.raw_os_error() == Some(nix::libc::ELOOP) => {
            AgentError::Validation(format!("too many symlinks or a symlink loop: {shown}"))
        }
        _ if err.raw_os_error() == Some(nix::libc::ENXIO) => {
            AgentError::Validation(format!("not a regular file: {shown}"))
        }
        _ => AgentError::Io(err),
    }
}

/// Open a regular file (never a FIFO, socket or device: checked before opening, opened
/// non-blocking so a swapped-in FIFO cannot hang us, and checked again on the handle).
/// A file with more than one hard link is refused: its other name may be outside the
/// server directory, where the jail cannot see it.
pub fn open_regular(root: &Dir, path: &Path, options: &OpenOptions) -> AgentResult<File> {
    match root.metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(AgentError::Validation(format!(
                "is a directory: {}",
                path.display()
            )))
        }
        Ok(meta) => check_regular(&meta, path)?,
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(fs_error(e, path)),
        _ => {}
    }
    let mut options = options.clone();
    options.custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY);
    let file = root
        .open_with(path, &options)
        .map_err(|e| fs_error(e, path))?;
    check_regular(&file.metadata().map_err(|e| fs_error(e, path))?, path)?;
    Ok(file)
}

/// A regular file with a single link, or a refusal.
pub fn check_regular(meta: &Metadata, path: &Path) -> AgentResult<()> {
    if !meta.is_file() {
        return Err(AgentError::Validation(format!(
            "not a regular file: {}",
            path.display()
        )));
    }
    if meta.nlink() > 1 {
        return Err(AgentError::Validation(format!(
            "{} has other hard links, which may lead outside the server directory; \
             it is left alone",
            path.display()
        )));
    }
    Ok(())
}

/// Create or open a regular file and empty it. It is truncated only after
/// [`open_regular`] checked the handle, so a hard link is never emptied.
pub fn open_overwrite(root: &Dir, path: &Path) -> AgentResult<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    let file = open_regular(root, path, &options)?;
    file.set_len(0).map_err(|e| fs_error(e, path))?;
    Ok(file)
}

/// Options to read a file.
pub fn read_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    options
}

/// Options to create a new file (an existing one is an error).
pub fn create_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_cleaned_and_escapes_refused() {
        assert_eq!(relative("").unwrap(), PathBuf::new());
        assert_eq!(relative("./a//b/").unwrap(), PathBuf::from("a/b"));
        for bad in ["/etc/passwd", "../x", "a/../../x", "a/..", "a\0b"] {
            assert!(relative(bad).is_err(), "{bad} accepted");
        }
        assert!(relative_non_root(".").is_err());
    }
}
