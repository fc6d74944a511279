//! The S3-compatible bucket backups go to when it is configured (`admin:settings`):
//! its settings (the secret key encrypted with the panel's key, never shown or logged),
//! and the requests the panel signs for it (`rusty-s3`, no I/O in the signing). Nodes
//! never hold the bucket's credentials: they get presigned URLs for one object.

use std::time::Duration;

use cap_protocol::backup::{BackupFormat, S3Upload, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, DeleteObject, GetObject,
    HeadBucket, UploadPart,
};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::{Error, FieldErrors, Result};
use crate::repo;
use crate::services::audit;
use crate::state::AppState;

const SETTING: &str = "backups.s3";
/// How long the URLs of an upload and of a restore stay valid (a large archive takes
/// hours; S3 allows at most 7 days).
const TRANSFER_VALID: Duration = Duration::from_secs(24 * 3600);
/// How long the panel's own requests are signed for.
const REQUEST_VALID: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(20);

/// The settings as stored.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stored {
    endpoint: String,
    bucket: String,
    region: String,
    path_style: bool,
    access_key: String,
    secret_ciphertext: String,
    part_size_mib: u64,
}

/// The settings as shown: everything but the secret key.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3View {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub access_key: String,
    /// MiB per part of a multipart upload.
    pub part_size_mib: u64,
}

/// New settings; without `secret_key` the stored secret is kept.
#[derive(Clone)]
pub struct S3Input {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: Option<String>,
    pub part_size_mib: u64,
}

impl std::fmt::Debug for S3Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Input")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

fn view(stored: &Stored) -> S3View {
    S3View {
        endpoint: stored.endpoint.clone(),
        bucket: stored.bucket.clone(),
        region: stored.region.clone(),
        path_style: stored.path_style,
        access_key: stored.access_key.clone(),
        part_size_mib: stored.part_size_mib,
    }
}

async fn stored(state: &AppState) -> Result<Option<Stored>> {
    match repo::settings::get(state.db(), SETTING).await? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(Error::internal),
    }
}

/// The bucket's settings, if backups go to S3.
pub async fn settings(state: &AppState) -> Result<Option<S3View>> {
    Ok(stored(state).await?.as_ref().map(view))
}

fn check(input: &S3Input) -> Result<()> {
    let mut details = FieldErrors::new();
    let mut bad = |field: &str, message: String| {
        details.entry(field.into()).or_default().push(message);
    };
    match reqwest::Url::parse(&input.endpoint) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        _ => bad("endpoint", "must be an http or https URL".into()),
    }
    let min = MIN_PART_SIZE / (1024 * 1024);
    let max = MAX_PART_SIZE / (1024 * 1024);
    if !(min..=max).contains(&input.part_size_mib) {
        bad("partSizeMib", format!("must be {min} to {max}"));
    }
    if input.secret_key.as_deref() == Some("") {
        bad("secretKey", "must not be empty".into());
    }
    Error::unless_invalid(details)
}

