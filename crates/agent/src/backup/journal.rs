//! Backups on disk, under `<data-dir>/backups/` (outside every server directory):
//!
//! ```text
//! <id>.json             the record of a backup (0600; while an S3 upload runs it also
//!                       holds the presigned abort URL, so a restarted agent can abort it)
//! <id>.tar.zst|.tar.gz  a completed local archive
//! partial/<id>.*        a local archive being written (removed on failure or restart)
//! restores/<server>.json  the last restore of a server
//! ```

use std::path::{Path, PathBuf};

use cap_protocol::backup::{BackupFormat, BackupRecord, RestoreRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AgentError, AgentResult};
use crate::store::write_atomically;

/// A backup record as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    /// What the API shows.
    pub record: BackupRecord,
    /// Presigned URL aborting the S3 upload while it runs (never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_url: Option<String>,
}

/// The backup directory.
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// Open (creating) `dir`, private to the agent. Refuses a directory inside the server
    /// root or holding it: backups must never be reachable through a server's files.
    pub fn open(dir: PathBuf, server_root: &Path) -> AgentResult<Self> {
        if dir.starts_with(server_root) || server_root.starts_with(&dir) {
            return Err(AgentError::Config(format!(
                "the backup directory {} and the server root {} must not contain each other",
                dir.display(),
                server_root.display()
            )));
        }
        for sub in ["partial", "restores"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(Self { dir })
    }

    /// Where a completed local archive lives.
    pub fn archive_path(&self, id: Uuid, format: BackupFormat) -> PathBuf {
        self.dir.join(format!("{id}.{}", format.extension()))
    }

    /// Where a local archive is written before it is complete.
    pub fn partial_path(&self, id: Uuid, format: BackupFormat) -> PathBuf {
        self.dir
            .join("partial")
            .join(format!("{id}.{}", format.extension()))
    }

    fn record_path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn restore_path(&self, server: Uuid) -> PathBuf {
        self.dir.join("restores").join(format!("{server}.json"))
    }

    /// Store a backup record.
    pub fn save(&self, stored: &Stored) -> AgentResult<()> {
        write_json(&self.record_path(stored.record.id), stored)
    }

    /// Store the last restore of a server.
    pub fn save_restore(&self, record: &RestoreRecord) -> AgentResult<()> {
        write_json(&self.restore_path(record.server_id), record)
    }

    /// Forget a backup: its record and its local archive, if any.
    pub fn remove(&self, id: Uuid) -> AgentResult<()> {
        for format in [BackupFormat::TarZstd, BackupFormat::TarGz] {
            remove_if_present(&self.archive_path(id, format))?;
            remove_if_present(&self.partial_path(id, format))?;
        }
        remove_if_present(&self.record_path(id))
    }

    /// Every stored backup record (unreadable ones are logged and skipped).
    pub fn backups(&self) -> AgentResult<Vec<Stored>> {
        read_all(&self.dir)
    }

    /// Every stored restore record.
    pub fn restores(&self) -> AgentResult<Vec<RestoreRecord>> {
        read_all(&self.dir.join("restores"))
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> AgentResult<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| AgentError::Internal(format!("cannot serialise a backup record: {e}")))?;
    write_atomically(path, &json)
}

fn remove_if_present(path: &Path) -> AgentResult<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

fn read_all<T: serde::de::DeserializeOwned>(dir: &Path) -> AgentResult<Vec<T>> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        {
            Ok(value) => all.push(value),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "unreadable backup record")
            }
        }
    }
    Ok(all)
}
