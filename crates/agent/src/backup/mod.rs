//! Backups and restores of server directories.
//!
//! One backup or restore at a time per server (a second is refused with `CONFLICT`), and
//! at most `[backups] max_concurrent` on the node (the others wait as `pending`). Every
//! change of a record is stored before it is published as an event, so a panel that was
//! away learns the outcome from `GET /api/backups` when it is back. A backup or restore
//! that was running when the agent died is marked failed at the next start; its partial
//! archive is removed and its multipart upload aborted.

pub mod journal;
mod restore;
mod s3;
mod write;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cap_protocol::backup::{
    BackupAdapter, BackupRecord, BackupStatus, CreateBackup, RestoreRecord, RestoreRequest,
    RestoreSource, S3Upload, MAX_IGNORED_PATTERNS, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE,
};
use cap_protocol::events::EventKind;
use chrono::Utc;
use futures_util::TryStreamExt;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::bus::EventBus;
use crate::error::{AgentError, AgentResult};
use crate::files::jail::open_root;
use crate::supervisor::{Server, Supervisor};
use journal::{Journal, Stored};

/// How often restore progress is published.
const RESTORE_PROGRESS_EVERY: Duration = Duration::from_millis(500);

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

    // ----- backup ------------------------------------------------------------------------

    /// Start a backup of `server`; it runs in the background.
    pub fn create(
        self: &Arc<Self>,
        server: Uuid,
        request: CreateBackup,
    ) -> AgentResult<BackupRecord> {
        self.supervisor.get(server)?;
        check_request(&request)?;
        if lock(&self.records).contains_key(&request.backup_id) {
            return Err(AgentError::Conflict(format!(
                "backup {} already exists",
                request.backup_id
            )));
        }
        let busy = self.claim(server)?;
        let stored = Stored {
            record: BackupRecord {
                id: request.backup_id,
                server_id: server,
                adapter: if request.s3.is_some() {
                    BackupAdapter::S3
                } else {
                    BackupAdapter::Local
                },
                format: request.format,
                status: BackupStatus::Pending,
                bytes: 0,
                files: 0,
                skipped: 0,
                size: None,
                checksum: None,
                error: None,
                created_at: Utc::now(),
                finished_at: None,
            },
            abort_url: request.s3.as_ref().map(|s3| s3.abort_url.clone()),
        };
        self.update(&stored);
        let backups = self.clone();
        let record = stored.record.clone();
        tokio::spawn(async move {
            let _busy = busy;
            let Ok(_slot) = backups.slots.acquire().await else {
                return;
            };
            let mut stored = stored;
            stored.record.status = BackupStatus::Running;
            backups.update(&stored);
            let outcome = backups.run_backup(&stored, &request).await;
            stored.record.finished_at = Some(Utc::now());
            stored.abort_url = None;
            match outcome {
                Ok(summary) => {
                    stored.record.status = BackupStatus::Completed;
                    stored.record.bytes = summary.bytes;
                    stored.record.files = summary.files;
                    stored.record.skipped = summary.skipped;
                    stored.record.size = Some(summary.size);
                    stored.record.checksum = Some(summary.checksum);
                }
                Err(reason) => {
                    tracing::warn!(backup = %stored.record.id, "backup failed: {reason}");
                    stored.record.status = BackupStatus::Failed;
                    stored.record.error = Some(reason);
                }
            }
            backups.update(&stored);
        });
        Ok(record)
    }

    async fn run_backup(
        self: &Arc<Self>,
        stored: &Stored,
        request: &CreateBackup,
    ) -> Result<write::Summary, String> {
        let config = self.supervisor.config();
        let pack = Pack {
            dir: config.server_dir(stored.record.server_id),
            ignored: request.ignored.clone(),
            format: request.format,
            level: config.backups.zstd_level.clamp(1, 19),
            progress: Box::new(self.backup_progress(stored.record.clone())),
        };
        let format = request.format;
        match &request.s3 {
            None => {
                let partial = self.journal.partial_path(stored.record.id, format);
                let done = self.journal.archive_path(stored.record.id, format);
                let written = tokio::task::spawn_blocking(move || {
                    let file = std::fs::File::create_new(&partial)?;
                    let result = pack
                        .run(std::io::BufWriter::with_capacity(1 << 20, file))
                        .and_then(|(sink, summary)| {
                            let file = sink
                                .into_inner()
                                .map_err(|e| AgentError::Io(e.into_error()))?;
                            file.sync_all()?;
                            std::fs::rename(&partial, &done)?;
                            Ok(summary)
                        });
                    if result.is_err() {
                        let _ = std::fs::remove_file(&partial);
                    }
                    result
                })
                .await;
                flatten(written).map_err(|e| reason(&e))
            }
            Some(upload) => self.upload(upload, pack).await,
        }
    }

    async fn upload(&self, upload: &S3Upload, pack: Pack) -> Result<write::Summary, String> {
        let attempts = self.supervisor.config().backups.part_attempts;
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let part_size = usize::try_from(upload.part_size).unwrap_or(usize::MAX);
        let writer = tokio::task::spawn_blocking(move || {
            pack.run(s3::PartSink::new(tx, part_size))
                .and_then(|(sink, summary)| {
                    sink.finish()?;
                    Ok(summary)
                })
        });
        let uploaded = s3::upload_parts(&self.http, &upload.part_urls, rx, attempts).await;
        let written = flatten(writer.await);
        let result = match (uploaded, written) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(reason(&e)),
            (Ok(etags), Ok(summary)) => {
                s3::complete(&self.http, &upload.complete_url, &etags, attempts)
                    .await
                    .map(|()| summary)
            }
        };
        if result.is_err() {
            if let Err(e) = s3::abort(&self.http, &upload.abort_url).await {
                tracing::error!("cannot abort the upload: {e}");
            }
        }
        result
    }

    fn backup_progress(
        self: &Arc<Self>,
        record: BackupRecord,
    ) -> impl FnMut(u64, u64) + Send + 'static {
        let backups = self.clone();
        move |bytes, files| {
            let mut records = lock(&backups.records);
            if let Some(stored) = records.get_mut(&record.id) {
                stored.record.bytes = bytes;
                stored.record.files = files;
                let current = stored.record.clone();
                drop(records);
                backups.publish(&current);
            }
        }
    }

    // ----- restore -----------------------------------------------------------------------

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
    ) -> Result<restore::Written, (restore::Written, AgentError)> {
        let none = restore::Written::default();
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
                restore::verify(&view, source, format, &checksum, max)
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
                restore::empty(&root).map_err(|e| (none, e))?;
            }
            restore::extract(&root, source, format, &checksum, verified, &mut progress)
        })
        .await
        .map_err(|e| (none, AgentError::from(e)))?
    }

    fn restore_progress(
        self: &Arc<Self>,
        mut record: RestoreRecord,
    ) -> impl FnMut(restore::Written) + Send {
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

/// Everything the blocking archive writer needs.
struct Pack {
    dir: std::path::PathBuf,
    ignored: Vec<String>,
    format: cap_protocol::backup::BackupFormat,
    level: i32,
    progress: Box<dyn FnMut(u64, u64) + Send>,
}

impl Pack {
    fn run<W: std::io::Write>(mut self, sink: W) -> AgentResult<(W, write::Summary)> {
        let root = open_root(&self.dir)?;
        let matcher = write::matcher(&root, &self.ignored)?;
        write::archive(
            &root,
            &matcher,
            self.format,
            self.level,
            sink,
            &mut self.progress,
        )
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

fn check_request(request: &CreateBackup) -> AgentResult<()> {
    if request.ignored.len() > MAX_IGNORED_PATTERNS {
        return Err(AgentError::Validation(format!(
            "ignored: at most {MAX_IGNORED_PATTERNS} patterns"
        )));
    }
    write::check_patterns(&request.ignored)?;
    if let Some(s3) = &request.s3 {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&s3.part_size) {
            return Err(AgentError::Validation(format!(
                "s3.partSize must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes"
            )));
        }
        if s3.part_urls.is_empty() || s3.part_urls.len() > MAX_PARTS {
            return Err(AgentError::Validation(format!(
                "s3.partUrls must hold between 1 and {MAX_PARTS} URLs"
            )));
        }
        for url in &s3.part_urls {
            check_url(url, "s3.partUrls")?;
        }
        check_url(&s3.complete_url, "s3.completeUrl")?;
        check_url(&s3.abort_url, "s3.abortUrl")?;
    }
    Ok(())
}
