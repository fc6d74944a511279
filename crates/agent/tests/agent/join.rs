//! `cap-agent join` against a small HTTP server that answers like the panel's
//! `POST /api/agents/join`, then the joined agent serving with the panel's token and port.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::support::{run_agent, AgentProcess};

const JOIN_TOKEN: &str = "join-token-0123456789abcdef";
const NODE_TOKEN: &str = "node-token-from-the-panel-0123456789abcdef";

/// The panel's join endpoint: records request bodies, answers `Unauthorized` for any
/// other join token, and otherwise hands out `NODE_TOKEN` and `port`.
struct Panel {
    url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Panel {
    async fn start(port: u16) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = Router::new().route(
            "/api/agents/join",
            post(move |Json(body): Json<Value>| async move {
                seen.lock().unwrap().push(body.clone());
                if body["joinToken"] != JOIN_TOKEN {
                    return (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({"success": false, "error": "unknown or already used join token",
                                    "code": "UNAUTHORIZED"})),
                    );
                }
                (
                    StatusCode::OK,
                    Json(json!({"success": true, "data": {
                        "nodeId": "node-1", "nodeName": "Test node", "token": NODE_TOKEN, "port": port
                    }})),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            requests,
            task,
        }
    }

    fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The joined agent listens on the panel's port and accepts the panel's node token.
async fn serves_for_the_panel(agent: AgentProcess, scheme: &str, port: u16) {
    assert_eq!(agent.client.base, format!("{scheme}://127.0.0.1:{port}"));
    assert_eq!(agent.client.token, NODE_TOKEN);
    let (status, body) = agent.client.get("/api/system").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    agent.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_pins_the_certificate_and_the_next_start_serves_the_panels_port() {
    let port = free_port();
    let panel = Panel::start(port).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let output = run_agent(&[
        "join",
        &panel.url,
        JOIN_TOKEN,
        "--data-dir",
        &data_arg,
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The panel got the join token and the fingerprint of the certificate the agent serves.
    let identity = cap_agent::tls::Identity::load_or_generate(&data.join("tls")).unwrap();
    let requests = panel.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0],
        json!({"joinToken": JOIN_TOKEN, "fingerprint": identity.fingerprint()})
    );

    // The node token is stored privately; the port is in the data directory's config.
    let token_file = data.join("token");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), NODE_TOKEN);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let toml = std::fs::read_to_string(data.join("agent.toml")).unwrap();
    assert!(
        toml.contains(&format!("listen = \"127.0.0.1:{port}\"")),
        "{toml}"
    );
    assert!(stdout.contains("Test node"), "{stdout}");
    assert!(stdout.contains(&identity.fingerprint()), "{stdout}");
    let start = format!("--data-dir {}", data.display());
    assert!(stdout.contains(&start), "{stdout}");

    // The printed start command: TLS on the panel's port, the panel's token accepted.
    let (agent, _) = AgentProcess::launch(&data, &[]);
    serves_for_the_panel(agent, "https", port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_join_with_run_serves_at_once_without_a_fingerprint() {
    let port = free_port();
    let panel = Panel::start(port).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (agent, printed) = AgentProcess::launch(
        &data,
        &[
            "join",
            &panel.url,
            JOIN_TOKEN,
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--run",
        ],
    );
    assert_eq!(panel.requests(), [json!({"joinToken": JOIN_TOKEN})]);
    assert!(
        printed
            .iter()
            .any(|l| l.contains("plain HTTP (--insecure-http)")),
        "{printed:?}"
    );
    serves_for_the_panel(agent, "http", port).await;
    let toml = std::fs::read_to_string(data.join("agent.toml")).unwrap();
    assert!(toml.contains("insecure_http = true"), "{toml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_join_token_shows_the_panels_error_and_changes_nothing() {
    let panel = Panel::start(free_port()).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let output = run_agent(&[
        "join",
        &panel.url,
        "wrong-token-0123456789abcdef",
        "--data-dir",
        &data_arg,
    ])
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the panel refused to join: unknown or already used join token"),
        "{stderr}"
    );
    assert_eq!(panel.requests().len(), 1);
    assert!(!data.join("token").exists());
    assert!(!data.join("agent.toml").exists());

    // Not a panel at all, and not a URL: clear errors before anything is written.
    let output = run_agent(&["join", "ftp://x", JOIN_TOKEN, "--data-dir", &data_arg]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("http:// or https://"));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let output = run_agent(&["join", &closed, JOIN_TOKEN, "--data-dir", &data_arg]).await;
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot reach the panel"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!data.join("token").exists());
}
