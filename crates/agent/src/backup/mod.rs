//! Backups and restores of server directories.
//!
//! One backup or restore at a time per server (a second is refused with `CONFLICT`), and
//! at most `[backups] max_concurrent` on the node (the others wait as `pending`). Every
//! change of a record is stored before it is published as an event, so a panel that was
//! away learns the outcome from `GET /api/backups` when it is back. A backup or restore
//! that was running when the agent died is marked failed at the next start; its partial
//! archive is removed and its multipart upload aborted.

mod create;
pub mod journal;
mod restore;
mod s3;
mod unpack;
mod write;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cap_protocol::backup::{BackupAdapter, BackupRecord, BackupStatus, RestoreRecord};
use cap_protocol::events::EventKind;
use chrono::Utc;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::bus::EventBus;
use crate::error::{AgentError, AgentResult};
use crate::supervisor::Supervisor;
use journal::{Journal, Stored};

/// Backups of this node.
pub struct Backups {
    supervisor: Arc<Supervisor>,
    bus: Arc<EventBus>,
    journal: Journal,
    slots: Semaphore,
    busy: Mutex<HashSet<Uuid>>,
    records: Mutex<HashMap<Uuid, Stored>>,
    restores: Mutex<HashMap<Uuid, RestoreRecord>>,
    http: reqwest::Client,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Marks a server busy until dropped.
struct Busy {
    backups: Arc<Backups>,
    server: Uuid,
}

impl Drop for Busy {
    fn drop(&mut self) {
        lock(&self.backups.busy).remove(&self.server);
    }
}

impl Backups {
    /// Open the backup directory and settle what a previous agent left running.
    pub fn open(supervisor: Arc<Supervisor>, bus: Arc<EventBus>) -> AgentResult<Arc<Self>> {
        let config = supervisor.config();
        let journal = Journal::open(config.backup_dir(), &config.server_root)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| AgentError::Internal(format!("http client: {e}")))?;
        let backups = Arc::new(Self {
            slots: Semaphore::new(config.backups.max_concurrent.max(1)),
            supervisor: supervisor.clone(),
            bus,
            journal,
            busy: Mutex::default(),
            records: Mutex::default(),
            restores: Mutex::default(),
            http,
        });
        backups.recover()?;
        Ok(backups)
    }

    fn recover(self: &Arc<Self>) -> AgentResult<()> {
        let now = Utc::now();
        for mut stored in self.journal.backups()? {
            if !stored.record.status.is_final() {
                let id = stored.record.id;
                tracing::warn!(backup = %id, "backup interrupted by an agent stop; marked failed");
                let _ = std::fs::remove_file(self.journal.partial_path(id, stored.record.format));
                if let Some(url) = stored.abort_url.take() {
                    let http = self.http.clone();
                    tokio::spawn(async move {
                        if let Err(e) = s3::abort(&http, &url).await {
                            tracing::error!(backup = %id, "cannot abort the upload: {e}");
                        }
                    });
                }
                stored.record.status = BackupStatus::Failed;
                stored.record.error =
                    Some("the agent stopped while the backup was being written".into());
                stored.record.finished_at = Some(now);
                self.journal.save(&stored)?;
            }
            lock(&self.records).insert(stored.record.id, stored);
        }
        for mut record in self.journal.restores()? {
            if !record.status.is_final() {
                record.status = BackupStatus::Failed;
                record.error = Some(format!(
                    "the agent stopped during the restore after {} files; the server \
                     directory may be partly restored",
                    record.files
                ));
                record.finished_at = Some(now);
                self.journal.save_restore(&record)?;
            }
            lock(&self.restores).insert(record.server_id, record);
        }
        Ok(())
    }

    /// Every backup record.
    pub fn list(&self) -> Vec<BackupRecord> {
        let mut all: Vec<_> = lock(&self.records)
            .values()
            .map(|s| s.record.clone())
            .collect();
        all.sort_by_key(|r| r.created_at);
        all
    }

    /// One backup record.
    pub fn get(&self, id: Uuid) -> AgentResult<BackupRecord> {
        lock(&self.records)
            .get(&id)
            .map(|s| s.record.clone())
            .ok_or_else(|| AgentError::NotFound(format!("no backup {id} on this node")))
    }

    /// The last restore of a server.
    pub fn last_restore(&self, server: Uuid) -> AgentResult<RestoreRecord> {
        lock(&self.restores)
            .get(&server)
            .cloned()
            .ok_or_else(|| AgentError::NotFound("this server was never restored".into()))
    }

    /// The completed local archive of a backup and its size.
    pub fn open_local(&self, id: Uuid) -> AgentResult<(std::fs::File, u64)> {
        let record = self.get(id)?;
        if record.adapter != BackupAdapter::Local || record.status != BackupStatus::Completed {
            return Err(AgentError::NotFound(format!(
                "backup {id} has no completed archive on this node"
            )));
        }
        let file = std::fs::File::open(self.journal.archive_path(id, record.format))?;
        let size = file.metadata()?.len();
        Ok((file, size))
    }

    /// Forget a finished backup and remove its local archive.
    pub fn delete(&self, id: Uuid) -> AgentResult<()> {
        let mut records = lock(&self.records);
        match records.get(&id) {
            None => return Err(AgentError::NotFound(format!("no backup {id} on this node"))),
            Some(s) if !s.record.status.is_final() => {
                return Err(AgentError::Conflict(format!(
                    "backup {id} is still running"
                )))
            }
            Some(_) => {}
        }
        self.journal.remove(id)?;
        records.remove(&id);
        Ok(())
    }

    fn claim(self: &Arc<Self>, server: Uuid) -> AgentResult<Busy> {
        if !lock(&self.busy).insert(server) {
            return Err(AgentError::Conflict(
                "a backup or restore of this server is already running".into(),
            ));
        }
        Ok(Busy {
            backups: self.clone(),
            server,
        })
    }

    /// Store and publish a backup record.
    fn update(&self, stored: &Stored) {
        if let Err(e) = self.journal.save(stored) {
            tracing::error!(backup = %stored.record.id, error = %e, "cannot store backup record");
        }
        lock(&self.records).insert(stored.record.id, stored.clone());
        self.publish(&stored.record);
    }

    fn publish(&self, record: &BackupRecord) {
        self.bus.publish(EventKind::Backup {
            backup: Box::new(record.clone()),
        });
    }

    fn update_restore(&self, record: &RestoreRecord) {
        if let Err(e) = self.journal.save_restore(record) {
            tracing::error!(server = %record.server_id, error = %e, "cannot store restore record");
        }
        lock(&self.restores).insert(record.server_id, record.clone());
        self.bus.publish(EventKind::Restore {
            restore: Box::new(record.clone()),
        });
    }
}

/// The result of a blocking task.
fn flatten<T>(joined: Result<AgentResult<T>, tokio::task::JoinError>) -> AgentResult<T> {
    joined.map_err(AgentError::from).and_then(|r| r)
}

/// The reason kept in a failed record: plain words, never an internal detail hidden.
fn reason(e: &AgentError) -> String {
    match e {
        AgentError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) =>
        {
            "no space left on the node's disk".into()
        }
        AgentError::Io(io) => format!("i/o error: {io}"),
        other => other.to_string(),
    }
}

fn check_url(url: &str, field: &str) -> AgentResult<()> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        _ => Err(AgentError::Validation(format!(
            "{field} must be an http or https URL"
        ))),
    }
}
