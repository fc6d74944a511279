//! Backups through the panel against a real agent process and a real S3 server
//! (`s3s-fs` on 127.0.0.1, checking every signature): local and S3 backups created,
//! completed, downloaded and restored; a tampered archive refused; permissions,
//! retention and locks; a backup that ended while the panel was stopped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::RngCore;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::processes::Session;
use crate::s3_server::S3Server;
use crate::servers_on_agent::OnAgent;

const LIMIT: Duration = Duration::from_secs(60);
const MIB: usize = 1024 * 1024;

/// Writes `bytes` of random (incompressible) data, 64 KiB at a time.
fn random_file(path: &Path, bytes: usize) {
    use std::io::Write;

    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut chunk = [0u8; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        rand::thread_rng().fill_bytes(&mut chunk[..n]);
        file.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    file.flush().expect("flush");
}

/// Every regular file below `dir` with its SHA-256.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.is_file() {
                let name = path
                    .strip_prefix(root)
                    .expect("inside")
                    .display()
                    .to_string();
                out.insert(
                    name,
                    hex::encode(Sha256::digest(std::fs::read(&path).expect("read"))),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn server_dir(on: &OnAgent, server: &str) -> PathBuf {
    on.agent.data_dir.join("servers").join(server)
}

/// A backup as the panel shows it, once it completed or failed.
async fn finished(session: &Session, server: &str, backup: &str) -> Value {
    session
        .wait_for(
            &format!("/api/servers/{server}/backups/{backup}"),
            LIMIT,
            |b| matches!(b["status"].as_str(), Some("completed" | "failed")),
        )
        .await
}

/// Creates a backup and waits for its outcome.
async fn backup(session: &Session, server: &str, body: Value) -> Value {
    let (status, created) = session
        .post(&format!("/api/servers/{server}/backups"), body)
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"]
        .as_str()
        .expect("backup id")
        .to_owned();
    finished(session, server, &id).await
}

/// Restores a backup and waits for the node's outcome.
async fn restore(session: &Session, server: &str, backup: &str, truncate: bool) -> Value {
    let (status, body) = session
        .post(
            &format!("/api/servers/{server}/backups/{backup}/restore"),
            json!({ "truncate": truncate }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    session
        .wait_for(
            &format!("/api/servers/{server}/backups/restore"),
            LIMIT,
            |r| {
                r["backupId"] == backup
                    && matches!(r["status"].as_str(), Some("completed" | "failed"))
            },
        )
        .await
}

async fn download(session: &Session, server: &str, backup: &str) -> Vec<u8> {
    let response = session
        .http
        .get(format!(
            "{}/api/servers/{server}/backups/{backup}/download",
            session.base
        ))
        .send()
        .await
        .expect("download");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("archive").to_vec()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_backup_completes_downloads_and_restores() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server(
            "saved",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    let dir = server_dir(&on, &server);
    random_file(&dir.join("world/level.dat"), 300_000);
    std::fs::write(dir.join("server.properties"), "motd=hello\n").expect("write");
    random_file(&dir.join("logs/latest.log"), 1000);
    let before = tree(&dir);

    let done = backup(
        &on.admin,
        &server,
        json!({ "name": "before the update", "ignored": ["logs/"] }),
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["adapter"], "local");
    assert_eq!(done["name"], "before the update");
    assert!(done["files"].as_u64().expect("files") >= 2, "{done}");
    let id = done["id"].as_str().expect("id");

    let archive = download(&on.admin, &server, id).await;
    assert_eq!(archive.len() as i64, done["size"].as_i64().expect("size"));
    assert_eq!(
        sha256(&archive),
        done["checksum"].as_str().expect("checksum")
    );

    std::fs::remove_dir_all(dir.join("world")).expect("rm");
    std::fs::write(dir.join("junk.txt"), "junk").expect("write");
    let restored = restore(&on.admin, &server, id, true).await;
    assert_eq!(restored["status"], "completed", "{restored}");
    let mut expected = before;
    expected.remove("logs/latest.log");
    assert_eq!(
        tree(&dir),
        expected,
        "the ignored log is gone with the truncation"
    );

    let (_, audit) = on.admin.get("/api/audit?perPage=100").await;
    let actions: Vec<&str> = audit["data"]["items"]
        .as_array()
        .expect("audit entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["backup.created", "backup.downloaded", "backup.restored"] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_archive_is_refused_and_touches_nothing() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server(
            "tampered",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    let dir = server_dir(&on, &server);
    random_file(&dir.join("world/level.dat"), 100_000);
    let done = backup(&on.admin, &server, json!({})).await;
    assert_eq!(done["status"], "completed", "{done}");
    let id = done["id"].as_str().expect("id");

    // Another valid archive of the same server in its place: only the checksum tells.
    std::fs::write(dir.join("planted.txt"), "not from the first backup").expect("write");
    let other = backup(&on.admin, &server, json!({})).await;
    assert_eq!(other["status"], "completed", "{other}");
    let other_id = other["id"].as_str().expect("id");
    let backups = on.agent.data_dir.join("backups");
    std::fs::copy(
        backups.join(format!("{other_id}.tar.zst")),
        backups.join(format!("{id}.tar.zst")),
    )
    .expect("tamper");
    std::fs::write(dir.join("kept.txt"), "still here").expect("write");
    let before = tree(&dir);

    let refused = restore(&on.admin, &server, id, true).await;
    assert_eq!(refused["status"], "failed", "{refused}");
    let error = refused["error"].as_str().expect("error");
    assert!(error.contains("checksum does not match"), "{error}");
    assert_eq!(tree(&dir), before, "nothing was touched");
}

/// Saves the bucket settings of `s3` (with `secret`).
async fn configure_s3(session: &Session, s3: &S3Server, secret: &str) -> (u16, Value) {
    session
        .call(
            Method::PUT,
            "/api/settings/backups/s3",
            Some(json!({
                "endpoint": s3.endpoint, "bucket": "backups", "region": "us-east-1",
                "pathStyle": true, "accessKey": s3.credentials.key(),
                "secretKey": secret, "partSizeMib": 5,
            })),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_backup_is_a_multipart_upload_downloaded_and_restored_from_the_bucket() {
    let s3 = S3Server::start().await;
    let on = OnAgent::start(|_| {}).await;

    let (status, body) = configure_s3(&on.admin, &s3, "not-the-secret").await;
    assert_eq!(status, 422, "wrong credentials are refused on save: {body}");
    let (status, body) = configure_s3(&on.admin, &s3, s3.credentials.secret()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].get("secretKey").is_none(), "{body}");
    let (_, shown) = on.admin.get("/api/settings/backups/s3").await;
    assert!(
        !shown.to_string().contains(s3.credentials.secret()),
        "the secret is never shown: {shown}"
    );

    let server = on
        .server(
            "bucketed",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    let dir = server_dir(&on, &server);
    // Incompressible: the archive needs more than one 5 MiB part.
    random_file(&dir.join("world/region.mca"), 12 * MIB);
    std::fs::write(dir.join("server.properties"), "motd=bucket\n").expect("write");
    let before = tree(&dir);

    let done = backup(&on.admin, &server, json!({})).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["adapter"], "s3");
    let size = done["size"].as_u64().expect("size");
    assert!(size > 2 * 5 * MIB as u64, "more than two parts: {size}");
    let id = done["id"].as_str().expect("id");
    let key = format!("{server}/{id}.tar.zst");
    let object = s3.object(&key).await.expect("the bucket holds the archive");
    assert_eq!(
        sha256(&object),
        done["checksum"].as_str().expect("checksum")
    );
    assert!(
        !on.agent
            .data_dir
            .join(format!("backups/{id}.tar.zst"))
            .exists(),
        "nothing of it stays on the node"
    );

    assert_eq!(download(&on.admin, &server, id).await, object);

    std::fs::remove_file(dir.join("world/region.mca")).expect("rm");
    let restored = restore(&on.admin, &server, id, true).await;
    assert_eq!(restored["status"], "completed", "{restored}");
    assert_eq!(tree(&dir), before);

    let (status, body) = on
        .admin
        .call(
            Method::DELETE,
            &format!("/api/servers/{server}/backups/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(s3.object(&key).await.is_none(), "removed from the bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_limits_retention_and_locks() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server(
            "kept",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 64 }),
        )
        .await;
    random_file(&server_dir(&on, &server).join("data.bin"), 10_000);
    let base = format!("/api/servers/{server}/backups");

    // A subuser who may see and create backups, but not restore or delete them.
    on.app.create_user("helper").await;
    let (status, body) = on
        .admin
        .post(
            &format!("/api/servers/{server}/subusers"),
            json!({ "username": "helper", "permissions": ["backup:view", "backup:create"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let helper = Session::login(&on.app.url(""), "helper", "password-helper").await;
    let first = backup(&helper, &server, json!({ "name": "first" })).await;
    assert_eq!(first["status"], "completed", "{first}");
    let first_id = first["id"].as_str().expect("id");
    let (status, _) = helper
        .post(
            &format!("{base}/{first_id}/restore"),
            json!({ "truncate": false }),
        )
        .await;
    assert_eq!(status, 403, "restoring needs backup:restore");
    let (status, _) = helper
        .call(Method::DELETE, &format!("{base}/{first_id}"), None)
        .await;
    assert_eq!(status, 403, "deleting needs backup:delete");
    // Someone with no access at all learns nothing.
    on.app.create_user("stranger").await;
    let stranger = Session::login(&on.app.url(""), "stranger", "password-stranger").await;
    let (status, _) = stranger.get(&base).await;
    assert_eq!(status, 404);

    // Only admins set the limit and the retention; owners of the setting are refused.
    let (status, body) = helper
        .call(
            Method::PATCH,
            &format!("/api/servers/{server}"),
            Some(json!({ "backups": { "limit": 10 } })),
        )
        .await;
    assert!(status == 403 || status == 404, "{status} {body}");
    let (status, body) = on
        .admin
        .call(
            Method::PATCH,
            &format!("/api/servers/{server}"),
            Some(json!({ "backups": { "limit": 0, "keepLast": 0 } })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["details"]["backups.keepLast"].is_array(), "{body}");
    let (status, body) = on
        .admin
        .call(
            Method::PATCH,
            &format!("/api/servers/{server}"),
            Some(json!({ "backups": { "limit": 3, "keepLast": 2 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Retention: the newest two completed are kept, locked ones always.
    let second = backup(
        &on.admin,
        &server,
        json!({ "name": "second", "locked": true }),
    )
    .await;
    let second_id = second["id"].as_str().expect("id");
    let third = backup(&on.admin, &server, json!({ "name": "third" })).await;
    assert_eq!(third["status"], "completed", "{third}");
    let listed = on
        .admin
        .wait_for(&base, LIMIT, |l| {
            l["items"].as_array().is_some_and(|i| i.len() == 2)
        })
        .await;
    let names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["third", "second"],
        "the oldest unlocked one was pruned"
    );
    assert!(
        !on.agent
            .data_dir
            .join(format!("backups/{first_id}.tar.zst"))
            .exists(),
        "its archive is gone from the node"
    );
    let fourth = backup(&on.admin, &server, json!({ "name": "fourth" })).await;
    assert_eq!(fourth["status"], "completed", "{fourth}");
    let listed = on
        .admin
        .wait_for(&base, LIMIT, |l| {
            l["items"].as_array().is_some_and(|i| {
                i.iter()
                    .filter_map(|b| b["name"].as_str())
                    .collect::<Vec<_>>()
                    == ["fourth", "third", "second"]
            })
        })
        .await;
    assert_eq!(listed["policy"]["keepLast"], 2);

    // The limit: three kept, a fourth refused.
    let (status, body) = on.admin.post(&base, json!({})).await;
    assert_eq!(status, 409, "{body}");

    // A locked backup cannot be deleted until unlocked.
    let (status, body) = on
        .admin
        .call(Method::DELETE, &format!("{base}/{second_id}"), None)
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = on
        .admin
        .call(
            Method::PATCH,
            &format!("{base}/{second_id}"),
            Some(json!({ "locked": false })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = on
        .admin
        .call(Method::DELETE, &format!("{base}/{second_id}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(!on
        .agent
        .data_dir
        .join(format!("backups/{second_id}.tar.zst"))
        .exists());

    // Deleting the server removes its backups' archives from the node.
    let fourth_id = fourth["id"].as_str().expect("id");
    let (status, body) = on
        .admin
        .call(Method::DELETE, &format!("/api/servers/{server}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "server deleted", "{body}");
    assert!(!on
        .agent
        .data_dir
        .join(format!("backups/{fourth_id}.tar.zst"))
        .exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_that_ended_while_the_panel_was_stopped_are_recorded() {
    let mut on = OnAgent::start(|_| {}).await;
    let server = on
        .server(
            "unattended",
            json!({ "memoryMb": 256, "cpuPercent": 100, "diskMb": 256 }),
        )
        .await;
    // gzip in a debug build of the agent takes seconds for this: the panel is stopped
    // long before the node is done.
    random_file(&server_dir(&on, &server).join("world/big.dat"), 8 * MIB);
    let (status, created) = on
        .admin
        .post(
            &format!("/api/servers/{server}/backups"),
            json!({ "name": "overnight", "format": "tar_gz" }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    on.app.stop().await;
    let row = cap_panel::repo::backups::find(&on.app.db, &server, &id)
        .await
        .expect("read")
        .expect("recorded at creation");
    assert!(
        !matches!(row.status.as_str(), "completed" | "failed"),
        "the panel stopped before the node finished: {row:?}"
    );

    // While the panel is away, the node makes a backup of its own (as a schedule would).
    let agent = reqwest::Client::new();
    let agent_base = format!("http://127.0.0.1:{}", on.agent.port);
    let own = uuid::Uuid::new_v4();
    let response = agent
        .post(format!("{agent_base}/api/servers/{server}/backups"))
        .bearer_auth(&on.agent.token)
        .json(&json!({ "backupId": own }))
        .send()
        .await
        .expect("agent backup");
    // Refused while the first still runs, accepted once it is done.
    let own_accepted = response.status().is_success();
    let record = |backup: String| {
        let agent = agent.clone();
        let url = format!("{agent_base}/api/backups/{backup}");
        let token = on.agent.token.clone();
        async move {
            loop {
                let body: Value = agent
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("agent record")
                    .json()
                    .await
                    .expect("json");
                if matches!(
                    body["data"]["status"].as_str(),
                    Some("completed" | "failed")
                ) {
                    return body["data"].clone();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let on_node = tokio::time::timeout(LIMIT, record(id.clone()))
        .await
        .expect("the node finished");
    assert_eq!(on_node["status"], "completed", "{on_node}");
    let own = if own_accepted {
        own
    } else {
        let again = uuid::Uuid::new_v4();
        let response = agent
            .post(format!("{agent_base}/api/servers/{server}/backups"))
            .bearer_auth(&on.agent.token)
            .json(&json!({ "backupId": again }))
            .send()
            .await
            .expect("agent backup");
        assert!(response.status().is_success(), "{response:?}");
        again
    };
    tokio::time::timeout(LIMIT, record(own.to_string()))
        .await
        .expect("the node finished its own");

    on.app.start_again().await;
    let admin = Session::login(
        &on.app.url(""),
        &on.app.admin.username,
        &on.app.admin.password,
    )
    .await;
    let recorded = finished(&admin, &server, &id).await;
    assert_eq!(recorded["status"], "completed", "{recorded}");
    assert_eq!(recorded["checksum"], on_node["checksum"]);
    assert_eq!(recorded["name"], "overnight");
    let adopted = finished(&admin, &server, &own.to_string()).await;
    assert_eq!(adopted["status"], "completed", "{adopted}");
    assert!(
        adopted["name"]
            .as_str()
            .expect("name")
            .starts_with("made on the node"),
        "{adopted}"
    );
}
