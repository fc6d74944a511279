//! SFTP operations on one server directory. Every path goes through the file API's jail
//! ([`crate::files::jail`], cap-std): `..` is refused, `/` is the server directory, and
//! symlinks leading out and special files cannot be opened. Every operation checks the
//! right it needs against what the panel last said, asking again when that is older than
//! `recheck_secs`. Every change of known size (a write past the end, a truncation, a
//! removal) is counted in the server's cached disk usage at once, so the quota holds
//! across sessions and the file API before the next scan.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cap_protocol::sftp::{SftpGrant, SftpQuestion, SftpVerdict};
use cap_std::fs::{Dir, Metadata, MetadataExt, OpenOptions, Permissions, PermissionsExt};
use russh_sftp::protocol::{
    Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version,
};
use russh_sftp::server::StatusReply;

use super::session::Shared;
use crate::error::AgentError;
use crate::files::jail;
use crate::supervisor::Server;

/// Largest read answered at once, bytes.
const MAX_READ: u32 = 256 * 1024;
/// Directory entries per `readdir` answer.
const ENTRIES_PER_READ: usize = 256;

type Reply<T> = Result<T, StatusReply>;

/// A right an operation needs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Right {
    Read,
    Write,
    Delete,
}

enum Open {
    File {
        file: Arc<std::fs::File>,
        writable: bool,
    },
    Dir {
        entries: Vec<File>,
    },
}

/// One SFTP session.
pub struct SftpFs {
    shared: Arc<Shared>,
    server: Arc<Server>,
    root: Arc<Dir>,
    grant: SftpGrant,
    checked: Instant,
    handles: HashMap<String, Open>,
    next_handle: u64,
}

fn denied(message: impl Into<String>) -> StatusReply {
    StatusCode::PermissionDenied.with_message(message)
}

fn failure(message: impl Into<String>) -> StatusReply {
    StatusCode::Failure.with_message(message)
}

/// SFTP version 3 has no quota status: a failure that says so.
fn over_quota(room: u64) -> StatusReply {
    failure(format!(
        "disk quota exceeded: {room} more bytes fit on this server"
    ))
}

/// A file API error as an SFTP status.
fn status(err: AgentError) -> StatusReply {
    let message = err.to_string();
    match err {
        AgentError::NotFound(_) => StatusCode::NoSuchFile.with_message(message),
        AgentError::Validation(_) => denied(message),
        _ => failure(message),
    }
}

fn io_status(err: std::io::Error, path: &Path) -> StatusReply {
    status(jail::fs_error(err, path))
}

fn ok(id: u32) -> Status {
    Status {
        id,
        status_code: StatusCode::Ok,
        error_message: "Ok".into(),
        language_tag: "en-US".into(),
    }
}

/// A client path (absolute from the server directory, or relative to it) as a jail path.
fn jailed(path: &str) -> Reply<PathBuf> {
    jail::relative(path.trim_start_matches('/')).map_err(status)
}

/// `path` with `.` and `..` resolved lexically, never above `/`.
fn canonical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

fn attributes(meta: &Metadata) -> FileAttributes {
    FileAttributes {
        size: Some(meta.len()),
        uid: Some(meta.uid()),
        user: None,
        gid: Some(meta.gid()),
        group: None,
        permissions: Some(meta.mode()),
        atime: u32::try_from(meta.atime()).ok(),
        mtime: u32::try_from(meta.mtime()).ok(),
    }
}

async fn blocking<T: Send + 'static>(op: impl FnOnce() -> Reply<T> + Send + 'static) -> Reply<T> {
    tokio::task::spawn_blocking(op)
        .await
        .unwrap_or_else(|_| Err(failure("the operation was interrupted")))
}

impl SftpFs {
    pub fn open(
        shared: Arc<Shared>,
        server: Arc<Server>,
        grant: SftpGrant,
    ) -> Result<Self, AgentError> {
        let dir = shared.supervisor.config().server_dir(grant.server_id);
        let root = Arc::new(jail::open_root(&dir)?);
        Ok(Self {
            shared,
            server,
            root,
            grant,
            checked: Instant::now(),
            handles: HashMap::new(),
            next_handle: 0,
        })
    }

