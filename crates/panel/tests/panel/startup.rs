//! Zero-configuration start of the real `cap-panel` binary, and `cap-panel user create`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cap_panel::db::entities::user;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const BIN: &str = env!("CARGO_BIN_EXE_cap-panel");

/// `cap-panel` in `dir` with no configuration at all (CAP_* and DATABASE_URL removed).
fn panel(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CAP_") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command
}

/// Starts the panel and waits for its `listening on URL` line; returns the URL.
fn start(dir: &Path) -> (Child, String) {
    let mut child = panel(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cap-panel");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("cap-panel exited before listening")
            .expect("read stderr");
        if let Some((_, rest)) = line.split_once("listening on ") {
            break rest.split_whitespace().next().expect("url").to_owned();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

fn stop(child: Child) -> Output {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait_with_output().expect("wait")
}

async fn get_health(url: &str) -> serde_json::Value {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let response = client
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn users_in(dir: &Path) -> Vec<user::Model> {
    let url = format!("sqlite://{}", dir.join("data/panel.db").display());
    let db = cap_panel::db::connect(&url).await.expect("open panel.db");
    user::Entity::find().all(&db).await.expect("users")
}

/// A SIGTERM that arrives the moment the panel says it listens (before it serves a single
/// request) is a clean shutdown, not a death by the default signal action.
#[test]
fn sigterm_right_after_start_is_a_clean_exit() {
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let (child, _url) = start(dir.path());
        let output = stop(child);
        assert!(output.status.success(), "exit status {:?}", output.status);
    }
}

#[tokio::test]
async fn zero_config_start_creates_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = start(dir.path());
    assert_eq!(get_health(&url).await["data"]["status"], "ok");
    let first = stop(child);
    assert!(first.status.success(), "clean exit on SIGTERM");
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(stdout.contains(&url), "prints the URL: {stdout}");
    assert!(stdout.contains("username: admin"), "{stdout}");
    let password = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("prints the password")
        .to_owned();

    let data = dir.path().join("data");
    for file in ["panel.db", "keys/jwt.key", "keys/encryption.key"] {
        assert!(data.join(file).is_file(), "{file} created");
    }
    let jwt_key = std::fs::read(data.join("keys/jwt.key")).unwrap();
    let users = users_in(dir.path()).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].role, "admin");
    assert!(
        cap_panel::auth::password::verify(password.clone(), users[0].password_hash.clone())
            .await
            .unwrap()
    );

    let (child, url) = start(dir.path());
    assert_eq!(get_health(&url).await["data"]["status"], "ok");
    let second = stop(child);
    let stdout = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(
        !stdout.contains("password"),
        "credentials are printed once: {stdout}"
    );
    assert_eq!(std::fs::read(data.join("keys/jwt.key")).unwrap(), jwt_key);
    assert_eq!(users_in(dir.path()).await.len(), 1);
}

fn create_user(dir: &Path, username: &str, password: &str, admin: bool) -> Output {
    let mut command = panel(dir);
    command.args(["user", "create", "--username", username, "--password-stdin"]);
    command.args(["--email", &format!("{username}@example.com")]);
    if admin {
        command.arg("--admin");
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_command_validates_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let created = create_user(dir.path(), "operator", "a long password", true);
    assert!(created.status.success(), "{created:?}");
    let duplicate = create_user(dir.path(), "operator", "a long password", false);
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let weak = create_user(dir.path(), "newbie", "short", false);
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let url = format!("sqlite://{}", dir.path().join("data/panel.db").display());
    let db = cap_panel::db::connect(&url).await.unwrap();
    let admins = user::Entity::find()
        .filter(user::Column::Role.eq("admin"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}
