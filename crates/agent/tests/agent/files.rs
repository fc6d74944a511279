//! The file manager: normal operations, and every way out of the jail refused.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{game, game_after, Client, TestAgent};

pub async fn agent_with_server() -> (TestAgent, Uuid, String) {
    let agent = TestAgent::start_with(|c| c.files.max_upload_bytes = 64 * 1024).await;
    let id = Uuid::new_v4();
    agent.client.define(game(id)).await;
    (agent, id, format!("/api/servers/{id}/files"))
}

fn assert_refused(status: StatusCode, body: &Value, what: &str) {
    assert!(
        status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
        "{what}: expected refusal, got {status} {body}"
    );
    assert_eq!(body["success"], false, "{what}: {body}");
}

async fn raw_get(api: &Client, path_and_query: &str) -> (StatusCode, Value) {
    api.get(path_and_query).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_operations_work_inside_the_jail() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let (s, b) = api
        .post(&format!("{files}/mkdir"), json!({"path": "config/sub"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["kind"], "directory");
    let (s, b) = api
        .post(
            &format!("{files}/write"),
            json!({"path": "config/server.properties", "content": "motd=hi\n"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["size"], 8);
    let (_, b) = api
        .get(&format!("{files}/read?path=config/server.properties"))
        .await;
    assert_eq!(b["data"]["content"], "motd=hi\n");
    let (_, b) = api.get(&format!("{files}/list?path=config")).await;
    let names: Vec<_> = b["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["sub", "server.properties"]);
    let (s, _) = api
        .post(
            &format!("{files}/copy"),
            json!({"from": "config", "to": "config-copy"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = api
        .post(
            &format!("{files}/rename"),
            json!({"from": "config-copy", "to": "config"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, _) = api
        .post(
            &format!("{files}/rename"),
            json!({"from": "config-copy", "to": "backup"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = api
        .post(
            &format!("{files}/chmod"),
            json!({"path": "backup/server.properties", "mode": 0o600}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["mode"], 0o600);
    let (s, _) = api
        .post(
            &format!("{files}/chmod"),
            json!({"path": "backup", "mode": 0o4755}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Upload, download, compress, decompress.
    let payload: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        api.upload(&files, "blob.bin", payload.clone()).await,
        StatusCode::OK
    );
    let response = api
        .http
        .get(format!("{}{files}/download?path=blob.bin", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap().as_ref(), payload.as_slice());
    for (format, name) in [("tarGz", "pack.tar.gz"), ("zip", "pack.zip")] {
        let (s, b) = api
            .post(
                &format!("{files}/compress"),
                json!({"paths": ["config", "blob.bin"], "destination": name, "format": format}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let dest = format!("out-{format}");
        let (s, b) = api
            .post(
                &format!("{files}/decompress"),
                json!({"path": name, "destination": dest}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let unpacked = std::fs::read(agent.server_dir(id).join(&dest).join("blob.bin")).unwrap();
        assert_eq!(unpacked, payload);
        let text = std::fs::read_to_string(
            agent
                .server_dir(id)
                .join(&dest)
                .join("config/server.properties"),
        )
        .unwrap();
        assert_eq!(text, "motd=hi\n");
    }
    let (s, _) = api
        .post(
            &format!("{files}/delete"),
            json!({"paths": ["backup", "blob.bin"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!agent.server_dir(id).join("backup").exists());
    // Oversized upload: refused, nothing left behind.
    assert_eq!(
        api.upload(&files, "big.bin", vec![0u8; 100 * 1024]).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let leftovers: Vec<_> = std::fs::read_dir(agent.server_dir(id))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains("big"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_escapes_are_refused() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    let outside = agent.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "outside-secret").unwrap();
    symlink("/etc", root.join("etc-link")).unwrap();
    symlink(outside.join("secret"), root.join("secret-link")).unwrap();
    symlink("../../../outside", root.join("relative-out")).unwrap();

    let reads = [
        "../../token".to_owned(),
        "a/../../token".to_owned(),
        "/etc/passwd".to_owned(),
        "%2e%2e/%2e%2e/token".to_owned(),
        "..%2F..%2Ftoken".to_owned(),
        "%2Fetc%2Fpasswd".to_owned(),
        "etc-link/passwd".to_owned(),
        "secret-link".to_owned(),
        "relative-out/secret".to_owned(),
        "x%00y".to_owned(),
    ];
    for path in &reads {
        for op in ["read", "download", "list", "stat"] {
            let (s, b) = raw_get(api, &format!("{files}/{op}?path={path}")).await;
            if op == "stat" && (path == "etc-link/passwd" || path == "relative-out/secret") {
                assert_refused(s, &b, &format!("{op} {path}"));
                continue;
            }
            if op == "stat" && path == "secret-link" {
                // Stat describes the link itself without following it.
                assert_eq!(b["data"]["kind"], "symlink", "{b}");
                continue;
            }
            assert_refused(s, &b, &format!("{op} {path}"));
            assert!(
                !b.to_string().contains("outside-secret") && !b.to_string().contains("root:x:0")
            );
        }
    }
    for (op, body) in [
        ("write", json!({"path": "etc-link/evil", "content": "x"})),
        (
            "write",
            json!({"path": "relative-out/evil", "content": "x"}),
        ),
        ("write", json!({"path": "../evil", "content": "x"})),
        ("mkdir", json!({"path": "etc-link/evil-dir"})),
        ("rename", json!({"from": "secret-link", "to": "../stolen"})),
        (
            "copy",
            json!({"from": "relative-out/secret", "to": "stolen"}),
        ),
        ("chmod", json!({"path": "etc-link/passwd", "mode": 0o777})),
        ("delete", json!({"paths": ["relative-out/secret"]})),
        ("delete", json!({"paths": [""]})),
        (
            "compress",
            json!({"paths": ["relative-out"], "destination": "../out.tar.gz", "format": "tarGz"}),
        ),
    ] {
        let (s, b) = api.post(&format!("{files}/{op}"), body.clone()).await;
        assert_refused(s, &b, &format!("{op} {body}"));
    }
    assert_eq!(
        api.upload(&files, "etc-link/evil", "x").await,
        StatusCode::BAD_REQUEST
    );
    assert!(!Path::new("/etc/evil").exists() && !Path::new("/etc/evil-dir").exists());
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "outside-secret"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing written outside"
    );
    // Compressing a link that points outside does not pack the outside file.
    let (s, _) = api.post(&format!("{files}/compress"), json!({"paths": ["secret-link", "relative-out"], "destination": "links.tar.gz", "format": "tarGz"})).await;
    assert_eq!(s, StatusCode::OK);
    let packed = std::fs::read(root.join("links.tar.gz")).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(packed.as_slice()),
        &mut text,
    )
    .ok();
    assert!(!text.contains("outside-secret"));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_made_by_the_game_are_refused() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let definition = game_after(id, "ln -s / rootfs && ln -s ../../token token-link");
    api.define(definition).await;
    api.command("start", id).await;
    api.wait_state(id, "running", Duration::from_secs(15)).await;
    let files = format!("/api/servers/{id}/files");
    for path in ["rootfs/etc/passwd", "token-link"] {
        let (s, b) = api.get(&format!("{files}/read?path={path}")).await;
        assert_refused(s, &b, path);
    }
    let (s, b) = api.get(&format!("{files}/list?path=rootfs")).await;
    assert_refused(s, &b, "list rootfs");
    let (s, b) = api.get(&format!("{files}/list")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "rootfs" && e["kind"] == "symlink"));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_a_directory_for_a_symlink_never_leaks() {
    let (agent, id, files) = agent_with_server().await;
    let api = agent.client.clone();
    let root = agent.server_dir(id);
    let outside = agent.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("data.txt"), "outside-secret").unwrap();
    std::fs::create_dir_all(root.join("real")).unwrap();
    std::fs::write(root.join("real/data.txt"), "inside").unwrap();
    symlink(&outside, root.join("evil")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, root) = (stop.clone(), root.clone());
        std::thread::spawn(move || {
            // Atomically flip `d` between the real directory and a link leading outside.
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for source in ["real", "evil"] {
                    let _ = std::fs::remove_file(root.join("d-tmp"));
                    let _ = symlink(source, root.join("d-tmp"));
                    let _ = std::fs::rename(root.join("d-tmp"), root.join("d"));
                    flips += 1;
                }
            }
            flips
        })
    };
    let mut inside = 0;
    for _ in 0..300 {
        let (s, b) = api.get(&format!("{files}/read?path=d/data.txt")).await;
        assert!(!b.to_string().contains("outside-secret"), "leaked: {b}");
        if s == StatusCode::OK {
            assert_eq!(b["data"]["content"], "inside");
            inside += 1;
        }
        let (_, b) = api
            .post(
                &format!("{files}/write"),
                json!({"path": "d/new.txt", "content": "x"}),
            )
            .await;
        assert!(b["success"] == true || b["success"] == false);
    }
    stop.store(true, Ordering::Relaxed);
    let flips = swapper.join().unwrap();
    assert!(flips > 100, "the swap race did not run");
    assert!(inside > 0, "no read went through the in-jail link");
    assert!(
        !outside.join("new.txt").exists(),
        "a write went through the swapped link"
    );
    agent.shutdown().await;
}

pub fn zip_with(entries: &[(&str, &[u8])], symlinks: &[(&str, &str)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    for (name, target) in symlinks {
        zip.add_symlink(*name, *target, options).unwrap();
    }
    zip.finish().unwrap();
    buffer.into_inner()
}

pub fn tar_with(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    build(&mut builder);
    builder.into_inner().unwrap()
}

pub fn raw_tar_entry(
    builder: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    // Write the name bytes directly so `..` and absolute names survive.
    let bytes = name.as_bytes();
    header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    if let Some(link) = link {
        header.set_link_name(link).unwrap();
    }
    header.set_cksum();
    builder.append(&header, data).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malicious_archives_are_refused_whole() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "slip.zip",
            zip_with(&[("ok.txt", b"fine"), ("../../evil.txt", b"evil")], &[]),
        ),
        (
            "abs.zip",
            zip_with(&[("ok.txt", b"fine"), ("/tmp/cap-evil.txt", b"evil")], &[]),
        ),
        (
            "link.zip",
            zip_with(&[("ok.txt", b"fine")], &[("escape", "../../..")]),
        ),
        (
            "slip.tar",
            tar_with(|b| {
                raw_tar_entry(b, "ok.txt", tar::EntryType::Regular, None, b"fine");
                raw_tar_entry(b, "../../evil.txt", tar::EntryType::Regular, None, b"evil");
            }),
        ),
        (
            "link.tar",
            tar_with(|b| {
                raw_tar_entry(b, "ok.txt", tar::EntryType::Regular, None, b"fine");
                raw_tar_entry(b, "etc", tar::EntryType::Symlink, Some("/etc"), b"");
                raw_tar_entry(b, "etc/evil.txt", tar::EntryType::Regular, None, b"evil");
            }),
        ),
        (
            "hard.tar",
            tar_with(|b| {
                raw_tar_entry(b, "ok.txt", tar::EntryType::Regular, None, b"fine");
                raw_tar_entry(b, "shadow", tar::EntryType::Link, Some("/etc/shadow"), b"");
            }),
        ),
        (
            "dev.tar",
            tar_with(|b| {
                raw_tar_entry(b, "ok.txt", tar::EntryType::Regular, None, b"fine");
                raw_tar_entry(b, "null", tar::EntryType::Char, None, b"");
            }),
        ),
    ];
    for (name, bytes) in cases {
        std::fs::write(root.join(name), bytes).unwrap();
        let (s, b) = api
            .post(
                &format!("{files}/decompress"),
                json!({"path": name, "destination": "x"}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {b}");
        assert!(
            !root.join("x/ok.txt").exists(),
            "{name}: partially extracted"
        );
    }
    assert!(!agent.dir.path().join("evil.txt").exists());
    assert!(!root.join("evil.txt").exists());
    assert!(!Path::new("/tmp/cap-evil.txt").exists());
    assert!(!Path::new("/etc/evil.txt").exists());
    // An archive with a link that stays inside is fine.
    std::fs::write(
        root.join("good.zip"),
        zip_with(&[("a/b.txt", b"fine")], &[("a/link", "b.txt")]),
    )
    .unwrap();
    let (s, b) = api
        .post(&format!("{files}/decompress"), json!({"path": "good.zip"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        std::fs::read_to_string(root.join("a/link")).unwrap(),
        "fine"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_files_are_refused_without_hanging() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    nix::unistd::mkfifo(
        &root.join("pipe"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let mut names = vec!["pipe"];
    let device = nix::sys::stat::mknod(
        &root.join("null-dev"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    );
    if device.is_ok() {
        names.push("null-dev");
    }
    for name in names {
        for op in ["read", "download"] {
            let result = tokio::time::timeout(
                Duration::from_secs(5),
                api.get(&format!("{files}/{op}?path={name}")),
            )
            .await;
            let (s, b) = result.expect("request did not hang");
            assert_eq!(s, StatusCode::BAD_REQUEST, "{op} {name}: {b}");
        }
        let url = format!("{files}/write");
        let write = api.post(&url, json!({"path": name, "content": "x"}));
        let (s, b) = tokio::time::timeout(Duration::from_secs(5), write)
            .await
            .expect("write did not hang");
        assert_eq!(s, StatusCode::BAD_REQUEST, "write {name}: {b}");
        let (_, b) = api.get(&format!("{files}/stat?path={name}")).await;
        assert_eq!(b["data"]["kind"], "other");
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_quota_refuses_writes_beyond_it() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["limits"] = json!({"diskMib": 1});
    api.define(definition).await;
    let files = format!("/api/servers/{id}/files");
    assert_eq!(
        api.upload(&files, "big.bin", vec![7u8; 2 * 1024 * 1024])
            .await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(!agent.server_dir(id).join("big.bin").exists());
    let (s, b) = api
        .post(
            &format!("{files}/write"),
            json!({"path": "small.txt", "content": "fits"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    agent.shutdown().await;
}