/// Saves the bucket's settings after checking that the bucket answers to them; new
/// backups go there from now on.
pub async fn set(state: &AppState, actor: &Actor, input: S3Input) -> Result<S3View> {
    check(&input)?;
    let secret = match &input.secret_key {
        Some(secret) => secret.clone(),
        None => match stored(state).await? {
            Some(old) => state.secrets().decrypt(&old.secret_ciphertext)?,
            None => return Err(Error::validation("secretKey", "is required")),
        },
    };
    let new = Stored {
        endpoint: input.endpoint.trim_end_matches('/').to_owned(),
        bucket: input.bucket,
        region: input.region,
        path_style: input.path_style,
        access_key: input.access_key,
        secret_ciphertext: state.secrets().encrypt(&secret)?,
        part_size_mib: input.part_size_mib,
    };
    let store = Store::from_stored(state, &new)?;
    store.check().await?;
    let value = serde_json::to_value(&new).map_err(Error::internal)?;
    let shown = view(&new);
    let txn = state.db().begin().await?;
    repo::settings::set(&txn, SETTING, value).await?;
    let details = json!({ "endpoint": shown.endpoint, "bucket": shown.bucket });
    audit::record_by(
        &txn,
        actor,
        "settings.backup_s3_changed",
        "settings",
        SETTING,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok(shown)
}

/// Forgets the bucket: new backups stay on the nodes (backups already in the bucket can
/// no longer be downloaded, restored or removed through the panel).
pub async fn clear(state: &AppState, actor: &Actor) -> Result<()> {
    let txn = state.db().begin().await?;
    repo::settings::set(&txn, SETTING, serde_json::Value::Null).await?;
    audit::record_by(
        &txn,
        actor,
        "settings.backup_s3_cleared",
        "settings",
        SETTING,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The configured bucket, ready to sign for.
pub(super) struct Store {
    bucket: Bucket,
    credentials: Credentials,
    part_size: u64,
    http: reqwest::Client,
}

impl Store {
    /// The bucket, or `None` when backups stay on the nodes.
    pub(super) async fn load(state: &AppState) -> Result<Option<Store>> {
        match stored(state).await? {
            Some(s) => Ok(Some(Self::from_stored(state, &s)?)),
            None => Ok(None),
        }
    }

    /// The bucket, which a backup kept in it needs.
    pub(super) async fn required(state: &AppState) -> Result<Store> {
        Self::load(state).await?.ok_or_else(|| {
            Error::Conflict("this backup is in an S3 bucket, but no bucket is configured".into())
        })
    }

    fn from_stored(state: &AppState, s: &Stored) -> Result<Store> {
        let endpoint = s
            .endpoint
            .parse()
            .map_err(|_| Error::validation("endpoint", "must be an http or https URL"))?;
        let style = if s.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, s.bucket.clone(), s.region.clone())
            .map_err(|e| Error::validation("bucket", e.to_string()))?;
        let secret = state.secrets().decrypt(&s.secret_ciphertext)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(Error::internal)?;
        Ok(Store {
            bucket,
            credentials: Credentials::new(s.access_key.clone(), secret),
            part_size: s.part_size_mib * 1024 * 1024,
            http,
        })
    }

    fn unreachable(&self, why: impl std::fmt::Display) -> Error {
        Error::AgentUnavailable(format!(
            "the S3 bucket {} is unavailable: {why}",
            self.bucket.name()
        ))
    }

    /// The bucket answers to these credentials.
    async fn check(&self) -> Result<()> {
        let url = HeadBucket::new(&self.bucket, Some(&self.credentials)).sign(REQUEST_VALID);
        let response = self
            .http
            .head(url)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            403 => Err(Error::validation(
                "accessKey",
                "the bucket refused these credentials",
            )),
            404 => Err(Error::validation(
                "bucket",
                "no such bucket at this endpoint",
            )),
            status => Err(self.unreachable(format!("HTTP {status}"))),
        }
    }

    /// The object a backup is kept in.
    pub(super) fn key(server: Uuid, backup: Uuid, format: BackupFormat) -> String {
        format!("{server}/{backup}.{}", format.extension())
    }

    /// Starts a multipart upload of `key` with enough part URLs for `expected` bytes.
    pub(super) async fn start_upload(&self, key: &str, expected: u64) -> Result<S3Upload> {
        let url = CreateMultipartUpload::new(&self.bucket, Some(&self.credentials), key)
            .sign(REQUEST_VALID);
        let response = self
            .http
            .post(url)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(self.unreachable(format!("starting the upload answered HTTP {status}")));
        }
        let upload_id = CreateMultipartUpload::parse_response(&text)
            .map_err(|e| self.unreachable(format!("unexpected answer: {e}")))?
            .upload_id()
            .to_owned();
        let parts = expected.div_ceil(self.part_size).saturating_add(1);
        let parts = u16::try_from(parts.min(MAX_PARTS as u64)).unwrap_or(u16::MAX);
        let creds = Some(&self.credentials);
        Ok(S3Upload {
            part_size: self.part_size,
            part_urls: (1..=parts)
                .map(|n| {
                    UploadPart::new(&self.bucket, creds, key, n, &upload_id)
                        .sign(TRANSFER_VALID)
                        .to_string()
                })
                .collect(),
            complete_url: CompleteMultipartUpload::new(
                &self.bucket,
                creds,
                key,
                &upload_id,
                std::iter::empty::<&str>(),
            )
            .sign(TRANSFER_VALID)
            .to_string(),
            abort_url: AbortMultipartUpload::new(&self.bucket, creds, key, &upload_id)
                .sign(TRANSFER_VALID)
                .to_string(),
        })
    }

    /// Aborts an upload the node refused to start.
    pub(super) async fn abort(&self, upload: &S3Upload) {
        if let Err(e) = self
            .http
            .delete(&upload.abort_url)
            .timeout(TIMEOUT)
            .send()
            .await
        {
            tracing::warn!("cannot abort a multipart upload: {e}");
        }
    }

    /// A presigned `GET` of `key` for a node's restore.
    pub(super) fn restore_url(&self, key: &str) -> String {
        GetObject::new(&self.bucket, Some(&self.credentials), key)
            .sign(TRANSFER_VALID)
            .to_string()
    }

    /// Starts streaming the object `key` (for a download through the panel).
    pub(super) async fn get(&self, key: &str) -> Result<reqwest::Response> {
        let url = GetObject::new(&self.bucket, Some(&self.credentials), key).sign(REQUEST_VALID);
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200..=299 => Ok(response),
            404 => Err(Error::NotFound(
                "the bucket no longer holds this backup".into(),
            )),
            status => Err(self.unreachable(format!("HTTP {status}"))),
        }
    }

    /// Removes the object `key` (gone already is fine).
    pub(super) async fn delete(&self, key: &str) -> Result<()> {
        let url = DeleteObject::new(&self.bucket, Some(&self.credentials), key).sign(REQUEST_VALID);
        let response = self
            .http
            .delete(url)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match response.status().as_u16() {
            200..=299 | 404 => Ok(()),
            status => Err(self.unreachable(format!("removing the backup answered HTTP {status}"))),
        }
    }
}
