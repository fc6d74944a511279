//! File manager requests and answers. All paths are relative to the server directory.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Kind of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Regular file.
    File,
    /// Directory.
    Directory,
    /// Symbolic link (not followed when listing).
    Symlink,
    /// FIFO, socket or device: listed, but every operation on it is refused.
    Other,
}

/// One file or directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    /// Base name.
    pub name: String,
    /// Path relative to the server directory (`""` for the directory itself).
    pub path: String,
    /// Kind.
    pub kind: FileKind,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Permission bits, e.g. `0o644` as the number 420.
    pub mode: u32,
    /// Last modification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
}

/// `?path=` query of list/stat/read/download/upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathQuery {
    /// Relative path; empty means the server directory.
    #[serde(default)]
    pub path: String,
}

/// A text file's content (`files/read`, at most 8 MiB; larger files: download).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileContent {
    /// Relative path.
    pub path: String,
    /// Content (invalid UTF-8 replaced by U+FFFD).
    pub content: String,
    /// Size in bytes.
    pub size: u64,
}

/// `files/write`: create or replace a file with text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteFile {
    /// Relative path.
    pub path: String,
    /// New content.
    pub content: String,
}

/// A single path (`files/mkdir`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathRequest {
    /// Relative path.
    pub path: String,
}

/// `files/rename` and `files/copy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveRequest {
    /// Existing path.
    pub from: String,
    /// New path (must not exist).
    pub to: String,
}

/// `files/delete`: files and directories (recursively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRequest {
    /// Relative paths.
    pub paths: Vec<String>,
}

/// `files/chmod`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChmodRequest {
    /// Relative path.
    pub path: String,
    /// Permission bits (0..=0o777; setuid/setgid/sticky are refused).
    pub mode: u32,
}

/// Archive formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ArchiveFormat {
    /// `.tar.gz`
    TarGz,
    /// `.zip`
    Zip,
}

/// `files/compress`: pack paths into a new archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompressRequest {
    /// Files and directories to include (symlinks are skipped).
    pub paths: Vec<String>,
    /// Archive to create (must not exist).
    pub destination: String,
    /// Format.
    pub format: ArchiveFormat,
}

/// `files/decompress`: unpack an archive (format from the name: `.zip`, `.tar.gz`/`.tgz`,
/// `.tar`) into a directory. Entries leaving the directory, absolute entries, links
/// pointing outside and special files make the whole request fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecompressRequest {
    /// The archive.
    pub path: String,
    /// Target directory (created if missing; default: the archive's directory).
    #[serde(default)]
    pub destination: Option<String>,
}
