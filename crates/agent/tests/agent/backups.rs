//! Backups and restores against real directories, the real agent binary (killed
//! mid-backup), a real tmpfs that fills up, and a real S3 server checking signatures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::s3_server::S3Server;
use rusty_s3::S3Action;

use crate::support::{game, AgentProcess, Client, TestAgent};

const LIMIT: Duration = Duration::from_secs(60);
const MIB: usize = 1024 * 1024;

fn random_file(path: &Path, bytes: usize) {
    let mut data = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut data);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, data).expect("write");
}

/// Every regular file (SHA-256) and symlink (target) below `dir`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .display()
                .to_string();
            let value = if e.path_is_symlink() {
                format!(
                    "-> {}",
                    std::fs::read_link(e.path()).expect("link").display()
                )
            } else {
                hex::encode(Sha256::digest(std::fs::read(e.path()).expect("read")))
            };
            (rel, value)
        })
        .collect()
}

/// A bucket, an agent and one defined (stopped) server with its directory.
async fn bucket_and_server(
    adjust: impl FnOnce(&mut cap_agent::Config),
) -> (S3Server, TestAgent, Uuid, PathBuf) {
    let s3 = S3Server::start().await;
    let agent = TestAgent::start_with(adjust).await;
    let id = Uuid::new_v4();
    agent.client.define(game(id)).await;
    let dir = agent.server_dir(id);
    (s3, agent, id, dir)
}

async fn wait_final(api: &Client, path: &str) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        let data = body["data"].clone();
        if matches!(data["status"].as_str(), Some("completed" | "failed")) {
            return data;
        }
        assert!(Instant::now() < deadline, "{path} still {data}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn backup(api: &Client, server: Uuid, request: Value) -> Value {
    let (status, body) = api
        .post(&format!("/api/servers/{server}/backups"), request.clone())
        .await;
    assert_eq!(status, 200, "{body}");
    wait_final(
        api,
        &format!("/api/backups/{}", request["backupId"].as_str().expect("id")),
    )
    .await
}

