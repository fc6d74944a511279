//! The panel's REST API and console WebSocket, as a browser or script uses them.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::procs::Agent;
use crate::Result;

/// A logged-in admin session (the `cap_access` cookie lives 15 minutes).
#[derive(Clone)]
pub struct PanelClient {
    pub base: String,
    http: reqwest::Client,
    /// `cap_access=…`, ready for a `Cookie` header.
    pub cookie: String,
}

impl PanelClient {
    pub async fn login(base: &str, password: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let response = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "login": "admin", "password": password }))
            .send()
            .await?;
        let status = response.status();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().filter(|c| c.starts_with("cap_access=")))
            .map(str::to_owned);
        let Some(cookie) = cookie else {
            let body = response.text().await.unwrap_or_default();
            return Err(format!("POST /api/auth/login → {status}: {body}").into());
        };
        Ok(Self {
            base: base.to_owned(),
            http,
            cookie,
        })
    }

    /// Sends a request and returns `data` of a successful envelope; anything else is an
    /// error naming the request and the response.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() || value["success"] != true {
            let sent = body.map(|b| format!(" {b}")).unwrap_or_default();
            return Err(format!("{method} {path}{sent} → {status}: {text}").into());
        }
        Ok(value["data"].clone())
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Registers a running agent as a node with its own port range; returns the node id.
    pub async fn add_node(&self, name: &str, agent: &Agent, ports: (u16, u16)) -> Result<String> {
        let data = self
            .post(
                "/api/agents",
                json!({
                    "name": name, "address": "127.0.0.1", "port": agent.port(), "scheme": "http",
                    "memoryMb": 1_048_576, "diskMb": 1_048_576,
                    "portRangeStart": ports.0, "portRangeEnd": ports.1, "token": agent.token,
                }),
            )
            .await?;
        id_of(&data["node"])
    }

    /// The built-in "Test Game" template.
    pub async fn test_game_alt(&self) -> Result<String> {
        let data = self.get("/api/alts?name=test&perPage=100").await?;
        data["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|alt| alt["name"] == "Test Game")
            .map(id_of)
            .unwrap_or_else(|| {
                Err(format!("no \"Test Game\" template in GET /api/alts?name=test: {data}").into())
            })
    }

    /// Creates a test-game server that prints its done line at once; returns its id.
    pub async fn create_server(&self, name: &str, node: &str, alt: &str) -> Result<String> {
        let data = self
            .post(
                "/api/servers",
                json!({
                    "name": name, "nodeId": node, "altId": alt,
                    "limits": {"memoryMb": 512, "cpuPercent": 100, "diskMb": 1024},
                    "variables": {"STARTUP_DELAY_MS": "0"},
                }),
            )
            .await?;
        id_of(&data)
    }

    pub async fn power(&self, server: &str, action: &str) -> Result<Value> {
        self.post(
            &format!("/api/servers/{server}/power"),
            json!({ "action": action }),
        )
        .await
    }

    pub async fn command(&self, server: &str, command: &str) -> Result<()> {
        self.post(
            &format!("/api/servers/{server}/command"),
            json!({ "command": command }),
        )
        .await
        .map(drop)
    }

    /// Every server as `(id, state)`, page by page.
    pub async fn all_server_states(&self) -> Result<Vec<(String, String)>> {
        let mut states = Vec::new();
        for page in 1.. {
            let data = self
                .get(&format!("/api/servers?perPage=100&page={page}"))
                .await?;
            let items = data["items"].as_array().cloned().unwrap_or_default();
            for item in &items {
                states.push((
                    id_of(item)?,
                    item["state"].as_str().unwrap_or("").to_owned(),
                ));
            }
            let total = data["total"].as_u64().unwrap_or(0) as usize;
            if items.is_empty() || states.len() >= total {
                break;
            }
        }
        Ok(states)
    }

    /// Waits until `ids` all show `state` in the server list.
    pub async fn wait_all(&self, ids: &[String], state: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let states = self.all_server_states().await?;
            let pending = ids
                .iter()
                .filter(|id| !states.iter().any(|(i, s)| i == *id && s == state))
                .count();
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{pending} of {} servers not {state} after {timeout:?}",
                    ids.len()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Opens the console WebSocket of a server and reads past the opening history.
    pub async fn console(&self, server: &str) -> Result<Console> {
        let url = format!(
            "{}/api/servers/{server}/console",
            self.base.replacen("http", "ws", 1)
        );
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("cookie", self.cookie.parse()?);
        Console::connect(request).await
    }
}

fn id_of(value: &Value) -> Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no id in {value}").into())
}

/// One frame of the panel console or the agent event stream (same shape where it matters).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub server_id: Option<String>,
}

/// A console (or agent event) WebSocket.
pub struct Console {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl From<WebSocketStream<MaybeTlsStream<TcpStream>>> for Console {
    fn from(socket: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self { socket }
    }
}

impl Console {
    /// Closes the socket (a close frame, then the connection).
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }

    pub async fn connect(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Result<Self> {
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(Self { socket })
    }

    /// The next frame; `None` when the socket closed or nothing came within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<Option<Frame>> {
        loop {
            match tokio::time::timeout(timeout, self.socket.next()).await {
                Err(_) | Ok(None) => return Ok(None),
                Ok(Some(message)) => match message? {
                    Message::Text(text) => return Ok(Some(serde_json::from_str(&text)?)),
                    Message::Close(_) => return Ok(None),
                    _ => continue,
                },
            }
        }
    }

    /// Reads until a `state` frame with `state` (for `server`, on an agent stream).
    pub async fn wait_state(&mut self, state: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await? {
                Some(frame) if frame.kind == "state" && frame.state.as_deref() == Some(state) => {
                    return Ok(())
                }
                Some(_) => {}
                None => {
                    return Err(
                        format!("console did not show state {state} within {timeout:?}").into(),
                    )
                }
            }
        }
    }
}

/// Wall-clock time in ns, the clock the test game stamps its flood lines with.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `flood <i> <ns>` → the stamp, for numbered flood lines only.
pub fn flood_stamp(line: &str) -> Option<u128> {
    let mut fields = line.strip_prefix("flood ")?.split(' ');
    fields.next()?.parse::<u64>().ok()?;
    fields.next()?.parse().ok()
}
