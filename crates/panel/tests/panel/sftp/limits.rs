use std::path::Path;
use std::time::{Duration, Instant};

use russh_sftp::client::SftpSession;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{connect, openssh, subuser, Connection, Fixture, Proof};

const MIB: usize = 1024 * 1024;

/// Creates `name` over SFTP and writes `len` bytes into it in 32 KiB writes.
async fn upload(sftp: &SftpSession, name: &str, len: usize) -> Result<(), String> {
    let mut file = sftp.create(name).await.map_err(|e| e.to_string())?;
    let block = vec![7u8; 32 * 1024];
    let mut written = 0;
    while written < len {
        let n = block.len().min(len - written);
        file.write_all(&block[..n])
            .await
            .map_err(|e| e.to_string())?;
        written += n;
    }
    file.shutdown().await.map_err(|e| e.to_string())
}

/// Sum of the sizes of the files below `dir`.
fn disk_usage(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("server directory")
        .filter_map(Result::ok)
        .map(|entry| {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                disk_usage(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// The size the file API lists for `name` in the server's top directory.
async fn listed_size(fx: &Fixture, name: &str) -> Option<u64> {
    let (status, listing) = fx
        .admin
        .get(&format!("/api/servers/{}/files/list?path=/", fx.server))
        .await;
    assert_eq!(status, 200, "{listing}");
    listing["data"]
        .as_array()
        .expect("a listing")
        .iter()
        .find(|entry| entry["name"] == name)
        .and_then(|entry| entry["size"].as_u64())
}

/// Retries `attempt` every 200 ms for up to 10 s until it returns something.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_quota_stops_sftp_writes_and_the_file_api_agrees() {
    let fx = Fixture::start_with_disk("", 2).await;
    let limit = 2 * MIB as u64;
    let login = connect(&fx, &fx.login, &fx.app.admin.password)
        .await
        .expect("login");
    upload(&login.sftp, "fits.bin", MIB)
        .await
        .expect("1 MiB fits in 2 MiB");

    let refused = upload(&login.sftp, "big.bin", 3 * MIB)
        .await
        .expect_err("3 MiB more does not fit");
    assert!(refused.contains("disk quota exceeded"), "{refused}");
    assert!(
        disk_usage(&fx.dir) <= limit,
        "the write stopped at the limit"
    );
    let kept = std::fs::metadata(fx.dir.join("big.bin"))
        .expect("the part written before the limit stays")
        .len();
    assert_eq!(listed_size(&fx, "big.bin").await, Some(kept));

    // OpenSSH's client is refused the same way, and the file API sees the same full disk.
    let key = fx.admin_key().await;
    std::fs::write(fx.scratch("more.bin"), vec![1u8; MIB]).expect("local file");
    let (ok, out) = openssh(&fx, &fx.login, Proof::Key(&key), "put more.bin more.bin\n");
    assert!(!ok, "an upload past the quota fails: {out}");
    let response = fx
        .admin
        .http
        .put(format!(
            "{}/api/servers/{}/files/contents?path=/note.txt",
            fx.admin.base, fx.server
        ))
        .body("x".repeat(100 * 1024))
        .send()
        .await
        .expect("file API write");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("envelope");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|m| m.contains("disk quota exceeded")),
        "{body}"
    );
    assert!(disk_usage(&fx.dir) <= limit);

    // Removing the partial file through the file API gives the room back to SFTP.
    let partial: Vec<String> = ["big.bin", "more.bin"]
        .into_iter()
        .filter(|name| fx.dir.join(name).exists())
        .map(|name| format!("/{name}"))
        .collect();
    let (status, body) = fx
        .admin
        .post(
            &format!("/api/servers/{}/files/delete", fx.server),
            json!({ "paths": partial }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    eventually("the freed room reaches SFTP", || async {
        upload(&login.sftp, "again.bin", MIB / 2).await.ok()
    })
    .await;
    assert_eq!(listed_size(&fx, "again.bin").await, Some(MIB as u64 / 2));
    login.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_holds_a_bounded_number_of_open_handles() {
    let fx = Fixture::start("max_handles = 3\n").await;
    let login = connect(&fx, &fx.login, &fx.app.admin.password)
        .await
        .expect("login");
    let mut open = Vec::new();
    for i in 0..3 {
        let file = login
            .sftp
            .create(format!("h{i}.txt"))
            .await
            .expect("within the cap");
        open.push(file);
    }
    let refused = login
        .sftp
        .create("h3.txt")
        .await
        .err()
        .expect("past the cap");
    assert!(
        refused.to_string().contains("too many open files"),
        "{refused}"
    );
    assert!(!fx.dir.join("h3.txt").exists(), "nothing was created");
    assert!(login.sftp.read_dir("/").await.is_err(), "directories count");

    // Another session has its own handles; closing one frees its place.
    let other = connect(&fx, &fx.login, &fx.app.admin.password)
        .await
        .expect("second login");
    other.sftp.create("o.txt").await.expect("its own handles");
    open.pop().expect("a handle").close().await.expect("close");
    login
        .sftp
        .create("h3.txt")
        .await
        .expect("a closed handle frees its place");
    login.close().await;
    other.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_capped_per_user_and_per_node() {
    let fx = Fixture::start("max_sessions_per_user = 2\nmax_sessions = 3\n").await;
    let short = &fx.server[fx.server.len() - 8..];
    subuser(&fx, "builder", &["file:sftp", "file:read"]).await;
    let builder = format!("builder.{short}");
    let admin = fx.app.admin.password.clone();

    let first = connect(&fx, &fx.login, &admin).await.expect("first");
    let second = connect(&fx, &fx.login, &admin).await.expect("second");
    assert!(
        connect(&fx, &fx.login, &admin).await.is_none(),
        "a third session of the same user"
    );
    let third = connect(&fx, &builder, "password-builder")
        .await
        .expect("another user still fits on the node");
    assert!(
        connect(&fx, &builder, "password-builder").await.is_none(),
        "the node is full"
    );
    for open in [&first, &second, &third] {
        open.sftp.read_dir("/").await.expect("open sessions work");
    }

    first.close().await;
    let fourth: Connection = eventually("a closed session frees its place", || {
        connect(&fx, &builder, "password-builder")
    })
    .await;
    fourth.sftp.read_dir("/").await.expect("works");
    second.close().await;
    third.close().await;
    fourth.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_are_closed_and_free_their_place() {
    let fx = Fixture::start("idle_timeout_secs = 1\nmax_sessions_per_user = 1\n").await;
    let admin = fx.app.admin.password.clone();
    let busy = connect(&fx, &fx.login, &admin).await.expect("login");
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        busy.sftp
            .read_dir("/")
            .await
            .expect("traffic keeps it open");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    eventually("the idle session is closed", || async {
        busy.ssh.is_closed().then_some(())
    })
    .await;
    assert!(busy.sftp.read_dir("/").await.is_err());
    let next = eventually("its place is free again", || {
        connect(&fx, &fx.login, &admin)
    })
    .await;
    next.sftp.read_dir("/").await.expect("works");
    next.close().await;
}
