//! `cap-agent join PANEL_URL JOIN_TOKEN`: register this agent with a panel
//! (the exchange is described in `cap_protocol::join`).
//!
//! With the data directory locked, it loads (or generates) the TLS identity the agent
//! serves with, sends the join token and certificate fingerprint to the panel, then stores
//! the node token it answers with in the token file and the port in the configuration file,
//! so that a plain `cap-agent --data-dir DIR` afterwards serves exactly what the panel
//! expects.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use cap_protocol::join::{JoinRequest, JoinResponse};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::config::{Config, JoinArgs};
use crate::error::{AgentError, AgentResult};
use crate::lock::DataDirLock;
use crate::{store, tls};

/// Largest panel answer read, bytes.
const ANSWER_LIMIT: usize = 64 * 1024;
/// Longest accepted node token.
const MAX_TOKEN_BYTES: usize = 4096;
/// Time allowed to connect to the panel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the whole exchange.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a successful join did (its `Display` is the report shown to the operator).
#[derive(Debug, Clone)]
pub struct Joined {
    /// The panel's URL as given.
    pub panel_url: String,
    /// The node's id in the panel.
    pub node_id: String,
    /// The node's name in the panel.
    pub node_name: String,
    /// The address the agent will listen on (the panel's port).
    pub listen: SocketAddr,
    /// Where the node token was written.
    pub token_file: PathBuf,
    /// The configuration file that now holds `listen`.
    pub config_file: PathBuf,
    /// The certificate fingerprint sent to the panel (`None` with `--insecure-http`).
    pub fingerprint: Option<String>,
    /// A warning for the operator (plain HTTP over a network).
    pub warning: Option<String>,
    /// The shell command that starts the agent with this configuration.
    pub start_command: String,
}

/// Join the panel at `args.panel_url` with `args.join_token` (see the module docs).
pub async fn join(config: &Config, args: &JoinArgs) -> AgentResult<Joined> {
    let endpoint = endpoint(&args.panel_url)?;
    let _lock = DataDirLock::acquire(&config.data_dir)?;
    let identity = tls::Identity::load_or_generate(&config.data_dir.join("tls"))?;
    let fingerprint = (!config.insecure_http).then(|| identity.fingerprint());
    let request = JoinRequest {
        join_token: args.join_token.trim().to_owned(),
        fingerprint: fingerprint.clone(),
    };
    let answer = call_panel(&endpoint, &request).await?;
    check_answer(&answer)?;
    let ip = if config.port_fallback {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        config.listen.ip()
    };
    let listen = SocketAddr::new(ip, answer.port);
    if let Some(parent) = config.token_file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // A fresh temporary file is created with mode 0600 and renamed into place.
    store::write_atomically(&config.token_file, answer.token.as_bytes())?;
    let config_file = write_config(config, listen)?;
    Ok(Joined {
        panel_url: args.panel_url.clone(),
        node_id: printable(&answer.node_id),
        node_name: printable(&answer.node_name),
        listen,
        token_file: absolute(&config.token_file),
        config_file,
        fingerprint,
        warning: plain_http_warning(&endpoint),
        start_command: start_command(config),
    })
}

impl fmt::Display for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Joined the panel at {} as node \"{}\" (id {}).",
            self.panel_url, self.node_name, self.node_id
        )?;
        writeln!(
            f,
            "  node token   written to {} (mode 0600)",
            self.token_file.display()
        )?;
        writeln!(
            f,
            "  listen       {} (saved in {})",
            self.listen,
            self.config_file.display()
        )?;
        match &self.fingerprint {
            Some(fingerprint) => writeln!(
                f,
                "  TLS          certificate fingerprint {fingerprint} (pinned by the panel)"
            )?,
            None => writeln!(
                f,
                "  TLS          off: serving plain HTTP (--insecure-http)"
            )?,
        }
        if let Some(warning) = &self.warning {
            writeln!(f, "warning: {warning}")?;
        }
        writeln!(f, "Start the agent with:")?;
        write!(f, "  {}", self.start_command)
    }
}

