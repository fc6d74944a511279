//! Shared helpers: locating binaries, starting agents, HTTP and WebSocket clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cap_agent::{Agent, Config};
use cap_protocol::events::{AgentEvent, EventKind};
use cap_protocol::server::ServerState;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// The `cap-agent` binary (built by cargo for this package's integration tests).
pub fn agent_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cap-agent"))
}

/// The `cap-testgame` binary: next to this test's target directory; built with cargo
/// when missing or older than its source (cargo only builds binaries of this package
/// for its tests, and `cargo nextest run --workspace` builds it anyway).
pub fn testgame_bin() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/agent-xxxx -> target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf();
        let bin = profile_dir.join("cap-testgame");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testgame/src/main.rs");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let stale = match (modified(&bin), modified(&source)) {
            (Some(built), Some(src)) => built < src,
            (None, _) => true,
            _ => false,
        };
        if stale {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut command = Command::new(cargo);
            command.args(["build", "-p", "cap-testgame"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                command.arg("--release");
            }
            let status = command.status().expect("run cargo build");
            assert!(status.success(), "cargo build -p cap-testgame failed");
        }
        bin
    })
    .clone()
}

/// The unprivileged user test servers share when the tests run as root.
pub const TEST_USER: &str = "cap-test";

/// A definition running the test game, with short timings for tests.
pub fn game(id: Uuid) -> Value {
    json!({
        "id": id,
        "name": "test",
        "startup": testgame_bin().display().to_string(),
        "environment": {"TESTGAME_DELAY_MS": "20"},
        "stop": {"type": "command", "value": "stop", "graceSeconds": 2},
        "donePatterns": [")! For help"],
        "crashPolicy": {"autoRestart": true, "maxRestarts": 3, "windowSeconds": 60, "backoffMs": 100, "maxBackoffMs": 400}
    })
}

/// Like [`game`], with the shell commands `first` run before the game starts.
pub fn game_after(id: Uuid, first: &str) -> Value {
    let mut definition = game(id);
    definition["startup"] = json!(format!("{first}; exec {}", testgame_bin().display()));
    definition
}

