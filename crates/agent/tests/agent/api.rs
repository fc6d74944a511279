//! Authentication, error envelopes, TLS, ports, install and stats.

use std::time::Duration;

use cap_protocol::events::EventKind;
use cap_protocol::server::ServerState;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use crate::support::{game, states, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_token_is_401_everywhere() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    api.define(game(id)).await;
    let paths = [
        "/api/system".to_owned(),
        "/api/servers".to_owned(),
        format!("/api/servers/{id}"),
        format!("/api/servers/{id}/files/list"),
        "/api/ports/25565".to_owned(),
        "/api/events".to_owned(),
        "/api/does-not-exist".to_owned(),
    ];
    for path in &paths {
        let url = format!("{}{path}", api.base);
        for auth in [
            None,
            Some("Bearer wrong-token"),
            Some("Basic abc"),
            Some(&*format!("Bearer {}x", api.token)),
        ] {
            let mut request = api.http.get(&url);
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{path} with {auth:?}"
            );
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "UNAUTHORIZED");
            assert_eq!(body["success"], false);
            assert!(body["requestId"].is_string());
        }
    }
    let response = api
        .http
        .post(format!("{}/api/command", api.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // The event socket refuses a wrong token too.
    let mut request = format!("{}/api/events", api.base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer nope".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(request).await.is_err());
    // Health needs no token.
    let response = api
        .http
        .get(format!("{}/health", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let response = api
        .http
        .post(format!("{}/api/command", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .header("x-request-id", "req-123")
        .body("{\"action\": \"start\",")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.headers()["x-request-id"], "req-123");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert_eq!(body["requestId"], "req-123");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON body"),
        "{body}"
    );

    let (s, b) = api.post("/api/command", json!({"action": "explode", "serverId": Uuid::new_v4(), "timestamp": "2026-01-01T00:00:00Z", "metadata": {"requestId": "r", "userId": "u"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["error"].as_str().unwrap().contains("unknown variant"),
        "{b}"
    );
    let (s, b) = api.command("start", Uuid::new_v4()).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    assert_eq!(b["code"], "NOT_FOUND");
    let (s, _) = api.get("/api/servers/not-a-uuid").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let id = Uuid::new_v4();
    let mut invalid = game(id);
    invalid["environment"]["BAD NAME"] = json!("x");
    invalid["donePatterns"] = json!(["regex:("]);
    invalid["stop"] = json!({"type": "signal", "value": "SIGFOO"});
    let (s, b) = api.put(&format!("/api/servers/{id}"), invalid).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["code"], "VALIDATION_ERROR");
    let fields: Vec<_> = b["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"environment.BAD NAME".to_owned())
            && fields.contains(&"stop.value".to_owned()),
        "{fields:?}"
    );
    let (s, b) = api
        .put(&format!("/api/servers/{}", Uuid::new_v4()), game(id))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = api.get(&format!("/api/servers/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored");

    api.define(game(id)).await;
    let (s, b) = api
        .post(
            &format!("/api/servers/{id}/console"),
            json!({"command": "say hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "console of a stopped server: {b}");
    let (s, _) = api
        .post(
            &format!("/api/servers/{id}/console"),
            json!({"command": "a\nb"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = api.get("/api/ports/0").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let too_big = "x".repeat(2 * 1024 * 1024);
    let (s, _) = api.post("/api/command", json!({"padding": too_big})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_served_with_a_stable_pinned_certificate() {
    let agent = TestAgent::start_with(|c| c.insecure_http = false).await;
    assert!(agent.client.base.starts_with("https://"));
    use rustls::pki_types::pem::PemObject;
    let cert = rustls::pki_types::CertificateDer::from_pem_file(
        agent.dir.path().join("data/tls/cert.pem"),
    )
    .unwrap();
    assert_eq!(cap_agent::tls::fingerprint(&cert), agent.fingerprint);
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let response = http
        .get(format!("{}/api/system", agent.client.base))
        .bearer_auth(&agent.client.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["data"]["cpuCount"].as_u64().unwrap() >= 1);
    // Plain HTTP to the TLS port fails.
    let plain = agent.client.base.replacen("https", "http", 1);
    assert!(http.get(format!("{plain}/health")).send().await.is_err());
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_are_probed_by_binding() {
    let agent = TestAgent::start().await;
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (s, b) = agent.client.get(&format!("/api/ports/{port}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["data"],
        json!({"port": port, "free": false, "tcp": false, "udp": b["data"]["udp"]})
    );
    drop(taken);
    let (_, b) = agent.client.get(&format!("/api/ports/{port}")).await;
    assert_eq!(b["data"]["tcp"], true);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_runs_streams_output_and_reports_failure() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["environment"]["GREETING"] = json!("hello-install");
    definition["install"] = json!({"script": "echo step one\necho \"$GREETING\" > installed.txt\necho done installing\n"});
    api.define(definition.clone()).await;
    let mut events = api.events().await;
    events.next(LIMIT).await;
    let (s, b) = api
        .post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let seen = events.until_state(LIMIT, ServerState::Offline).await;
    assert_eq!(states(&seen, id), ["installing", "offline"]);
    let output: Vec<String> = seen
        .iter()
        .filter_map(|e| match e {
            EventKind::InstallOutput { lines, .. } => Some(lines.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        output.contains(&"step one".to_owned()) && output.contains(&"done installing".to_owned()),
        "{output:?}"
    );
    assert_eq!(
        std::fs::read_to_string(agent.server_dir(id).join("installed.txt")).unwrap(),
        "hello-install\n"
    );

    let good_install = definition["install"].clone();
    definition["install"] = json!({"script": "echo failing\nexit 3\n"});
    api.define(definition.clone()).await;
    api.post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    let status = api.wait_state(id, "install_failed", LIMIT).await;
    assert_eq!(status["exitCode"], 3);
    assert_eq!(
        status["message"],
        "install script exited with code 3; last output: failing"
    );
    // A failed install is not started: the files it should have made are missing.
    let (s, b) = api.command("start", id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(
        b["error"],
        "install failed: install script exited with code 3; last output: failing; reinstall first"
    );
    assert_eq!(api.status(id).await["state"], "install_failed");
    definition["install"] = good_install;
    api.define(definition).await;
    api.post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    api.wait_state(id, "offline", LIMIT).await;
    // Stats of a running server arrive on the event stream.
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    let seen = events
        .until(LIMIT, |e| matches!(e, EventKind::Stats { .. }))
        .await;
    let Some(EventKind::Stats { stats, .. }) = seen.last() else {
        panic!("no stats")
    };
    assert!(
        stats.memory_bytes > 0 && stats.process_count >= 1,
        "{stats:?}"
    );
    let (s, b) = api.get(&format!("/api/servers/{id}/stats")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b["data"]["memoryBytes"].as_u64().unwrap() > 0);
    let (s, _) = api.delete(&format!("/api/servers/{id}?purge=true")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!agent.server_dir(id).exists());
    agent.shutdown().await;
}