/// `{PANEL_URL}/api/agents/join`, keeping any path prefix of the panel URL.
fn endpoint(panel_url: &str) -> AgentResult<reqwest::Url> {
    let mut url = reqwest::Url::parse(panel_url.trim()).map_err(|e| {
        AgentError::Join(format!("PANEL_URL {panel_url:?} is not a valid URL: {e}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(AgentError::Join(format!(
            "PANEL_URL {panel_url:?} must be an http:// or https:// URL"
        )));
    }
    let path = format!("{}/api/agents/join", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The panel's envelope, read leniently: only what the join needs.
#[derive(Debug, Deserialize)]
struct PanelAnswer {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
}

/// POST the join request and return the panel's `data`, or its error for the operator.
async fn call_panel(endpoint: &reqwest::Url, request: &JoinRequest) -> AgentResult<JoinResponse> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("cap-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AgentError::Join(format!("cannot create an HTTP client: {e}")))?;
    let unreachable = |e: reqwest::Error| {
        AgentError::Join(format!(
            "cannot reach the panel at {endpoint}: {}",
            causes(&e)
        ))
    };
    let mut response = client
        .post(endpoint.clone())
        .json(request)
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > ANSWER_LIMIT {
            return Err(AgentError::Join(format!(
                "{endpoint} answered with more than {} KiB; is PANEL_URL the panel's address?",
                ANSWER_LIMIT / 1024
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let answer: PanelAnswer = serde_json::from_slice(&body).map_err(|_| {
        AgentError::Join(format!(
            "{endpoint} answered HTTP {status} without a panel response; is PANEL_URL the panel's address?"
        ))
    })?;
    match answer.data {
        Some(data) if answer.success && status.is_success() => serde_json::from_value(data)
            .map_err(|e| AgentError::Join(format!("the panel's answer is incomplete: {e}"))),
        _ => {
            let error = answer
                .error
                .map(|e| printable(&e))
                .unwrap_or_else(|| format!("HTTP {status}"));
            let hint = if status == StatusCode::UNAUTHORIZED {
                " (create a new join command in the panel: join tokens work once)"
            } else {
                ""
            };
            Err(AgentError::Join(format!(
                "the panel refused to join: {error}{hint}"
            )))
        }
    }
}

/// The token and port must be usable as they are stored.
fn check_answer(answer: &JoinResponse) -> AgentResult<()> {
    let token = &answer.token;
    if token.len() < 16
        || token.len() > MAX_TOKEN_BYTES
        || token.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AgentError::Join(
            "the panel sent an unusable node token (16 to 4096 printable characters expected)"
                .into(),
        ));
    }
    if answer.port == 0 {
        return Err(AgentError::Join("the panel sent port 0".into()));
    }
    Ok(())
}

/// Set `listen` (and the settings given only on the command line) in the configuration
/// file, keeping everything else in it; returns its path.
fn write_config(config: &Config, listen: SocketAddr) -> AgentResult<PathBuf> {
    let path = config.config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(AgentError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| AgentError::Config(format!("{}: {e}", path.display())))?;
    doc["listen"] = toml_edit::value(listen.to_string());
    if config.insecure_http {
        doc["insecure_http"] = toml_edit::value(true);
    } else {
        doc.remove("insecure_http");
    }
    let defaults = Config::new(&config.data_dir);
    if config.token_file != defaults.token_file {
        doc["token_file"] = toml_edit::value(absolute(&config.token_file).display().to_string());
    }
    if config.server_root != defaults.server_root {
        doc["server_root"] = toml_edit::value(absolute(&config.server_root).display().to_string());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    store::write_atomically(&path, doc.to_string().as_bytes())?;
    Ok(absolute(&path))
}

/// `cap-agent --data-dir DIR [--config FILE]`, with this executable's path, shell-quoted.
fn start_command(config: &Config) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "cap-agent".into());
    let mut words = vec![
        exe,
        "--data-dir".into(),
        absolute(&config.data_dir).display().to_string(),
    ];
    if let Some(file) = &config.config_file {
        words.push("--config".into());
        words.push(absolute(file).display().to_string());
    }
    words
        .iter()
        .map(|w| shlex::try_quote(w).map_or_else(|_| w.clone(), |q| q.into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A warning when the node token travelled over plain HTTP beyond this machine.
fn plain_http_warning(endpoint: &reqwest::Url) -> Option<String> {
    let host = endpoint
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    (endpoint.scheme() == "http" && !loopback).then(|| {
        "the panel URL uses plain HTTP, so the node token crossed the network unencrypted; \
         use https:// outside a trusted network"
            .to_owned()
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Text from the panel without control characters (it is printed to a terminal).
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// An error and its causes, `a: b: c`.
pub(crate) fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_prefixes_and_refuses_other_schemes() {
        assert_eq!(
            endpoint("https://panel.example.com").unwrap().as_str(),
            "https://panel.example.com/api/agents/join"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:8080/cap/?x=1").unwrap().as_str(),
            "http://127.0.0.1:8080/cap/api/agents/join"
        );
        for bad in ["ftp://x", "panel:8080", "not a url"] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
        assert!(plain_http_warning(&endpoint("http://localhost:1").unwrap()).is_none());
        assert!(plain_http_warning(&endpoint("http://10.0.0.2:1").unwrap()).is_some());
        assert!(plain_http_warning(&endpoint("https://10.0.0.2:1").unwrap()).is_none());
    }

    #[test]
    fn config_file_keeps_other_settings() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        std::fs::write(
            config.config_path(),
            "insecure_http = true\n# my settings\n[console]\nlines_per_second = 5\n",
        )
        .unwrap();
        config.token_file = dir.path().join("elsewhere/token");
        let listen: SocketAddr = "10.0.0.1:9000".parse().unwrap();
        write_config(&config, listen).unwrap();
        let text = std::fs::read_to_string(config.config_path()).unwrap();
        assert!(text.contains("# my settings"), "{text}");
        assert!(text.contains("lines_per_second = 5"), "{text}");
        assert!(text.contains("listen = \"10.0.0.1:9000\""), "{text}");
        assert!(!text.contains("insecure_http"), "{text}");
        assert!(text.contains("elsewhere/token"), "{text}");
    }
}
