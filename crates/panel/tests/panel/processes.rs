//! Real binaries for end-to-end tests: `cap-panel` and `cap-agent` as child processes,
//! their announced addresses parsed from their output.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::header::SET_COOKIE;
use serde_json::{json, Value};

/// A binary of this workspace, built on demand: cargo only provides `CARGO_BIN_EXE_*`
/// for this package's own binaries.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "cap-agent", "-p", "cap-testgame"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building {name} failed");
    }
    path
}

/// Lines a child prints on stdout and stderr, as they come.
struct Output {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Output {
    fn capture(child: &mut Child) -> Output {
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        for stream in [
            Box::new(stdout) as Box<dyn std::io::Read + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Output {
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle`; returns the text after it.
    fn after(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line
                .split_once(needle)
                .map(|(_, rest)| rest.trim().to_owned())
                .unwrap_or_default();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "no line with {needle:?} within {timeout:?}; saw: {:#?}",
                    self.seen
                )
            });
            self.seen.push(line.clone());
            if let Some((_, rest)) = line.split_once(needle) {
                return rest.trim().to_owned();
            }
        }
    }
}

fn kill(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// A running `cap-panel`.
pub struct Panel {
    child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

impl Panel {
    /// Starts a panel on `data_dir`; the admin password is returned on first start.
    pub fn start(data_dir: &Path) -> (Panel, Option<String>) {
        Self::start_with(data_dir, &[])
    }

    /// Like [`Panel::start`], with extra command-line arguments.
    pub fn start_with(data_dir: &Path, args: &[&str]) -> (Panel, Option<String>) {
        let first_start = !data_dir.join("panel.db").exists();
        let mut child = panel_command(data_dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cap-panel");
        let mut output = Output::capture(&mut child);
        let url = output
            .after("listening on ", Duration::from_secs(30))
            .split_whitespace()
            .next()
            .expect("url")
            .to_owned();
        // The banner (stdout) and the log (stderr) arrive in either order.
        let password = first_start.then(|| output.after("password: ", Duration::from_secs(10)));
        std::thread::spawn(move || output.lines.iter().for_each(drop));
        (
            Panel {
                child,
                url,
                data_dir: data_dir.to_owned(),
            },
            password,
        )
    }

    pub fn kill_hard(&mut self) {
        kill(&mut self.child, "-KILL");
    }

    /// Stops the panel as an operator would (SIGTERM); how it exited.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for cap-panel")
    }
}

/// `cap-panel` on `data_dir` (SQLite there), listening on a free port, quick discovery.
pub fn panel_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cap-panel"));
    command
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("CAP_REQUESTS_PER_SECOND", "0")
        .env("CAP_DISCOVERY_INTERVAL_SECS", "1")
        .env("CAP_LOGIN_ATTEMPTS_PER_MINUTE", "1000")
        .env_remove("CAP_DATABASE_URL")
        .env_remove("DATABASE_URL");
    command
}

impl Drop for Panel {
    fn drop(&mut self) {
        kill(&mut self.child, "-TERM");
    }
}

/// A running `cap-agent` (plain HTTP on loopback).
pub struct Agent {
    child: Child,
    pub port: u16,
    pub token: String,
    pub data_dir: PathBuf,
}

impl Agent {
    /// Starts an agent; `port` 0 picks a free one, a given port is reused after a restart.
    pub fn start(data_dir: &Path, port: u16) -> Agent {
        let mut child = Command::new(workspace_bin("cap-agent"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--insecure-http",
                // One unprivileged user for every server, so the tests leave no user per
                // server behind on the machine.
                "--shared-user",
                "cap-test",
                "--data-dir",
            ])
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cap-agent");
        let mut output = Output::capture(&mut child);
        let addr = output.after("listening on http://", Duration::from_secs(30));
        let port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .expect("agent port");
        std::thread::spawn(move || output.lines.iter().for_each(drop));
        let token = std::fs::read_to_string(data_dir.join("token"))
            .expect("agent token file")
            .trim()
            .to_owned();
        Agent {
            child,
            port,
            token,
            data_dir: data_dir.to_owned(),
        }
    }

    pub fn kill_hard(&mut self) {
        kill(&mut self.child, "-KILL");
    }

    /// What the agent itself says about a server (bypassing the panel).
    pub async fn server(&self, id: &str) -> Value {
        let base = format!("http://127.0.0.1:{}", self.port);
        agent_server(&reqwest::Client::new(), &base, &self.token, id).await
    }
}

/// What the agent at `base` says about a server, asked with its node token.
pub async fn agent_server(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let body: Value = client
        .get(format!("{base}/api/servers/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("agent answers")
        .json()
        .await
        .expect("agent JSON");
    body["data"].clone()
}

impl Drop for Agent {
    fn drop(&mut self) {
        kill(&mut self.child, "-TERM");
    }
}

/// A logged-in API client with its access cookie (for WebSockets too).
pub struct Session {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

impl Session {
    pub async fn login(base: &str, login: &str, password: &str) -> Session {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let response = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), 200, "login as {login}");
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("cap_access="))
            .and_then(|v| v.split(';').next())
            .expect("access cookie")
            .to_owned();
        Session {
            http,
            base: base.to_owned(),
            cookie,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Polls `path` until `check` accepts the body's `data`, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get(path).await;
            if status == 200 && check(&body["data"]) {
                return body["data"].clone();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
