use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use russh::client;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use super::{
    library, library_key, openssh, sha256_file, subuser, Client, Fixture, Proof, AGENT_TOML,
};
use crate::processes::{Agent, Session};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_moves_files_with_key_and_password_logins() {
    let fx = Fixture::start("").await;
    let key = fx.admin_key().await;
    std::fs::write(fx.scratch("hello.txt"), b"hello over sftp\n").expect("local file");
    let batch = "put hello.txt hello.txt\nmkdir worlds\nrename hello.txt worlds/moved.txt\n\
                 get worlds/moved.txt back.txt\nls worlds\n";
    let (ok, out) = openssh(&fx, &fx.login, Proof::Key(&key), batch);
    assert!(ok, "key login and file moves: {out}");
    assert_eq!(
        std::fs::read(fx.dir.join("worlds/moved.txt")).unwrap(),
        b"hello over sftp\n"
    );
    assert_eq!(
        std::fs::read(fx.scratch("back.txt")).unwrap(),
        b"hello over sftp\n"
    );
    assert!(!fx.dir.join("hello.txt").exists());

    // The username is case-insensitive; the password is the panel account's.
    let upper = fx.login.to_uppercase();
    let (ok, out) = openssh(
        &fx,
        &upper,
        Proof::Password(&fx.app.admin.password),
        "rm worlds/moved.txt\nrmdir worlds\n",
    );
    assert!(ok, "password login and removal: {out}");
    assert!(!fx.dir.join("worlds").exists());
    let (ok, _) = openssh(&fx, &fx.login, Proof::Password("wrong password"), "ls\n");
    assert!(!ok, "a wrong password is refused");

    let (_, audit) = fx.admin.get("/api/audit?action=sftp.login").await;
    let rows = audit["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        rows.iter()
            .any(|r| r["ip"] == "127.0.0.1" && r["targetId"] == fx.server.as_str()),
        "logins are audited with the client address: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_with_two_factor_sign_in_log_in_with_a_key_not_the_password() {
    let fx = Fixture::start("").await;
    let key = fx.admin_key().await;
    let admin = fx.app.admin_client().await;
    let authenticator = crate::two_factor::set_up(&fx.app, &admin).await;
    let (status, body) = crate::two_factor::enable(
        &fx.app,
        &admin,
        &fx.app.admin.password,
        &authenticator.code(0),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (ok, out) = openssh(&fx, &fx.login, Proof::Key(&key), "ls\n");
    assert!(ok, "a key still logs in: {out}");
    let password = Proof::Password(&fx.app.admin.password);
    let (ok, _) = openssh(&fx, &fx.login, password, "ls\n");
    assert!(!ok, "the password alone is one factor");
    let (_, audit) = fx.admin.get("/api/audit?action=sftp.login_failed").await;
    let reason = &audit["data"]["items"][0]["details"]["reason"];
    assert!(
        reason.as_str().is_some_and(|r| r.contains("two-factor")),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_file_round_trips_with_the_same_checksum() {
    let fx = Fixture::start("").await;
    let key = fx.admin_key().await;
    let local = fx.scratch("big.bin");
    {
        let mut file = tokio::fs::File::create(&local).await.expect("create");
        let mut block = vec![0u8; 1024 * 1024];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200 {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes());
            }
            file.write_all(&block).await.expect("write");
        }
        file.flush().await.expect("flush");
    }
    let (ok, out) = openssh(
        &fx,
        &fx.login,
        Proof::Key(&key),
        "put big.bin big.bin\nget big.bin again.bin\n",
    );
    assert!(ok, "{out}");
    let expected = sha256_file(&local);
    assert_eq!(sha256_file(&fx.dir.join("big.bin")), expected);
    assert_eq!(sha256_file(&fx.scratch("again.bin")), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_client_library_moves_files_and_is_refused_shells() {
    let fx = Fixture::start("").await;
    let key = fx.admin_key().await;
    let sftp = library_key(&fx, &key).await.expect("key login");
    sftp.create("notes.txt").await.expect("create");
    sftp.write("notes.txt", b"written by the library")
        .await
        .expect("write");
    sftp.create_dir("mods").await.expect("mkdir");
    sftp.rename("notes.txt", "mods/notes.txt")
        .await
        .expect("rename");
    assert_eq!(
        sftp.read("mods/notes.txt").await.expect("read"),
        b"written by the library"
    );
    let names: Vec<String> = sftp
        .read_dir("mods")
        .await
        .expect("list")
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, vec!["notes.txt".to_owned()]);
    sftp.remove_file("mods/notes.txt").await.expect("remove");
    sftp.remove_dir("mods").await.expect("rmdir");
    assert!(!fx.dir.join("mods").exists());

    let password = library(&fx, &fx.login, &fx.app.admin.password).await;
    assert!(password.is_some(), "password login through the library");

    // Neither a shell nor a command is served.
    let config = Arc::new(client::Config::default());
    let handler = Client {
        fingerprint: fx.fingerprint.clone(),
    };
    let mut session = client::connect(config, ("127.0.0.1", fx.port), handler)
        .await
        .expect("connect");
    assert!(session
        .authenticate_password(&fx.login, &fx.app.admin.password)
        .await
        .expect("auth")
        .success());
    let channel = session.channel_open_session().await.expect("channel");
    assert!(channel.exec(true, "id").await.is_err() || !exec_succeeded(channel).await);
}

/// Whether the server confirmed an exec request.
async fn exec_succeeded(mut channel: russh::Channel<client::Msg>) -> bool {
    while let Some(message) = channel.wait().await {
        match message {
            russh::ChannelMsg::Success => return true,
            russh::ChannelMsg::Failure => return false,
            _ => {}
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subusers_need_file_sftp_and_each_operation_its_own_right() {
    let fx = Fixture::start("").await;
    let short = &fx.server[fx.server.len() - 8..];
    subuser(&fx, "viewer", &["file:read", "file:write", "file:delete"]).await;
    let refused = library(&fx, &format!("viewer.{short}"), "password-viewer").await;
    assert!(refused.is_none(), "no file:sftp, no login");

    let id = subuser(&fx, "builder", &["file:sftp", "file:read", "file:write"]).await;
    let user = format!("builder.{short}");
    let sftp = library(&fx, &user, "password-builder")
        .await
        .expect("file:sftp logs in");
    sftp.create("plugin.jar").await.expect("file:write creates");
    sftp.write("plugin.jar", b"v1")
        .await
        .expect("file:write writes");
    let removed = sftp.remove_file("plugin.jar").await;
    assert!(removed.is_err(), "no file:delete, no removal");
    assert!(fx.dir.join("plugin.jar").exists());

    // Revoking file:write reaches the open session within seconds.
    let (status, body) = fx
        .admin
        .call(
            Method::PATCH,
            &format!("/api/servers/{}/subusers/{id}", fx.server),
            Some(json!({ "permissions": ["file:sftp", "file:read"] })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if sftp.write("plugin.jar", b"v2").await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked right still works");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let content = sftp
        .read("plugin.jar")
        .await
        .expect("file:read still works");
    assert!(content == b"v1" || content == b"v2", "{content:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escapes_from_the_server_directory_are_refused() {
    let fx = Fixture::start("").await;
    let key = fx.admin_key().await;
    let outside = fx.scratch("outside");
    std::fs::create_dir(&outside).expect("outside dir");
    std::fs::write(outside.join("secret.txt"), b"secret").expect("secret");
    std::os::unix::fs::symlink(&outside, fx.dir.join("out")).expect("symlink inside pointing out");
    let fifo = fx.dir.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    std::fs::write(fx.scratch("local.txt"), b"x").expect("local");
    let secret = outside.join("secret.txt");
    for batch in [
        "get ../../../../etc/passwd stolen\n".to_owned(),
        "get out/secret.txt stolen\n".to_owned(),
        "put local.txt out/planted.txt\n".to_owned(),
        format!("get {} stolen\n", secret.display()),
        "get pipe stolen\n".to_owned(),
        "put local.txt pipe\n".to_owned(),
        "cd out\n".to_owned(),
    ] {
        let (ok, out) = openssh(&fx, &fx.login, Proof::Key(&key), &batch);
        assert!(!ok, "{batch} was allowed: {out}");
    }
    assert!(!fx.scratch("stolen").exists());
    assert!(!outside.join("planted.txt").exists());
    // The library sees the same walls.
    let sftp = library_key(&fx, &key).await.expect("login");
    assert!(sftp.read("../escape").await.is_err());
    assert!(sftp.read("out/secret.txt").await.is_err());
    assert!(sftp.symlink("link", "/etc").await.is_err());
    assert_eq!(sftp.canonicalize("../../..").await.expect("realpath"), "/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_while_the_agent_answers() {
    let fx = Fixture::start("max_failures_per_ip = 4\nmax_failures_per_user = 100\n").await;
    let http = reqwest::Client::new();
    for attempt in 0..6 {
        assert!(library(&fx, &fx.login, &format!("guess-{attempt}"))
            .await
            .is_none());
        let health = http
            .get(format!("http://127.0.0.1:{}/health", fx.agent.port))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("the agent answers while it is attacked");
        assert_eq!(health.status(), 200);
    }
    // Throttled: even the right password is refused from this address now.
    assert!(library(&fx, &fx.login, &fx.app.admin.password)
        .await
        .is_none());
    let (_, audit) = fx.admin.get("/api/audit?action=sftp.login_failed").await;
    let failed = audit["data"]["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        failed, 4,
        "attempts past the limit never reach the panel: {audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_fail_closed_without_a_panel() {
    let lonely = tempfile::tempdir().expect("dir");
    std::fs::write(lonely.path().join("agent.toml"), AGENT_TOML).expect("agent.toml");
    let agent = Agent::start(lonely.path(), 0);
    let system: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/api/system", agent.port))
        .bearer_auth(&agent.token)
        .send()
        .await
        .expect("system")
        .json()
        .await
        .expect("json");
    let sftp = &system["data"]["sftp"];
    let port = sftp["port"].as_u64().expect("sftp port") as u16;
    let fingerprint = sftp["hostKeyFingerprint"]
        .as_str()
        .expect("fingerprint")
        .to_owned();
    let config = Arc::new(client::Config::default());
    let mut session = client::connect(config, ("127.0.0.1", port), Client { fingerprint })
        .await
        .expect("connect");
    let result = session
        .authenticate_password("admin.0123abcd", "any password")
        .await
        .expect("auth exchange");
    assert!(!result.success(), "no panel, no login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_show_their_connection_details_to_who_may_use_sftp() {
    let fx = Fixture::start("").await;
    let path = format!("/api/servers/{}/sftp", fx.server);
    let (status, body) = fx.admin.get(&path).await;
    assert_eq!(status, 200, "{body}");
    let details = &body["data"];
    assert_eq!(details["host"], "127.0.0.1");
    assert_eq!(details["port"], fx.port);
    assert_eq!(details["username"], fx.login.as_str());
    assert_eq!(details["hostKeyFingerprint"], fx.fingerprint.as_str());
    let url = format!("sftp://{}@127.0.0.1:{}", fx.login, fx.port);
    assert_eq!(details["url"], url.as_str());

    subuser(&fx, "viewer", &["file:read"]).await;
    let viewer = Session::login(&fx.app.url(""), "viewer", "password-viewer").await;
    let (status, body) = viewer.get(&path).await;
    assert_eq!(status, 403, "no file:sftp, no details: {body}");

    subuser(&fx, "builder", &["file:sftp", "file:read"]).await;
    let builder = Session::login(&fx.app.url(""), "builder", "password-builder").await;
    let (status, body) = builder.get(&path).await;
    assert_eq!(status, 200, "{body}");
    let username = body["data"]["username"].as_str().expect("username");
    assert_eq!(
        username,
        format!("builder.{}", &fx.server[fx.server.len() - 8..])
    );
    let sftp = library(&fx, username, "password-builder").await;
    assert!(sftp.is_some(), "the shown username logs in");
}
