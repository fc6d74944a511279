//! Streaming an archive to an S3-compatible bucket through presigned URLs.
//!
//! The archive writer fills one part at a time in memory ([`PartSink`]) and hands it to
//! the uploader over a channel of one: at most three parts exist at once (one filling,
//! one waiting, one on the wire), so memory stays bounded whatever the archive's size.
//! Each part is retried with back-off on connection errors and 5xx answers; a 4xx answer
//! fails at once. The bucket's own error (`<Code>` and `<Message>`) is kept in the reason.

use std::io::{self, Write};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

/// Back-off before the second attempt; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// Longest back-off between attempts.
const MAX_RETRY: Duration = Duration::from_secs(8);

/// The writing end: parts of `part_size` bytes, sent as they fill.
pub struct PartSink {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
    part_size: usize,
    sent: usize,
}

impl PartSink {
    /// A sink sending parts of `part_size` bytes to `tx`.
    pub fn new(tx: mpsc::Sender<Bytes>, part_size: usize) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(part_size),
            part_size,
            sent: 0,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_size));
        self.sent += 1;
        self.tx
            .blocking_send(Bytes::from(part))
            .map_err(|_| io::Error::other("the upload to the bucket stopped"))
    }

    /// Send the last part.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.buf.is_empty() || self.sent == 0 {
            self.send()?;
        }
        Ok(())
    }
}

impl Write for PartSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.part_size - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.part_size {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Upload the parts arriving on `rx` to `urls` in order; returns their ETags.
pub async fn upload_parts(
    http: &reqwest::Client,
    urls: &[String],
    mut rx: mpsc::Receiver<Bytes>,
    attempts: u32,
) -> Result<Vec<String>, String> {
    let mut etags = Vec::new();
    while let Some(part) = rx.recv().await {
        let url = urls.get(etags.len()).ok_or_else(|| {
            format!(
                "the archive needs more than the {} parts granted for its upload",
                urls.len()
            )
        })?;
        let what = format!("part {}", etags.len() + 1);
        let response = send(attempts, &what, || http.put(url).body(part.clone())).await?;
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("the bucket sent no ETag for {what}"))?
            .to_owned();
        etags.push(etag);
    }
    Ok(etags)
}

/// Complete the multipart upload with its parts.
pub async fn complete(
    http: &reqwest::Client,
    url: &str,
    etags: &[String],
    attempts: u32,
) -> Result<(), String> {
    let mut body = String::from("<CompleteMultipartUpload>");
    for (i, etag) in etags.iter().enumerate() {
        let etag = etag.replace('&', "&amp;").replace('<', "&lt;");
        body.push_str(&format!(
            "<Part><PartNumber>{}</PartNumber><ETag>{etag}</ETag></Part>",
            i + 1
        ));
    }
    body.push_str("</CompleteMultipartUpload>");
    let response = send(attempts, "completing the upload", || {
        http.post(url).body(body.clone())
    })
    .await?;
    // An error may come with status 200 once the bucket started answering.
    let text = response.text().await.unwrap_or_default();
    if text.contains("<Error>") {
        return Err(format!(
            "completing the upload: the bucket answered {}",
            bucket_error(&text)
        ));
    }
    Ok(())
}

/// Abort a multipart upload (its stored parts are dropped by the bucket).
pub async fn abort(http: &reqwest::Client, url: &str) -> Result<(), String> {
    send(2, "aborting the upload", || http.delete(url))
        .await
        .map(drop)
}

/// Open a presigned `GET` URL.
pub async fn download(http: &reqwest::Client, url: &str) -> Result<reqwest::Response, String> {
    send(3, "downloading the backup", || http.get(url)).await
}

/// Send a request until it succeeds, fails with a 4xx, or `attempts` are used up.
async fn send(
    attempts: u32,
    what: &str,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    let mut wait = FIRST_RETRY;
    let mut attempt = 1;
    loop {
        let failure = match request().send().await {
            Ok(response) if response.status().is_success() => return Ok(response),
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let reason = format!(
                    "{what}: the bucket answered {status}{}",
                    match bucket_error(&text) {
                        found if found.is_empty() => String::new(),
                        found => format!(" {found}"),
                    }
                );
                if status.is_client_error() {
                    return Err(reason);
                }
                reason
            }
            Err(e) => format!("{what}: {}", transport_error(&e)),
        };
        if attempt >= attempts.max(1) {
            return Err(if attempt > 1 {
                format!("{failure} (after {attempt} attempts)")
            } else {
                failure
            });
        }
        tracing::warn!("{failure}; retrying");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_RETRY);
        attempt += 1;
    }
}

/// `Code: Message` of an S3 error document (empty when there is none).
fn bucket_error(xml: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let end = xml[start..].find(&format!("</{name}>"))?;
        Some(xml[start..start + end].trim().to_owned())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        (None, Some(message)) => message,
        (None, None) => String::new(),
    }
}

/// A transport error with its causes, naming the endpoint but never the presigned query.
fn transport_error(e: &reqwest::Error) -> String {
    let endpoint = e
        .url()
        .map(|u| format!("{}://{}", u.scheme(), u.authority()))
        .unwrap_or_else(|| "the bucket".into());
    match std::error::Error::source(e) {
        Some(cause) => format!("cannot reach {endpoint}: {}", crate::join::causes(cause)),
        None => format!("cannot reach {endpoint}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_errors_are_read_from_the_document() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                   <Message>The request signature does not match</Message></Error>";
        assert_eq!(
            bucket_error(xml),
            "SignatureDoesNotMatch: The request signature does not match"
        );
        assert_eq!(bucket_error("not xml"), "");
    }
}
