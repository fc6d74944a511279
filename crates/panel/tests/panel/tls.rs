//! HTTPS: a panel serving TLS itself (self-signed or the operator's files) and one behind
//! a TLS proxy (`public_url`), against plain HTTP; start-up refusals for bad TLS
//! settings; and the real binary with `--tls-self-signed`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use cap_panel::agents::tls::pinned_config;
use cap_panel::tls::Tls;
use cap_panel::{Application, Config};
use futures_util::StreamExt;
use reqwest::header::{COOKIE, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::Connector;

use crate::support::{world, TestApp};

/// A client that trusts exactly the certificate with `fingerprint`, with a cookie jar.
fn pinned_client(fingerprint: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(pinned_config(fingerprint).expect("fingerprint"))
        .cookie_store(true)
        .build()
        .expect("client")
}

/// The fingerprint of the certificate a TLS-serving test panel presents.
fn served_fingerprint(app: &TestApp) -> String {
    Tls::from_config(app.state.config())
        .expect("TLS settings load")
        .expect("the panel serves TLS")
        .fingerprint()
        .to_owned()
}

/// Logs in as the initial admin; returns the response's `Set-Cookie` values.
async fn login(app: &TestApp, client: &reqwest::Client, base: &str) -> Vec<String> {
    let response = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": app.admin.username, "password": app.admin.password }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII cookie").to_owned())
        .collect()
}

/// The `Cookie` header a browser would send back for these `Set-Cookie` values.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .map(|c| c.split(';').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Creates a node awaiting its agent (`create` is an authenticated `POST /api/agents`)
/// and returns the join command shown for it.
async fn join_command(create: reqwest::RequestBuilder) -> String {
    let response = create
        .json(&json!({
            "name": "remote", "address": "203.0.113.7", "memoryMb": 1024, "diskMb": 1024,
            "portRangeStart": 30000, "portRangeEnd": 30010
        }))
        .send()
        .await
        .expect("create node");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["data"]["joinCommand"]
        .as_str()
        .expect("join command")
        .to_owned()
}

fn hsts(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get(STRICT_TRANSPORT_SECURITY)
        .map(|v| v.to_str().expect("ASCII"))
}

fn all_secure(cookies: &[String]) -> bool {
    cookies.iter().all(|c| c.contains("; Secure"))
}