    /// Refuse unless the session (still) holds `right`.
    async fn require(&mut self, right: Right) -> Reply<()> {
        let recheck = Duration::from_secs(self.shared.config.recheck_secs);
        if self.checked.elapsed() >= recheck {
            let question = SftpQuestion::SftpAccess {
                user_id: self.grant.user_id.clone(),
                server_id: self.grant.server_id,
            };
            match self.shared.panel.ask(question).await {
                Ok(SftpVerdict::Granted(grant)) if grant.server_id == self.grant.server_id => {
                    self.grant = grant;
                }
                Ok(_) => {
                    self.grant.read = false;
                    self.grant.write = false;
                    self.grant.delete = false;
                }
                Err(unreachable) => {
                    return Err(failure(format!(
                        "refused: {}; try again when it is back",
                        unreachable.0
                    )))
                }
            }
            self.checked = Instant::now();
        }
        let read_only = self.shared.config.read_only;
        let (held, key) = match right {
            Right::Read => (self.grant.read, "file:read"),
            Right::Write => (self.grant.write && !read_only, "file:write"),
            Right::Delete => (self.grant.delete && !read_only, "file:delete"),
        };
        if held {
            Ok(())
        } else if read_only && right != Right::Read {
            Err(denied("this node serves SFTP read-only"))
        } else {
            Err(denied(format!(
                "you do not have the {key} permission on this server"
            )))
        }
    }

    /// Bytes the server may still add under its disk quota.
    fn room(&self) -> Option<u64> {
        let limit = self.server.defined().definition.limits.disk_mib? * 1024 * 1024;
        let used = self
            .server
            .disk
            .current(self.shared.supervisor.config().disk_scan_interval);
        Some(limit.saturating_sub(used))
    }

    /// Count `delta` bytes in the server's disk usage.
    fn grew(&self, delta: i64) {
        self.server.disk.grew(delta);
    }

    /// Refuse before anything is opened when the session holds its last allowed handle.
    fn handle_place(&self) -> Reply<()> {
        if self.handles.len() >= self.shared.config.max_handles {
            return Err(failure(format!(
                "too many open files in this session (at most {}): close one first",
                self.shared.config.max_handles
            )));
        }
        Ok(())
    }

    fn new_handle(&mut self, open: Open) -> String {
        self.next_handle += 1;
        let handle = self.next_handle.to_string();
        self.handles.insert(handle.clone(), open);
        handle
    }

    fn file(&self, handle: &str) -> Reply<(Arc<std::fs::File>, bool)> {
        match self.handles.get(handle) {
            Some(Open::File { file, writable }) => Ok((file.clone(), *writable)),
            _ => Err(failure("no such open file")),
        }
    }
}

/// A size change as a signed delta.
fn delta(from: u64, to: u64) -> i64 {
    i64::try_from(to).unwrap_or(i64::MAX) - i64::try_from(from).unwrap_or(i64::MAX)
}

impl russh_sftp::server::Handler for SftpFs {
    type Error = StatusReply;

    fn unimplemented(&self) -> StatusReply {
        StatusCode::OpUnsupported.with_message("not supported by this server")
    }

    async fn init(
        &mut self,
        _version: u32,
        _extensions: HashMap<String, String>,
    ) -> Reply<Version> {
        Ok(Version::new())
    }

    async fn realpath(&mut self, id: u32, path: String) -> Reply<Name> {
        Ok(Name {
            id,
            files: vec![File::dummy(canonical(&path))],
        })
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        pflags: OpenFlags,
        _attrs: FileAttributes,
    ) -> Reply<Handle> {
        self.handle_place()?;
        let writes = pflags.intersects(
            OpenFlags::WRITE | OpenFlags::APPEND | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        );
        if pflags.contains(OpenFlags::READ) || !writes {
            self.require(Right::Read).await?;
        }
        if writes {
            self.require(Right::Write).await?;
            if self.room() == Some(0) {
                return Err(over_quota(0));
            }
        }
        let rel = jailed(&filename)?;
        let root = self.root.clone();
        let (file, truncated) = blocking(move || {
            let mut options = OpenOptions::new();
            options
                .read(pflags.contains(OpenFlags::READ))
                .write(writes)
                .append(pflags.contains(OpenFlags::APPEND));
            if pflags.contains(OpenFlags::EXCLUDE) {
                options.create_new(true);
            } else if pflags.contains(OpenFlags::CREATE) {
                options.create(true);
            }
            let file = jail::open_regular(&root, &rel, &options).map_err(status)?;
            let mut truncated = 0;
            if pflags.contains(OpenFlags::TRUNCATE) {
                truncated = file.metadata().map_err(|e| io_status(e, &rel))?.len();
                file.set_len(0).map_err(|e| io_status(e, &rel))?;
            }
            Ok((file.into_std(), truncated))
        })
        .await?;
        self.grew(delta(truncated, 0));
        let handle = self.new_handle(Open::File {
            file: Arc::new(file),
            writable: writes,
        });
        Ok(Handle { id, handle })
    }

