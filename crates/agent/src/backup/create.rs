//! Creating a backup: the request checked, then (in the background, once a slot is
//! free) the server directory packed into a local archive or uploaded to S3 in parts.

use std::sync::Arc;

use cap_protocol::backup::{
    BackupAdapter, BackupRecord, BackupStatus, CreateBackup, S3Upload, MAX_IGNORED_PATTERNS,
    MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE,
};
use chrono::Utc;
use uuid::Uuid;

use super::journal::Stored;
use super::{check_url, flatten, lock, reason, s3, write, Backups};
use crate::error::{AgentError, AgentResult};
use crate::files::jail::open_root;

impl Backups {
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
