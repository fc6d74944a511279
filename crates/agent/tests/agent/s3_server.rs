//! A real S3-compatible server for the backup tests: `s3s-fs` on 127.0.0.1 with an
//! access key, so every request's signature is checked. Requests are presigned with
//! `rusty-s3`, as the panel presigns them.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateBucket, CreateMultipartUpload, GetObject,
    ListParts, UploadPart,
};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde_json::{json, Value};

const KEY: &str = "cap-test-access";
const SECRET: &str = "cap-test-secret-key";
const VALID: Duration = Duration::from_secs(3600);

/// The `s3s-fs` binary: `$CAP_S3S_FS_BIN`, `~/.cargo/bin/s3s-fs`, or on `PATH`.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CAP_S3S_FS_BIN") {
        return path.into();
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let cargo_bin = home.join(".cargo/bin/s3s-fs");
    if cargo_bin.exists() {
        cargo_bin
    } else {
        PathBuf::from("s3s-fs")
    }
}

/// A running `s3s-fs` with one bucket.
pub struct S3Server {
    child: Child,
    _root: tempfile::TempDir,
    pub endpoint: String,
    pub bucket: Bucket,
    pub credentials: Credentials,
}

impl S3Server {
    /// Start the server on a free port and create the bucket `backups`.
    pub async fn start() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let (child, port) = (0..5)
            .find_map(|_| Self::spawn(root.path()))
            .expect("s3s-fs started on a free port");
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = Bucket::new(
            endpoint.parse().expect("url"),
            UrlStyle::Path,
            "backups",
            "us-east-1",
        )
        .expect("bucket");
        let server = Self {
            child,
            _root: root,
            endpoint,
            bucket,
            credentials: Credentials::new(KEY, SECRET),
        };
        let url = CreateBucket::new(&server.bucket, &server.credentials).sign(VALID);
        let response = reqwest::Client::new()
            .put(url)
            .send()
            .await
            .expect("create bucket");
        assert!(
            response.status().is_success(),
            "create bucket: {response:?}"
        );
        server
    }

    /// Start `s3s-fs` on a port that was free a moment ago; `None` when another process
    /// took it meanwhile (the server exits at once).
    fn spawn(root: &std::path::Path) -> Option<(Child, u16)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start s3s-fs (cargo install s3s-fs@0.14.1 --features binary)");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().expect("s3s-fs status").is_some() {
                return None;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Listening, and still ours after a moment.
                std::thread::sleep(Duration::from_millis(50));
                if child.try_wait().expect("s3s-fs status").is_none() {
                    return Some((child, port));
                }
                return None;
            }
            assert!(Instant::now() < deadline, "s3s-fs did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Create a multipart upload of `key`; returns its id and the `s3` object of a backup
    /// request with `parts` part URLs, signed with `credentials`.
    pub async fn multipart(
        &self,
        key: &str,
        part_size: u64,
        parts: u16,
        credentials: &Credentials,
    ) -> (String, Value) {
        let url =
            CreateMultipartUpload::new(&self.bucket, Some(&self.credentials), key).sign(VALID);
        let response = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect("create upload");
        let text = response.text().await.expect("body");
        let id = CreateMultipartUpload::parse_response(&text)
            .unwrap_or_else(|e| panic!("create upload answered {text}: {e}"))
            .upload_id()
            .to_owned();
        let part_urls: Vec<String> = (1..=parts)
            .map(|n| {
                UploadPart::new(&self.bucket, Some(credentials), key, n, &id)
                    .sign(VALID)
                    .to_string()
            })
            .collect();
        let complete = CompleteMultipartUpload::new(
            &self.bucket,
            Some(credentials),
            key,
            &id,
            std::iter::empty::<&str>(),
        )
        .sign(VALID);
        let abort =
            AbortMultipartUpload::new(&self.bucket, Some(credentials), key, &id).sign(VALID);
        let s3 = json!({
            "partSize": part_size, "partUrls": part_urls,
            "completeUrl": complete.to_string(), "abortUrl": abort.to_string()
        });
        (id, s3)
    }

    /// A presigned GET URL of `key`.
    pub fn get_url(&self, key: &str) -> String {
        GetObject::new(&self.bucket, Some(&self.credentials), key)
            .sign(VALID)
            .to_string()
    }

    /// The object's bytes, or `None` when it does not exist.
    pub async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let response = reqwest::get(self.get_url(key)).await.expect("get object");
        if !response.status().is_success() {
            return None;
        }
        Some(response.bytes().await.expect("object body").to_vec())
    }

    /// Parts the bucket holds for an unfinished multipart upload (none once aborted).
    pub async fn stored_parts(&self, key: &str, id: &str) -> usize {
        let url = ListParts::new(&self.bucket, Some(&self.credentials), key, id).sign(VALID);
        let response = reqwest::Client::new()
            .get(url)
            .send()
            .await
            .expect("list parts");
        let text = response.text().await.expect("list parts body");
        text.matches("<PartNumber>").count()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
