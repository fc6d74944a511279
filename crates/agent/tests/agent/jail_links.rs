//! Links that would lead out of the server directory: chains of symlinks unpacked from
//! archives, and hard links to files outside.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::files::{agent_with_server, raw_tar_entry, tar_with, zip_with};
use crate::support::Client;

/// `k1/k2/k3/k4/k5/up` resolves to the server directory itself; a second link walks up
/// from there. Each looks harmless when only its own text is read.
const UP: &str = "k1/k2/k3/k4/k5/up";
const UP_TARGET: &str = "../../../../..";
/// Creates the directories of [`UP`].
const FILE_BESIDE_UP: &str = "k1/k2/k3/k4/k5/readme.txt";
/// To a directory beside the agent's data directory.
const TO_OUTSIDE: &str = "k1/k2/k3/k4/k5/up/../../../../outside/pwned";
/// Into the agent's data directory, to the node token.
const TO_TOKEN: &str = "k1/k2/k3/k4/k5/up/../../token";

fn chain_tar(second: &str) -> Vec<u8> {
    tar_with(|b| {
        raw_tar_entry(b, "ok.txt", tar::EntryType::Regular, None, b"fine");
        raw_tar_entry(b, FILE_BESIDE_UP, tar::EntryType::Regular, None, b"fine");
        raw_tar_entry(b, UP, tar::EntryType::Symlink, Some(UP_TARGET), b"");
        raw_tar_entry(
            b,
            "minetest.conf",
            tar::EntryType::Symlink,
            Some(second),
            b"",
        );
    })
}

fn symlink_tar(name: &str, target: &str) -> Vec<u8> {
    tar_with(|b| raw_tar_entry(b, name, tar::EntryType::Symlink, Some(target), b""))
}

/// Put `bytes` into the server directory as `name` and ask the agent to unpack it there.
async fn unpack(
    api: &Client,
    files: &str,
    root: &Path,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    std::fs::write(root.join(name), bytes).unwrap();
    api.post(&format!("{files}/decompress"), json!({"path": name}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_chains_in_archives_are_refused() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    let mut cases = Vec::new();
    for (what, second) in [("outside", TO_OUTSIDE), ("token", TO_TOKEN)] {
        cases.push((format!("{what}.tar"), chain_tar(second)));
        let zip = zip_with(
            &[("ok.txt", b"fine"), (FILE_BESIDE_UP, b"fine")],
            &[(UP, UP_TARGET), ("minetest.conf", second)],
        );
        cases.push((format!("{what}.zip"), zip));
    }
    for (name, bytes) in cases {
        let (s, b) = unpack(api, &files, &root, &name, bytes).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {b}");
        assert!(
            b["error"]
                .as_str()
                .unwrap_or_default()
                .contains("minetest.conf"),
            "{name}: {b}"
        );
        assert!(!root.join("ok.txt").exists(), "{name}: partially extracted");
        assert!(root.join("minetest.conf").symlink_metadata().is_err());
    }

    // The first link alone stays inside and is unpacked; a later archive whose link walks
    // through it is refused all the same.
    let (s, b) = unpack(api, &files, &root, "first.tar", symlink_tar(UP, UP_TARGET)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        std::fs::read_link(root.join(UP)).unwrap().to_str(),
        Some(UP_TARGET)
    );
    for second in [TO_OUTSIDE, TO_TOKEN] {
        let later = symlink_tar("minetest.conf", second);
        let (s, b) = unpack(api, &files, &root, "later.tar", later).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{second}: {b}");
        assert!(root.join("minetest.conf").symlink_metadata().is_err());
    }
    // A link that walks through the chain and stays inside is fine.
    std::fs::write(root.join("data.txt"), "inside").unwrap();
    let fine = symlink_tar("via", "k1/k2/k3/k4/k5/up/data.txt");
    let (s, b) = unpack(api, &files, &root, "fine.tar", fine).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(std::fs::read_to_string(root.join("via")).unwrap(), "inside");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hard_links_to_outside_files_are_never_followed() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    let outside = agent.dir.path().join("outside-secret");
    std::fs::write(&outside, "outside-secret").unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::hard_link(&outside, root.join("hardlink")).unwrap();
    std::fs::create_dir(root.join("dir")).unwrap();
    std::fs::hard_link(&outside, root.join("dir/inner")).unwrap();

    for op in ["read", "download"] {
        let (s, b) = api.get(&format!("{files}/{op}?path=hardlink")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{op}: {b}");
        assert!(!b.to_string().contains("outside-secret"), "{op}: {b}");
    }
    for (op, body) in [
        (
            "write",
            json!({"path": "hardlink", "content": "overwritten"}),
        ),
        ("copy", json!({"from": "hardlink", "to": "copied"})),
        ("chmod", json!({"path": "hardlink", "mode": 0o777})),
        ("copy", json!({"from": "dir", "to": "dir-copy"})),
        (
            "compress",
            json!({"paths": ["hardlink"], "destination": "a.tar.gz", "format": "tarGz"}),
        ),
        (
            "compress",
            json!({"paths": ["dir"], "destination": "b.zip", "format": "zip"}),
        ),
    ] {
        let (s, b) = api.post(&format!("{files}/{op}"), body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{op} {body}: {b}");
        assert!(!b.to_string().contains("outside-secret"), "{op}: {b}");
    }
    assert!(!root.join("copied").exists());
    assert!(
        !root.join("dir-copy").exists(),
        "half-made copy left behind"
    );
    assert!(!root.join("a.tar.gz").exists() && !root.join("b.zip").exists());
    // An archive unpacked over the hard link does not write through it.
    let archive = tar_with(|b| {
        raw_tar_entry(
            b,
            "hardlink",
            tar::EntryType::Regular,
            None,
            b"from archive",
        )
    });
    let (s, b) = unpack(api, &files, &root, "over.tar", archive).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // An upload replaces the name instead of writing through it.
    assert_eq!(
        api.upload(&files, "hardlink", "uploaded").await,
        StatusCode::OK
    );
    assert_eq!(
        std::fs::read_to_string(root.join("hardlink")).unwrap(),
        "uploaded"
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "outside-secret");
    let mode = std::fs::metadata(&outside).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the outside file's mode was changed");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_links_cannot_make_them_lead_outside() {
    let (agent, id, files) = agent_with_server().await;
    let api = &agent.client;
    let root = agent.server_dir(id);
    let (s, b) = unpack(api, &files, &root, "up.tar", symlink_tar(UP, UP_TARGET)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The same link text one level higher leads out of the directory.
    for (from, to) in [(UP, "up"), ("k1/k2", "k2")] {
        let (s, b) = api
            .post(&format!("{files}/rename"), json!({"from": from, "to": to}))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{from} -> {to}: {b}");
        assert!(
            root.join(to).symlink_metadata().is_err(),
            "{to} left behind"
        );
        assert_eq!(
            std::fs::read_link(root.join(UP)).unwrap().to_str(),
            Some(UP_TARGET),
            "{from} not put back"
        );
    }
    // A move that keeps the depth keeps the link inside.
    let (s, b) = api
        .post(
            &format!("{files}/rename"),
            json!({"from": "k1", "to": "k0"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(root.join("k0/k2/k3/k4/k5/up").symlink_metadata().is_ok());
    agent.shutdown().await;
}