async fn restore(api: &Client, server: Uuid, backup: &str, request: Value) -> Value {
    let (status, body) = api
        .post(
            &format!("/api/servers/{server}/backups/{backup}/restore"),
            request,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_final(api, &format!("/api/servers/{server}/restore")).await
}

/// Names in a `.tar.zst` archive.
fn entries(archive: &[u8]) -> Vec<String> {
    let decoder = zstd::stream::read::Decoder::new(archive).expect("zstd");
    tar::Archive::new(decoder)
        .entries()
        .expect("tar")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backup_of_a_running_server_is_restored_only_with_its_checksum() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["desiredState"] = "running".into();
    api.define(definition).await;
    api.wait_state(id, "running", LIMIT).await;
    let dir = agent.server_dir(id);
    random_file(&dir.join("world/level.dat"), 300_000);
    random_file(&dir.join("world/region/r.0.0.mca"), 2 * MIB);
    std::fs::write(dir.join("server.properties"), "motd=hello\n").expect("write");
    random_file(&dir.join("logs/latest.log"), 1000);
    random_file(&dir.join("cache/blob.bin"), 1000);
    std::fs::write(dir.join(".capignore"), "cache/\n").expect("write");
    std::os::unix::fs::symlink("region", dir.join("world/current")).expect("symlink");
    let before = tree(&dir);

    let backup_id = Uuid::new_v4().to_string();
    let record = backup(
        api,
        id,
        json!({"backupId": backup_id, "ignored": ["*.log"]}),
    )
    .await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["adapter"], "local");
    let checksum = record["checksum"].as_str().expect("checksum").to_owned();

    let response = api
        .http
        .get(format!("{}/api/backups/{backup_id}/download", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    let archive = response.bytes().await.expect("archive");
    assert_eq!(archive.len() as u64, record["size"].as_u64().expect("size"));
    assert_eq!(hex::encode(Sha256::digest(&archive)), checksum);
    let names = entries(&archive);
    for kept in [
        "world/region/r.0.0.mca",
        "world/current",
        "server.properties",
        ".capignore",
    ] {
        assert!(
            names.iter().any(|n| n == kept),
            "{kept} missing from {names:?}"
        );
    }
    for left_out in ["logs/latest.log", "cache", "cache/blob.bin"] {
        assert!(
            !names.iter().any(|n| n == left_out),
            "{left_out} archived: {names:?}"
        );
    }
    assert!(
        !agent.dir.path().join("data/backups").starts_with(&dir),
        "backups live outside the server directory"
    );

    // Damage the directory; a wrong checksum touches nothing and leaves the game running.
    std::fs::remove_dir_all(dir.join("world")).expect("rm");
    std::fs::write(dir.join("junk.txt"), "junk").expect("write");
    let wrong = "0".repeat(64);
    let refused = restore(
        api,
        id,
        &backup_id,
        json!({"source": {"adapter": "local"}, "checksum": wrong, "truncate": true}),
    )
    .await;
    assert_eq!(refused["status"], "failed");
    let error = refused["error"].as_str().expect("error");
    assert!(
        error.contains("checksum does not match") && error.contains("nothing was restored"),
        "{error}"
    );
    assert!(dir.join("junk.txt").exists());
    assert_eq!(api.status(id).await["state"], "running");

    let restored = restore(
        api,
        id,
        &backup_id,
        json!({"source": {"adapter": "local"}, "checksum": checksum, "truncate": true}),
    )
    .await;
    assert_eq!(restored["status"], "completed", "{restored}");
    let mut expected = before.clone();
    expected.remove("logs/latest.log");
    expected.remove("cache/blob.bin");
    assert_eq!(tree(&dir), expected);
    assert_eq!(api.status(id).await["state"], "offline", "left stopped");
    let history = api.history(id).await.join("\n");
    assert!(
        history.contains(&format!(
            "stopping the server to restore backup {backup_id}"
        )),
        "{history}"
    );
    assert!(history.contains("the server stays stopped"), "{history}");

    // The server cannot be started while a restore writes its directory.
    random_file(&dir.join("world/big.bin"), 48 * MIB);
    let big_id = Uuid::new_v4().to_string();
    let big = backup(api, id, json!({"backupId": big_id})).await;
    let (status, body) = api
        .post(
            &format!("/api/servers/{id}/backups/{big_id}/restore"),
            json!({"source": {"adapter": "local"}, "checksum": big["checksum"], "truncate": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api.command("start", id).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("being restored"),
        "{body}"
    );
    let done = wait_final(api, &format!("/api/servers/{id}/restore")).await;
    assert_eq!(done["status"], "completed", "{done}");
    api.wait_state(id, "offline", LIMIT).await;
    let (status, body) = api.command("start", id).await;
    assert_eq!(status, 200, "{body}");
    api.wait_state(id, "running", LIMIT).await;

    // Not truncating keeps files the backup does not have.
    std::fs::write(dir.join("extra.txt"), "kept").expect("write");
    let kept = restore(
        api,
        id,
        &backup_id,
        json!({"source": {"adapter": "local"}, "checksum": checksum}),
    )
    .await;
    assert_eq!(kept["status"], "completed", "{kept}");
    assert!(dir.join("extra.txt").exists());

    let (status, body) = api.delete(&format!("/api/backups/{backup_id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = api.get(&format!("/api/backups/{backup_id}")).await;
    assert_eq!(status, 404);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_backup_requests_are_refused_with_reasons() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(game(id)).await;
    let cases = [
        (
            json!({"backupId": Uuid::new_v4(), "ignored": ["world/{a,b"]}),
            "bad pattern",
        ),
        (
            json!({"backupId": Uuid::new_v4(), "s3": {"partSize": 1024, "partUrls": ["http://x/1"],
                   "completeUrl": "http://x/c", "abortUrl": "http://x/a"}}),
            "partSize",
        ),
        (
            json!({"backupId": Uuid::new_v4(), "s3": {"partSize": 8388608, "partUrls": ["file:///etc/passwd"],
                   "completeUrl": "http://x/c", "abortUrl": "http://x/a"}}),
            "http or https",
        ),
    ];
    for (request, needle) in cases {
        let (status, body) = api
            .post(&format!("/api/servers/{id}/backups"), request)
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"].as_str().expect("error").contains(needle),
            "{body}"
        );
    }
    let (status, body) = api
        .post(
            &format!("/api/servers/{}/backups", Uuid::new_v4()),
            json!({"backupId": Uuid::new_v4()}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = api
        .post(
            &format!("/api/servers/{id}/backups/{}/restore", Uuid::new_v4()),
            json!({"source": {"adapter": "local"}, "checksum": "0".repeat(64)}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    agent.shutdown().await;
}

/// A hostile archive (an entry leading out through `..`) is refused before anything is
/// written, although its checksum is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_archives_escaping_the_directory() {
    let (s3, agent, id, dir) = bucket_and_server(|_| {}).await;
    let api = &agent.client;
    std::fs::write(dir.join("keep.txt"), "keep").expect("write");
    for (name, link) in [("../escaped.txt", None), ("evil", Some("/etc"))] {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        match link {
            None => {
                header.set_size(4);
                // `append_data` refuses `..`; write the raw name like a hostile tool would.
                header.as_gnu_mut().expect("gnu").name[..name.len()]
                    .copy_from_slice(name.as_bytes());
                header.set_cksum();
                builder.append(&header, &b"evil"[..]).expect("append");
            }
            Some(target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder
                    .append_link(&mut header, name, target)
                    .expect("link");
            }
        }
        let archive = zstd::encode_all(&builder.into_inner().expect("tar")[..], 3).expect("zstd");
        let key = format!("evil-{}.tar.zst", Uuid::new_v4());
        let url = rusty_s3::actions::PutObject::new(&s3.bucket, Some(&s3.credentials), &key)
            .sign(Duration::from_secs(600));
        let response = reqwest::Client::new()
            .put(url.to_string())
            .body(archive.clone())
            .send()
            .await
            .expect("put");
        assert!(response.status().is_success());
        let record = restore(
            api,
            id,
            &Uuid::new_v4().to_string(),
            json!({"source": {"adapter": "s3", "url": s3.get_url(&key)},
                   "checksum": hex::encode(Sha256::digest(&archive)), "truncate": true}),
        )
        .await;
        assert_eq!(record["status"], "failed");
        let error = record["error"].as_str().expect("error");
        assert!(
            error.contains("refused") && error.contains("nothing was restored"),
            "{error}"
        );
        assert!(dir.join("keep.txt").exists(), "truncated although refused");
        assert!(!dir.parent().expect("parent").join("escaped.txt").exists());
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_backup_streams_in_parts_and_restores_from_the_bucket() {
    let (s3, agent, id, dir) = bucket_and_server(|_| {}).await;
    let api = &agent.client;
    for i in 0..3 {
        random_file(&dir.join(format!("world/chunk{i}.bin")), 4 * MIB);
    }
    std::fs::write(dir.join("ops.json"), "[]").expect("write");
    let before = tree(&dir);

    let part_size = 5 * MIB as u64;
    let key = format!("servers/{id}/backup.tar.zst");
    let (upload_id, upload) = s3.multipart(&key, part_size, 8, &s3.credentials).await;
    let backup_id = Uuid::new_v4().to_string();
    let record = backup(api, id, json!({"backupId": backup_id, "s3": upload})).await;
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["adapter"], "s3");
    let size = record["size"].as_u64().expect("size");
    assert!(
        size > 2 * part_size,
        "{size} bytes fit in fewer than three parts"
    );
    let object = s3.object(&key).await.expect("object in the bucket");
    assert_eq!(object.len() as u64, size);
    assert_eq!(hex::encode(Sha256::digest(&object)), record["checksum"]);
    assert_eq!(
        s3.stored_parts(&key, &upload_id).await,
        0,
        "parts left behind"
    );
    assert!(
        !agent
            .dir
            .path()
            .join("data/backups")
            .join(format!("{backup_id}.tar.zst"))
            .exists(),
        "an S3 backup is not kept on the node"
    );

    std::fs::remove_file(dir.join("world/chunk1.bin")).expect("rm");
    std::fs::write(dir.join("junk"), "x").expect("write");
    let source = json!({"adapter": "s3", "url": s3.get_url(&key)});
    let refused = restore(
        api,
        id,
        &backup_id,
        json!({"source": source, "checksum": "f".repeat(64), "truncate": true}),
    )
    .await;
    assert_eq!(refused["status"], "failed");
    assert!(dir.join("junk").exists());
    let restored = restore(
        api,
        id,
        &backup_id,
        json!({"source": source, "checksum": record["checksum"], "truncate": true}),
    )
    .await;
    assert_eq!(restored["status"], "completed", "{restored}");
    assert_eq!(restored["files"], 4);
    assert_eq!(tree(&dir), before);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failures_are_reported_with_the_endpoints_words_and_uploads_aborted() {
    let (s3, agent, id, dir) = bucket_and_server(|c| c.backups.part_attempts = 2).await;
    let api = &agent.client;
    let part_size = 5 * MIB as u64;

    // Signed with the wrong secret: the bucket's refusal is the reason. (A small archive:
    // the bucket refuses before reading a body, and closes the connection under a large
    // one still being sent.)
    std::fs::write(dir.join("small.txt"), "small").expect("write");
    let wrong = rusty_s3::Credentials::new("cap-test-access", "not-the-secret");
    let (_, upload) = s3.multipart("wrong-key", part_size, 4, &wrong).await;
    let record = backup(api, id, json!({"backupId": Uuid::new_v4(), "s3": upload})).await;
    assert_eq!(record["status"], "failed");
    let error = record["error"].as_str().expect("error");
    assert!(
        error.contains("403") && error.contains("SignatureDoesNotMatch"),
        "{error}"
    );
    random_file(&dir.join("world.bin"), 11 * MIB);

    // Fewer parts granted than needed: failed, and the parts sent are dropped.
    let (upload_id, upload) = s3.multipart("short", part_size, 1, &s3.credentials).await;
    let record = backup(api, id, json!({"backupId": Uuid::new_v4(), "s3": upload})).await;
    assert_eq!(record["status"], "failed");
    let error = record["error"].as_str().expect("error");
    assert!(error.contains("more than the 1 parts granted"), "{error}");
    assert_eq!(
        s3.stored_parts("short", &upload_id).await,
        0,
        "upload not aborted"
    );
    assert!(s3.object("short").await.is_none());

    // Nothing listens: the transport error names the endpoint, never the signature.
    // Bound but not listening: the port is refused, and no other test can take it.
    let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
    reserved
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let closed = reserved.local_addr().expect("addr").port();
    let (_, upload) = s3.multipart("gone", part_size, 4, &s3.credentials).await;
    let moved = serde_json::to_string(&upload)
        .expect("json")
        .replace(&s3.endpoint, &format!("http://127.0.0.1:{closed}"));
    let upload: Value = serde_json::from_str(&moved).expect("json");
    let record = backup(api, id, json!({"backupId": Uuid::new_v4(), "s3": upload})).await;
    assert_eq!(record["status"], "failed");
    let error = record["error"].as_str().expect("error");
    assert!(
        error.contains(&format!("cannot reach http://127.0.0.1:{closed}")),
        "{error}"
    );
    assert!(!error.contains("Signature"), "{error}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_interrupted_by_a_killed_agent_are_failed_and_cleaned_up() {
    let s3 = S3Server::start().await;
    let data = tempfile::tempdir().expect("tempdir");
    let agent = AgentProcess::spawn(data.path(), &[]);
    let api = agent.client.clone();
    let (local, remote) = (Uuid::new_v4(), Uuid::new_v4());
    for id in [local, remote] {
        api.define(game(id)).await;
        for i in 0..6 {
            random_file(
                &data.path().join(format!("servers/{id}/part{i}.bin")),
                8 * MIB,
            );
        }
    }
    let (local_backup, remote_backup) = (Uuid::new_v4(), Uuid::new_v4());
    let key = "interrupted.tar.gz";
    let (upload_id, upload) = s3
        .multipart(key, 5 * MIB as u64, 100, &s3.credentials)
        .await;
    for (server, request) in [
        (local, json!({"backupId": local_backup, "format": "tar_gz"})),
        (
            remote,
            json!({"backupId": remote_backup, "format": "tar_gz", "s3": upload}),
        ),
    ] {
        let (status, body) = api
            .post(&format!("/api/servers/{server}/backups"), request)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // One at a time per server.
    let (status, body) = api
        .post(
            &format!("/api/servers/{local}/backups"),
            json!({"backupId": Uuid::new_v4()}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let deadline = Instant::now() + LIMIT;
    while s3.stored_parts(key, &upload_id).await == 0 {
        assert!(Instant::now() < deadline, "no part uploaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let partial = data.path().join("backups/partial");
    assert!(std::fs::read_dir(&partial)
        .expect("partial dir")
        .next()
        .is_some());
    agent.kill();

    let agent = AgentProcess::spawn(data.path(), &[]);
    let api = agent.client.clone();
    for id in [local_backup, remote_backup] {
        let (status, body) = api.get(&format!("/api/backups/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["status"], "failed", "{body}");
        assert!(
            body["data"]["error"]
                .as_str()
                .expect("error")
                .contains("agent stopped"),
            "{body}"
        );
    }
    assert_eq!(std::fs::read_dir(&partial).expect("partial dir").count(), 0);
    let deadline = Instant::now() + LIMIT;
    while s3.stored_parts(key, &upload_id).await > 0 {
        assert!(
            Instant::now() < deadline,
            "multipart upload not aborted after restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server can be backed up again.
    let again = backup(&api, local, json!({"backupId": Uuid::new_v4()})).await;
    assert_eq!(again["status"], "completed", "{again}");
}

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_backup_and_leaves_the_server_alone() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let servers = tempfile::tempdir().expect("tempdir");
    let mut mount = None;
    let agent = TestAgent::start_with(|c| {
        let backups = c.data_dir.join("backups");
        std::fs::create_dir_all(&backups).expect("mkdir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&backups)
            .status()
            .expect("mount");
        assert!(status.success(), "mount tmpfs");
        mount = Some(Mount(backups));
        c.server_root = servers.path().to_path_buf();
    })
    .await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(game(id)).await;
    let dir = servers.path().join(id.to_string());
    random_file(&dir.join("world.bin"), 6 * MIB);
    let before = tree(&dir);
    let record = backup(api, id, json!({"backupId": Uuid::new_v4()})).await;
    assert_eq!(record["status"], "failed");
    assert_eq!(
        record["error"], "no space left on the node's disk",
        "{record}"
    );
    assert_eq!(tree(&dir), before);
    let partial = agent.dir.path().join("data/backups/partial");
    assert_eq!(std::fs::read_dir(partial).expect("partial").count(), 0);
    agent.shutdown().await;
    drop(mount);
}
