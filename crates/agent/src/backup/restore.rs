//! Restoring a backup into its server: the archive checked in full first (checksum,
//! jail rules, size), the server stopped, then the archive extracted, with progress
//! published as it goes.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cap_protocol::backup::{BackupStatus, RestoreRecord, RestoreRequest, RestoreSource};
use cap_protocol::events::EventKind;
use chrono::Utc;
use futures_util::TryStreamExt;
use uuid::Uuid;

use super::{check_url, flatten, lock, reason, s3, unpack, Backups};
use crate::error::{AgentError, AgentResult};
use crate::files::jail::open_root;
use crate::supervisor::Server;

/// How often restore progress is published.
const RESTORE_PROGRESS_EVERY: Duration = Duration::from_millis(500);

impl Backups {
    /// Start restoring `backup` into `server`; it runs in the background.
    pub fn restore(
        self: &Arc<Self>,
        server: Uuid,
        backup: Uuid,
        request: RestoreRequest,
    ) -> AgentResult<RestoreRecord> {
        let target = self.supervisor.get(server)?;
        if request.checksum.len() != 64
            || !request
                .checksum
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(AgentError::Validation(
                "checksum must be a SHA-256 in lowercase hex (64 characters)".into(),
            ));
        }
        if let RestoreSource::S3 { url } = &request.source {
            check_url(url, "source.url")?;
        } else {
            let path = self.journal.archive_path(backup, request.format);
            if !path.is_file() {
                return Err(AgentError::NotFound(format!(
                    "this node has no local archive of backup {backup}"
                )));
            }
        }
        let busy = self.claim(server)?;
        target.set_restoring(true);
        let mut record = RestoreRecord {
            server_id: server,
            backup_id: backup,
            status: BackupStatus::Pending,
            files: 0,
            bytes: 0,
            error: None,
            created_at: Utc::now(),
            finished_at: None,
        };
        self.update_restore(&record);
        let backups = self.clone();
        let answer = record.clone();
        tokio::spawn(async move {
            let _busy = busy;
            let Ok(_slot) = backups.slots.acquire().await else {
                return;
            };
            record.status = BackupStatus::Running;
            backups.update_restore(&record);
            let outcome = backups.run_restore(&target, &record, &request).await;
            record.finished_at = Some(Utc::now());
            let notice = match outcome {
                Ok(written) => {
                    record.status = BackupStatus::Completed;
                    (record.files, record.bytes) = (written.files, written.bytes);
                    format!(
                        "backup {backup} restored: {} files ({} bytes); the server stays stopped",
                        written.files, written.bytes
                    )
                }
                Err((written, e)) => {
                    record.status = BackupStatus::Failed;
                    (record.files, record.bytes) = (written.files, written.bytes);
                    let why = reason(&e);
                    let notice = format!("restore of backup {backup} failed: {why}");
                    record.error = Some(why);
                    notice
                }
            };
            target.set_restoring(false);
            target.disk.invalidate();
            target.console.notice(&notice);
            backups.update_restore(&record);
        });
        Ok(answer)
    }

    async fn run_restore(
        self: &Arc<Self>,
        server: &Arc<Server>,
        record: &RestoreRecord,
        request: &RestoreRequest,
    ) -> Result<unpack::Written, (unpack::Written, AgentError)> {
        let none = unpack::Written::default();
        let config = self.supervisor.config();
        let dir = config.server_dir(server.id);
        let mut max = config.files.max_extract_bytes;
        if let Some(limit_mib) = server.defined().definition.limits.disk_mib {
            let used = if request.truncate {
                0
            } else {
                server.disk.measure().await
            };
            max = max.min((limit_mib * 1024 * 1024).saturating_sub(used));
        }
        let (format, checksum, truncate) =
            (request.format, request.checksum.clone(), request.truncate);
        let source = self
            .open_source(record.backup_id, request)
            .await
            .map_err(|e| (none, e))?;
        let verified = flatten(
            tokio::task::spawn_blocking(move || {
                let root = open_root(&dir)?;
                let empty;
                let view = if truncate {
                    empty = tempfile::tempdir()?;
                    open_root(empty.path())?
                } else {
                    root
                };
                unpack::verify(&view, source, format, &checksum, max)
            })
            .await,
        )
        .map_err(|e| (none, e))?;
        if server.state().has_process() {
            server.console.notice(&format!(
                "stopping the server to restore backup {}",
                record.backup_id
            ));
            server.stop().await.map_err(|e| (none, e))?;
        }
        let source = self
            .open_source(record.backup_id, request)
            .await
            .map_err(|e| (none, e))?;
        let dir = config.server_dir(server.id);
        let checksum = request.checksum.clone();
        let mut progress = self.restore_progress(record.clone());
        tokio::task::spawn_blocking(move || {
            let root = open_root(&dir).map_err(|e| (none, e))?;
            if truncate {
                unpack::empty(&root).map_err(|e| (none, e))?;
            }
            unpack::extract(&root, source, format, &checksum, verified, &mut progress)
        })
        .await
        .map_err(|e| (none, AgentError::from(e)))?
    }

    fn restore_progress(
        self: &Arc<Self>,
        mut record: RestoreRecord,
    ) -> impl FnMut(unpack::Written) + Send {
        let backups = self.clone();
        let mut reported = Instant::now();
        move |written| {
            if reported.elapsed() >= RESTORE_PROGRESS_EVERY {
                reported = Instant::now();
                (record.files, record.bytes) = (written.files, written.bytes);
                record.status = BackupStatus::Running;
                lock(&backups.restores).insert(record.server_id, record.clone());
                backups.bus.publish(EventKind::Restore {
                    restore: Box::new(record.clone()),
                });
            }
        }
    }

    /// A blocking reader of the archive to restore.
    async fn open_source(
        &self,
        backup: Uuid,
        request: &RestoreRequest,
    ) -> AgentResult<Box<dyn Read + Send>> {
        match &request.source {
            RestoreSource::Local => {
                let path = self.journal.archive_path(backup, request.format);
                let file = std::fs::File::open(&path).map_err(|_| {
                    AgentError::NotFound(format!(
                        "this node has no local archive of backup {backup}"
                    ))
                })?;
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
            }
            RestoreSource::S3 { url } => {
                let response = s3::download(&self.http, url)
                    .await
                    .map_err(AgentError::Validation)?;
                let stream = response.bytes_stream().map_err(std::io::Error::other);
                let reader = tokio_util::io::StreamReader::new(stream);
                Ok(Box::new(tokio_util::io::SyncIoBridge::new(reader)))
            }
        }
    }
}