    async fn close(&mut self, id: u32, handle: String) -> Reply<Status> {
        if self.handles.remove(&handle).is_none() {
            return Err(failure("no such handle"));
        }
        Ok(ok(id))
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Reply<Data> {
        self.require(Right::Read).await?;
        let (file, _) = self.file(&handle)?;
        let len = len.min(MAX_READ) as usize;
        let data = blocking(move || {
            let mut buf = vec![0; len];
            let mut filled = 0;
            while filled < len {
                match file.read_at(&mut buf[filled..], offset + filled as u64) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io_status(e, Path::new(""))),
                }
            }
            buf.truncate(filled);
            Ok(buf)
        })
        .await?;
        if data.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        Ok(Data { id, data })
    }

    async fn write(
        &mut self,
        id: u32,
        handle: String,
        offset: u64,
        data: Vec<u8>,
    ) -> Reply<Status> {
        self.require(Right::Write).await?;
        let (file, writable) = self.file(&handle)?;
        if !writable {
            return Err(denied("this file was opened for reading"));
        }
        let room = self.room();
        let grows = blocking({
            let file = file.clone();
            move || {
                let size = file
                    .metadata()
                    .map_err(|e| io_status(e, Path::new("")))?
                    .len();
                Ok((offset + data.len() as u64).saturating_sub(size)).and_then(|grows| {
                    if let Some(room) = room.filter(|room| grows > *room) {
                        return Err(over_quota(room));
                    }
                    file.write_all_at(&data, offset)
                        .map_err(|e| io_status(e, Path::new("")))?;
                    Ok(grows)
                })
            }
        })
        .await?;
        self.grew(delta(0, grows));
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Reply<Attrs> {
        self.stat_with(id, path, false).await
    }

    async fn stat(&mut self, id: u32, path: String) -> Reply<Attrs> {
        self.stat_with(id, path, true).await
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Reply<Attrs> {
        self.require(Right::Read).await?;
        let (file, _) = self.file(&handle)?;
        let meta = file.metadata().map_err(|e| io_status(e, Path::new("")))?;
        let attrs = FileAttributes::from(&meta);
        Ok(Attrs { id, attrs })
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Reply<Status> {
        self.require(Right::Write).await?;
        let rel = jailed(&path)?;
        let root = self.root.clone();
        let room = self.room();
        let change = blocking(move || {
            if let Some(mode) = attrs.permissions {
                root.set_permissions(&rel, Permissions::from_mode(mode & 0o7777))
                    .map_err(|e| io_status(e, &rel))?;
            }
            if attrs.size.is_some() || attrs.mtime.is_some() {
                let mut options = OpenOptions::new();
                options.write(true);
                let file = jail::open_regular(&root, &rel, &options).map_err(status)?;
                return apply(&file.into_std(), &attrs, room, &rel);
            }
            Ok(0)
        })
        .await?;
        self.grew(change);
        Ok(ok(id))
    }

    async fn fsetstat(&mut self, id: u32, handle: String, attrs: FileAttributes) -> Reply<Status> {
        self.require(Right::Write).await?;
        let (file, _) = self.file(&handle)?;
        let room = self.room();
        let change = blocking(move || {
            if let Some(mode) = attrs.permissions {
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(|e| io_status(e, Path::new("")))?;
            }
            apply(&file, &attrs, room, Path::new(""))
        })
        .await?;
        self.grew(change);
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Reply<Handle> {
        self.require(Right::Read).await?;
        self.handle_place()?;
        let rel = jailed(&path)?;
        let root = self.root.clone();
        let entries = blocking(move || {
            let dir = if rel.as_os_str().is_empty() {
                root.try_clone().map_err(|e| io_status(e, &rel))?
            } else {
                root.open_dir(&rel).map_err(|e| io_status(e, &rel))?
            };
            let mut entries = Vec::new();
            for item in dir.entries().map_err(|e| io_status(e, &rel))? {
                let item = item.map_err(|e| io_status(e, &rel))?;
                let Ok(meta) = item.metadata() else { continue };
                let name = item.file_name().to_string_lossy().into_owned();
                entries.push(File::new(name, attributes(&meta)));
            }
            entries.reverse();
            Ok(entries)
        })
        .await?;
        let handle = self.new_handle(Open::Dir { entries });
        Ok(Handle { id, handle })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Reply<Name> {
        let Some(Open::Dir { entries }) = self.handles.get_mut(&handle) else {
            return Err(failure("no such open directory"));
        };
        if entries.is_empty() {
            return Err(StatusCode::Eof.into());
        }
        let keep = entries.len().saturating_sub(ENTRIES_PER_READ);
        let files = entries.split_off(keep);
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Reply<Status> {
        self.require(Right::Delete).await?;
        let rel = jail::relative_non_root(filename.trim_start_matches('/')).map_err(status)?;
        let root = self.root.clone();
        let removed = blocking(move || {
            let size = root
                .symlink_metadata(&rel)
                .map(|meta| if meta.is_file() { meta.len() } else { 0 })
                .map_err(|e| io_status(e, &rel))?;
            root.remove_file(&rel).map_err(|e| io_status(e, &rel))?;
            Ok(size)
        })
        .await?;
        self.grew(delta(removed, 0));
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Reply<Status> {
        self.require(Right::Delete).await?;
        let rel = jail::relative_non_root(path.trim_start_matches('/')).map_err(status)?;
        let root = self.root.clone();
        blocking(move || root.remove_dir(&rel).map_err(|e| io_status(e, &rel))).await?;
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, _attrs: FileAttributes) -> Reply<Status> {
        self.require(Right::Write).await?;
        let rel = jail::relative_non_root(path.trim_start_matches('/')).map_err(status)?;
        let root = self.root.clone();
        blocking(move || root.create_dir(&rel).map_err(|e| io_status(e, &rel))).await?;
        Ok(ok(id))
    }

    async fn rename(&mut self, id: u32, oldpath: String, newpath: String) -> Reply<Status> {
        self.require(Right::Write).await?;
        let from = jail::relative_non_root(oldpath.trim_start_matches('/')).map_err(status)?;
        let to = jail::relative_non_root(newpath.trim_start_matches('/')).map_err(status)?;
        let root = self.root.clone();
        blocking(move || {
            if root.symlink_metadata(&to).is_ok() {
                return Err(failure(format!("already exists: {}", to.display())));
            }
            root.rename(&from, &root, &to)
                .map_err(|e| io_status(e, &from))
        })
        .await?;
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Reply<Name> {
        self.require(Right::Read).await?;
        let rel = jailed(&path)?;
        let root = self.root.clone();
        let target = blocking(move || root.read_link(&rel).map_err(|e| io_status(e, &rel))).await?;
        Ok(Name {
            id,
            files: vec![File::dummy(target.to_string_lossy())],
        })
    }

    async fn symlink(&mut self, _id: u32, _linkpath: String, _targetpath: String) -> Reply<Status> {
        Err(denied("symbolic links cannot be created over SFTP"))
    }
}

impl SftpFs {
    async fn stat_with(&mut self, id: u32, path: String, follow: bool) -> Reply<Attrs> {
        self.require(Right::Read).await?;
        let rel = jailed(&path)?;
        let root = self.root.clone();
        let meta = blocking(move || {
            if rel.as_os_str().is_empty() {
                root.dir_metadata()
            } else if follow {
                root.metadata(&rel)
            } else {
                root.symlink_metadata(&rel)
            }
            .map_err(|e| io_status(e, &rel))
        })
        .await?;
        Ok(Attrs {
            id,
            attrs: attributes(&meta),
        })
    }
}

/// Apply a new size (within `room`, when it grows) and modification time to an open file;
/// the change in size.
fn apply(
    file: &std::fs::File,
    attrs: &FileAttributes,
    room: Option<u64>,
    path: &Path,
) -> Reply<i64> {
    let mut change = 0;
    if let Some(size) = attrs.size {
        let old = file.metadata().map_err(|e| io_status(e, path))?.len();
        if let Some(room) = room.filter(|room| size.saturating_sub(old) > *room) {
            return Err(over_quota(room));
        }
        file.set_len(size).map_err(|e| io_status(e, path))?;
        change = delta(old, size);
    }
    if let Some(mtime) = attrs.mtime {
        let at = |secs: u32| std::time::UNIX_EPOCH + Duration::from_secs(u64::from(secs));
        let times = std::fs::FileTimes::new()
            .set_modified(at(mtime))
            .set_accessed(at(attrs.atime.unwrap_or(mtime)));
        file.set_times(times).map_err(|e| io_status(e, path))?;
    }
    Ok(change)
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_canonical_and_never_above_the_root() {
        assert_eq!(super::canonical("."), "/");
        assert_eq!(super::canonical("/a/./b/../c/"), "/a/c");
        assert_eq!(super::canonical("../../etc"), "/etc");
    }
}