/// Is `pid` a live (non-zombie) process?
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// Resident memory of `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// HTTP access to one agent.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(base: String, token: String) -> Self {
        // Agents in tests use their own self-signed certificate.
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self { base, token, http }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Upload raw bytes; returns the HTTP status.
    pub async fn upload(
        &self,
        files: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> StatusCode {
        let url = format!("{}{files}/upload?path={path}", self.base);
        self.http
            .put(url)
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .expect("upload")
            .status()
    }

    /// Create or replace a definition; panics unless it is accepted.
    pub async fn define(&self, definition: Value) -> Value {
        let id = definition["id"].as_str().expect("id").to_owned();
        let (status, body) = self.put(&format!("/api/servers/{id}"), definition).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    /// Send a power command; returns the HTTP status and the envelope.
    pub async fn command(&self, action: &str, id: Uuid) -> (StatusCode, Value) {
        let body = json!({
            "action": action, "serverId": id, "timestamp": chrono::Utc::now(),
            "metadata": {"requestId": "test", "userId": "tester"}
        });
        self.post("/api/command", body).await
    }

    /// Type a console command.
    pub async fn console(&self, id: Uuid, command: &str) {
        let (status, body) = self
            .post(
                &format!("/api/servers/{id}/console"),
                json!({"command": command}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// Console history lines.
    pub async fn history(&self, id: Uuid) -> Vec<String> {
        let (_, body) = self
            .get(&format!("/api/servers/{id}/console?lines=1000"))
            .await;
        serde_json::from_value(body["data"]["lines"].clone()).unwrap_or_default()
    }

    /// The server's status object.
    pub async fn status(&self, id: Uuid) -> Value {
        let (_, body) = self.get(&format!("/api/servers/{id}")).await;
        body["data"]["status"].clone()
    }

    /// Poll until the server is in `state`.
    pub async fn wait_state(&self, id: Uuid, state: &str, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let status = self.status(id).await;
            if status["state"] == state {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server never reached {state}; last status {status}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Poll until a console line contains `needle`.
    pub async fn wait_console(&self, id: Uuid, needle: &str, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let lines = self.history(id).await;
            if lines.iter().any(|l| l.contains(needle)) {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "console never showed {needle:?}: {lines:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Open the event WebSocket.
    pub async fn events(&self) -> Events {
        let url = format!("{}/api/events", self.base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("ws request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().expect("header"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("ws connect");
        Events {
            socket,
            last_seq: 0,
        }
    }
}

/// The event stream; checks that sequence numbers only grow.
pub struct Events {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    last_seq: u64,
}

impl Events {
    /// Next event within `limit`.
    pub async fn next(&mut self, limit: Duration) -> AgentEvent {
        loop {
            let frame = tokio::time::timeout(limit, self.socket.next())
                .await
                .expect("event within time limit")
                .expect("stream open")
                .expect("frame");
            if let Message::Text(text) = frame {
                let event: AgentEvent = serde_json::from_str(&text).expect("valid event");
                assert!(
                    event.seq > self.last_seq || self.last_seq == 0,
                    "seq went from {} to {}",
                    self.last_seq,
                    event.seq
                );
                self.last_seq = event.seq;
                return event;
            }
        }
    }

    /// Collect events until one satisfies `done`; returns them all.
    pub async fn until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&EventKind) -> bool,
    ) -> Vec<EventKind> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self.next(left.max(Duration::from_millis(1))).await;
            let finished = done(&event.kind);
            seen.push(event.kind);
            if finished {
                return seen;
            }
        }
    }
}

impl Events {
    /// Collect events until a change to `state`; returns them all.
    pub async fn until_state(&mut self, limit: Duration, state: ServerState) -> Vec<EventKind> {
        self.until(
            limit,
            |e| matches!(e, EventKind::State { state: s, .. } if *s == state),
        )
        .await
    }
}

/// State changes of one server, in order, from a list of events.
pub fn states(events: &[EventKind], id: Uuid) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EventKind::State {
                server_id, state, ..
            } if *server_id == id => serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            _ => None,
        })
        .collect()
}

/// An agent running inside the test process.
pub struct TestAgent {
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub fingerprint: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<cap_agent::AgentResult<()>>>,
}

impl TestAgent {
    /// Plain HTTP on 127.0.0.1:0.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`Self::start`], adjusting the configuration first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path().join("data"));
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.port_fallback = false;
        config.insecure_http = true;
        config.stats_interval = Duration::from_millis(200);
        // One shared unprivileged user when the tests run as root, so they leave no user
        // per server behind (the isolation tests use per-server users and delete them).
        config.shared_user = Some(TEST_USER.into());
        config.shim_program = Some(agent_bin());
        adjust(&mut config);
        let scheme = if config.insecure_http {
            "http"
        } else {
            "https"
        };
        let token_file = config.token_file.clone();
        let agent = Agent::build(config).await.expect("agent builds");
        let token = std::fs::read_to_string(token_file).expect("token file");
        let base = format!("{scheme}://{}", agent.addr());
        let fingerprint = agent.fingerprint().to_owned();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(agent.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Self {
            client: Client::new(base, token),
            dir,
            fingerprint,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The server's directory.
    pub fn server_dir(&self, id: Uuid) -> PathBuf {
        self.dir.path().join("data/servers").join(id.to_string())
    }

    /// Shut the agent down (stopping its servers) and wait for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("agent task").expect("agent result");
        }
    }
}

/// The real `cap-agent` binary, on 127.0.0.1 with a free port, plain HTTP.
pub struct AgentProcess {
    pub child: Child,
    pub client: Client,
}

impl AgentProcess {
    /// Start the binary with `data_dir` and wait for its `listening on` line.
    pub fn spawn(data_dir: &Path, extra: &[&str]) -> Self {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--insecure-http",
            "--shared-user",
            TEST_USER,
        ];
        args.extend_from_slice(extra);
        Self::launch(data_dir, &args).0
    }

    /// Start the binary with `--data-dir data_dir` and exactly `args`; wait for its
    /// `listening on` line. Also returns the lines it printed before that one.
    pub fn launch(data_dir: &Path, args: &[&str]) -> (Self, Vec<String>) {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(agent_bin())
            .args(args)
            .args(["--data-dir", &data_dir.display().to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cap-agent");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut before = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .expect("agent printed a listening line")
                .expect("utf-8 line");
            if let Some(at) = line.find("listening on ") {
                break line[at + "listening on ".len()..].trim().to_owned();
            }
            before.push(line);
        };
        // Keep draining the agent's stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        let token = std::fs::read_to_string(data_dir.join("token")).expect("token");
        let agent = Self {
            child,
            client: Client::new(base, token),
        };
        (agent, before)
    }

    /// SIGKILL the agent (its game servers are not told).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (the agent stops its servers first).
    pub fn terminate(mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run the `cap-agent` binary to completion with `args`.
pub async fn run_agent(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(agent_bin())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run cap-agent")
}