#[tokio::test]
async fn self_signed_panel_serves_https_with_secure_cookies_and_hsts() {
    let app = TestApp::spawn_with(|c| c.tls_self_signed = true).await;
    let base = format!("https://{}", app.addr);
    let client = pinned_client(&served_fingerprint(&app));

    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(hsts(&health), Some("max-age=31536000"));

    let stranger = pinned_client(&"AB".repeat(32));
    let refused = stranger.get(format!("{base}/health")).send().await;
    assert!(refused.is_err(), "another certificate is not trusted");
    let plain = app
        .client
        .get(format!("http://{}/health", app.addr))
        .send()
        .await;
    assert!(plain.is_err(), "no plain HTTP on the HTTPS port");

    let cookies = login(&app, &client, &base).await;
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    assert!(all_secure(&cookies), "{cookies:?}");
    assert!(cookies
        .iter()
        .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Strict")));
    let me = client
        .get(format!("{base}/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        200,
        "the secure session cookie is sent back over HTTPS"
    );

    let command = join_command(client.post(format!("{base}/api/agents"))).await;
    assert!(
        command.starts_with(&format!("cap-agent join {base} ")),
        "{command}"
    );
}

/// Opens the console of `server_id` over wss with a session cookie and an `Origin`; returns
/// its first two frames.
async fn open_console(
    app: &TestApp,
    fingerprint: &str,
    cookie: &str,
    origin: &str,
    server_id: &str,
) -> Result<Vec<Value>, tungstenite::Error> {
    let url = format!("wss://{}/api/servers/{server_id}/console", app.addr);
    let mut request = url.into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("cookie", cookie.parse().expect("cookie"));
    headers.insert("origin", origin.parse().expect("origin"));
    let tls = Connector::Rustls(Arc::new(pinned_config(fingerprint).expect("pin")));
    let (socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(tls)).await?;
    let frames = socket
        .take(2)
        .map(|m| match m.expect("frame") {
            Message::Text(text) => serde_json::from_str(&text).expect("JSON frame"),
            other => panic!("unexpected frame {other:?}"),
        })
        .collect()
        .await;
    Ok(frames)
}

#[tokio::test]
async fn console_websocket_works_over_wss_with_the_origin_check() {
    let app = TestApp::spawn_with(|c| c.tls_self_signed = true).await;
    let fingerprint = served_fingerprint(&app);
    let base = format!("https://{}", app.addr);
    let session = cookie_header(&login(&app, &pinned_client(&fingerprint), &base).await);
    let server = world(&app.db, "wss").await.server;

    let frames = open_console(&app, &fingerprint, &session, &base, &server.id)
        .await
        .expect("same-origin console opens over wss");
    // The node has no agent running: the opening frame says so, then the state follows.
    assert!(
        matches!(frames[0]["type"].as_str(), Some("history" | "error")),
        "{frames:?}"
    );
    assert_eq!(frames[1]["type"], "state", "{frames:?}");

    let refused = open_console(
        &app,
        &fingerprint,
        &session,
        "https://evil.example",
        &server.id,
    )
    .await
    .expect_err("cross-site console refused");
    assert!(
        matches!(&refused, tungstenite::Error::Http(r) if r.status() == 403),
        "{refused:?}"
    );
}

#[tokio::test]
async fn operator_certificate_files_are_served() {
    let certs = tempfile::tempdir().unwrap();
    let generated = Config {
        data_dir: certs.path().to_path_buf(),
        tls_self_signed: true,
        ..Config::default()
    };
    let fingerprint = Tls::from_config(&generated)
        .unwrap()
        .unwrap()
        .fingerprint()
        .to_owned();
    let dir = cap_panel::tls::self_signed_dir(certs.path());
    let app = TestApp::spawn_with(|c| {
        c.tls_cert = Some(dir.join("cert.pem"));
        c.tls_key = Some(dir.join("key.pem"));
    })
    .await;
    let health = pinned_client(&fingerprint)
        .get(format!("https://{}/health", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(hsts(&health), Some("max-age=31536000"));
}

#[tokio::test]
async fn plain_http_has_neither_secure_cookies_nor_hsts() {
    let app = TestApp::spawn().await;
    let base = format!("http://{}", app.addr);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let health = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(hsts(&health), None);
    let cookies = login(&app, &client, &base).await;
    assert_eq!(cookies.len(), 2);
    assert!(cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
    let command = join_command(client.post(format!("{base}/api/agents"))).await;
    assert!(
        command.starts_with(&format!("cap-agent join {base} ")),
        "{command}"
    );
}

#[tokio::test]
async fn behind_an_https_proxy_cookies_are_secure_and_joins_use_the_public_url() {
    let app =
        TestApp::spawn_with(|c| c.public_url = Some("https://panel.example.com/".into())).await;
    let base = format!("http://{}", app.addr);
    let health = app
        .client
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(hsts(&health), Some("max-age=31536000"));
    let cookies = login(&app, &app.client, &base).await;
    assert!(all_secure(&cookies), "{cookies:?}");
    // Browsers reach the panel through the proxy over HTTPS; this client talks to it
    // directly over HTTP, so it sends the session cookie by hand.
    let create = app
        .client
        .post(format!("{base}/api/agents"))
        .header(COOKIE, cookie_header(&cookies));
    let command = join_command(create).await;
    assert!(
        command.starts_with("cap-agent join https://panel.example.com "),
        "{command}"
    );
}

/// `Application::build`'s error for `config`, which must fail.
async fn start_up_error(adjust: impl FnOnce(&mut Config, &Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    adjust(&mut config, dir.path());
    match Application::build(config).await {
        Ok(_) => panic!("start-up should have failed"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn bad_tls_settings_fail_start_up_with_a_clear_message() {
    let without_key = start_up_error(|c, dir| c.tls_cert = Some(dir.join("cert.pem"))).await;
    assert!(
        without_key.contains("tls_cert is set without tls_key"),
        "{without_key}"
    );
    let without_cert = start_up_error(|c, dir| c.tls_key = Some(dir.join("key.pem"))).await;
    assert!(
        without_cert.contains("tls_key is set without tls_cert"),
        "{without_cert}"
    );

    let missing = start_up_error(|c, dir| {
        c.tls_cert = Some(dir.join("missing.pem"));
        c.tls_key = Some(dir.join("missing-key.pem"));
    })
    .await;
    assert!(missing.contains("missing.pem cannot be read"), "{missing}");

    let not_pem = start_up_error(|c, dir| {
        std::fs::write(dir.join("cert.pem"), "not a certificate").unwrap();
        c.tls_cert = Some(dir.join("cert.pem"));
        c.tls_key = Some(dir.join("cert.pem"));
    })
    .await;
    assert!(not_pem.contains("holds no PEM certificate"), "{not_pem}");

    let broken = start_up_error(|c, dir| {
        std::fs::write(
            dir.join("cert.pem"),
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        c.tls_cert = Some(dir.join("cert.pem"));
        c.tls_key = Some(dir.join("cert.pem"));
    })
    .await;
    assert!(broken.contains("is not valid PEM"), "{broken}");

    let mismatched = start_up_error(|c, dir| {
        let first = self_signed_in(&dir.join("first"));
        let second = self_signed_in(&dir.join("second"));
        c.tls_cert = Some(first.join("cert.pem"));
        c.tls_key = Some(second.join("key.pem"));
    })
    .await;
    assert!(
        mismatched.contains("do not form a usable certificate and key"),
        "{mismatched}"
    );

    let both = start_up_error(|c, dir| {
        c.tls_self_signed = true;
        c.tls_cert = Some(dir.join("cert.pem"));
        c.tls_key = Some(dir.join("key.pem"));
    })
    .await;
    assert!(both.contains("choose one"), "{both}");

    for url in [
        "ftp://panel.example.com",
        "https://panel.example.com/panel",
        "panel",
    ] {
        let bad = start_up_error(|c, _| c.public_url = Some(url.into())).await;
        assert!(bad.contains("public_url"), "{url}: {bad}");
    }
}

/// Generates a self-signed certificate and key under `data_dir`; returns their directory.
fn self_signed_in(data_dir: &Path) -> std::path::PathBuf {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        tls_self_signed: true,
        ..Config::default()
    };
    Tls::from_config(&config).unwrap();
    cap_panel::tls::self_signed_dir(data_dir)
}

/// The real binary in `dir` with `args` and an empty environment (no CAP_* settings).
fn binary(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cap-panel"));
    command.env_clear().current_dir(dir).args(args);
    command
}

/// The first word after `marker` in `line`, if the marker is there.
fn word_after(line: &str, marker: &str) -> Option<String> {
    let (_, rest) = line.split_once(marker)?;
    rest.split_whitespace().next().map(str::to_owned)
}

#[tokio::test]
async fn binary_with_tls_self_signed_prints_https_urls_and_its_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = binary(
        dir.path(),
        &["--tls-self-signed", "--listen", "127.0.0.1:0"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn cap-panel");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut fingerprint = None;
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            fingerprint = fingerprint
                .take()
                .or_else(|| word_after(&line, "fingerprint: "));
            word_after(&line, "listening on ")
        })
        .expect("cap-panel exited before listening");
    std::thread::spawn(move || lines.for_each(drop));
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let fingerprint = fingerprint.expect("the fingerprint is printed before listening");
    let health = pinned_client(&fingerprint)
        .get(format!("{url}/health"))
        .send()
        .await
        .expect("HTTPS with the printed fingerprint pinned");
    assert_eq!(health.status(), 200);

    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(stopped.success());
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "clean exit");
    let banner = String::from_utf8_lossy(&output.stdout);
    assert!(banner.contains(&format!("ready at {url}")), "{banner}");
    assert!(dir.path().join("data/tls/cert.pem").is_file());

    let refused = binary(dir.path(), &["--tls-cert", "elsewhere.pem"])
        .output()
        .expect("run cap-panel");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("tls_cert is set without tls_key"),
        "{stderr}"
    );
}
