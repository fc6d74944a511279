//! Backups: requests to the agent, the records it keeps, and their events.
//!
//! A backup is a tar archive of the server directory, compressed with zstd (default) or
//! gzip, written while the server runs. It goes either to the agent's data directory
//! (`local`) or straight to an S3-compatible bucket as a multipart upload (`s3`). The
//! agent never holds bucket credentials: the panel creates the multipart upload and hands
//! the agent presigned URLs for the parts, for completing and for aborting it. Parts are
//! buffered in memory one at a time (`partSize` bytes each), so an archive is never staged
//! whole on the node's disk.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest accepted ignore list (patterns).
pub const MAX_IGNORED_PATTERNS: usize = 1000;

/// Smallest part of a multipart upload S3 accepts (except for the last part).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// Largest part size the agent buffers.
pub const MAX_PART_SIZE: u64 = 64 * 1024 * 1024;

/// Most parts of one multipart upload.
pub const MAX_PARTS: usize = 10_000;

/// How the archive is compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackupFormat {
    /// `.tar.zst` (fast; the default).
    #[default]
    TarZstd,
    /// `.tar.gz` (for tools that know no zstd).
    TarGz,
}

impl BackupFormat {
    /// The file name extension, without the leading dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::TarZstd => "tar.zst",
            Self::TarGz => "tar.gz",
        }
    }
}

/// Where a backup is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackupAdapter {
    /// Under the agent's data directory, outside every server directory.
    Local,
    /// In an S3-compatible bucket.
    S3,
}

/// Presigned requests for one multipart upload, created by the panel.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Upload {
    /// Bytes per part (every part but the last has exactly this size).
    pub part_size: u64,
    /// `PUT` URLs of parts 1, 2, …; an archive needing more parts fails.
    pub part_urls: Vec<String>,
    /// `POST` URL completing the upload (the agent sends the part list).
    pub complete_url: String,
    /// `DELETE` URL aborting the upload (used on failure, also after an agent restart).
    pub abort_url: String,
}

impl std::fmt::Debug for S3Upload {
    // Presigned URLs are bearer credentials: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Upload")
            .field("part_size", &self.part_size)
            .field("parts", &self.part_urls.len())
            .finish_non_exhaustive()
    }
}

/// `POST /api/servers/{id}/backups`: start a backup (answers at once; progress and the
/// result come as events and in the record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBackup {
    /// The backup's id, chosen by the panel.
    pub backup_id: Uuid,
    /// Compression.
    #[serde(default)]
    pub format: BackupFormat,
    /// Extra ignore patterns in gitignore syntax (besides `.capignore` and `.pteroignore`
    /// in the server directory).
    #[serde(default)]
    pub ignored: Vec<String>,
    /// Upload to a bucket; without it the backup is kept on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Upload>,
}

/// Where a backup or restore stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    /// Waiting for a free slot (the node limits how many run at once).
    Pending,
    /// Being written (or restored).
    Running,
    /// Finished.
    Completed,
    /// Failed; see the error.
    Failed,
}

impl BackupStatus {
    /// Completed or failed.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// What the agent knows about one backup (`GET /api/backups/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// The backup.
    pub id: Uuid,
    /// Its server.
    pub server_id: Uuid,
    /// Where it goes.
    pub adapter: BackupAdapter,
    /// Compression.
    pub format: BackupFormat,
    /// Where it stands.
    pub status: BackupStatus,
    /// Bytes of server files read so far.
    pub bytes: u64,
    /// Files archived so far.
    pub files: u64,
    /// Entries left out although not ignored: sockets, FIFOs, devices, and files with
    /// other hard links (which may lead outside the server directory).
    #[serde(default)]
    pub skipped: u64,
    /// Size of the archive (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// SHA-256 of the archive, lowercase hex (when completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it completed or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// Where a restore reads the archive from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "adapter")]
pub enum RestoreSource {
    /// The node's own copy of the backup with the same id.
    Local,
    /// A presigned `GET` URL of the object (read twice: verified, then extracted).
    #[serde(rename_all = "camelCase")]
    S3 {
        /// The URL.
        url: String,
    },
}

impl std::fmt::Debug for RestoreSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Local => "Local",
            Self::S3 { .. } => "S3",
        })
    }
}

/// `POST /api/servers/{id}/backups/{backupId}/restore`: answers at once; the server is
/// stopped if it runs, and the result comes as a `restore` event and in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    /// Where the archive is.
    pub source: RestoreSource,
    /// Compression of the archive.
    #[serde(default)]
    pub format: BackupFormat,
    /// The SHA-256 the archive must have (lowercase hex); checked before anything is
    /// touched.
    pub checksum: String,
    /// Empty the server directory first.
    #[serde(default)]
    pub truncate: bool,
}

/// The last restore of a server (`GET /api/servers/{id}/restore`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRecord {
    /// The server.
    pub server_id: Uuid,
    /// The backup restored.
    pub backup_id: Uuid,
    /// Where it stands.
    pub status: BackupStatus,
    /// Files written so far.
    pub files: u64,
    /// Bytes written so far.
    pub bytes: u64,
    /// What went wrong, and what was and was not restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_their_wire_shape_and_urls_stay_out_of_debug() {
        let request: CreateBackup = serde_json::from_value(serde_json::json!({
            "backupId": Uuid::nil(), "ignored": ["*.log"],
            "s3": {"partSize": 8388608, "partUrls": ["https://b/k?partNumber=1&X-Amz-Signature=s"],
                   "completeUrl": "https://b/k?c", "abortUrl": "https://b/k?a"}
        }))
        .unwrap();
        assert_eq!(request.format, BackupFormat::TarZstd);
        assert!(!format!("{request:?}").contains("Signature"));
        let restore: RestoreRequest = serde_json::from_value(serde_json::json!({
            "source": {"adapter": "s3", "url": "https://b/k?X-Amz-Signature=s"},
            "format": "tar_gz", "checksum": "ab", "truncate": true
        }))
        .unwrap();
        assert!(!format!("{restore:?}").contains("Signature"));
        assert_eq!(
            serde_json::to_value(RestoreSource::Local).unwrap(),
            serde_json::json!({"adapter": "local"})
        );
    }
}
