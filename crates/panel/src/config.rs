//! Panel configuration: defaults < TOML file < `CAP_*` environment < command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Everything the panel needs to start. See `cap-panel --help` for each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to serve HTTP on. When the port is taken, a free one nearby is used.
    pub listen: SocketAddr,
    /// Where the SQLite database, secrets and other state live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `panel.db` in the data directory.
    pub database_url: Option<String>,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter directive.
    pub log_level: String,
    pub log_format: LogFormat,
    /// Origins (e.g. `https://admin.example.com`) allowed to call the API cross-origin.
    /// Empty: same-origin only.
    pub cors_origins: Vec<String>,
    /// Password attempts allowed per minute per account and client address (5x per
    /// account over all addresses, 3x per address; see `limits`).
    pub login_attempts_per_minute: u32,
    /// Requests per second allowed per client IP (bursts of 4×); 0 disables the limit.
    pub requests_per_second: u32,
    /// Console WebSockets one user may have open at once.
    pub console_sockets_per_user: usize,
    /// Console WebSockets one client address may have open at once.
    pub console_sockets_per_ip: usize,
    /// Seconds between discovery sweeps (health probes of every node).
    pub discovery_interval_secs: u64,
    /// Run `cap-agent` beside the panel and register it as the node `local`.
    pub local_agent: bool,
    /// PEM certificate chain to serve HTTPS with (needs `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate kept in `<data_dir>/tls/`.
    pub tls_self_signed: bool,
    /// The address browsers use, e.g. `https://panel.example.com` behind a TLS proxy.
    pub public_url: Option<String>,
    /// A secret a Prometheus scraper sends as `Authorization: Bearer` to read `/metrics`
    /// (at least 16 characters); without it only administrators can.
    pub metrics_token: Option<String>,
    /// Largest file upload streamed through the panel, in bytes (other request bodies
    /// are limited to 1 MiB). The node applies its own limit and the server's disk quota.
    pub max_upload_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

pub const DEFAULT_PORT: u16 = 8080;
/// A shorter metrics token could be guessed.
const MIN_METRICS_TOKEN_CHARS: usize = 16;

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            log_level: "info".to_owned(),
            log_format: LogFormat::Text,
            cors_origins: Vec::new(),
            login_attempts_per_minute: 10,
            requests_per_second: 100,
            console_sockets_per_user: 20,
            console_sockets_per_ip: 50,
            discovery_interval_secs: 15,
            local_agent: false,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            public_url: None,
            metrics_token: None,
            max_upload_bytes: 4 * 1024 * 1024 * 1024,
        }
    }
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_agent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_self_signed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
}

/// Every setting can come from a `CAP_<NAME>` variable; other `CAP_*` variables (the
/// agent's, for instance) are ignored rather than rejected.
const ENV_KEYS: [&str; 18] = [
    "listen",
    "data_dir",
    "database_url",
    "log_level",
    "log_format",
    "cors_origins",
    "login_attempts_per_minute",
    "requests_per_second",
    "console_sockets_per_user",
    "console_sockets_per_ip",
    "discovery_interval_secs",
    "local_agent",
    "tls_cert",
    "tls_key",
    "tls_self_signed",
    "public_url",
    "metrics_token",
    "max_upload_bytes",
];

impl Config {
    /// Resolves the layers. `file` is read only when given (flag or `CAP_CONFIG`).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(Error::Startup(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(Env::prefixed("CAP_").only(&ENV_KEYS))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| Error::Startup(format!("invalid configuration: {e}")))
    }

    /// Refuses settings that contradict each other or cannot work, before anything starts.
    pub fn validate(&self) -> Result<()> {
        let both = "HTTPS needs the certificate (tls_cert) and its private key (tls_key)";
        let conflict = match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(_), None, _) => Some(format!("tls_cert is set without tls_key: {both}")),
            (None, Some(_), _) => Some(format!("tls_key is set without tls_cert: {both}")),
            (Some(_), Some(_), true) => {
                Some("tls_self_signed cannot be combined with tls_cert/tls_key: choose one".into())
            }
            _ => None,
        };
        let short_token = self
            .metrics_token
            .as_deref()
            .is_some_and(|token| token.chars().count() < MIN_METRICS_TOKEN_CHARS);
        let conflict = conflict.or_else(|| {
            short_token.then(|| {
                format!("metrics_token must be at least {MIN_METRICS_TOKEN_CHARS} characters long")
            })
        });
        match conflict {
            Some(message) => Err(Error::Startup(message)),
            None => self.public_origin().map(drop),
        }
    }

    /// Whether the panel itself terminates TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }

    /// Whether browsers reach the panel over HTTPS: served here, or by a proxy in front
    /// at an `https://` public URL. Secure cookies and HSTS follow from this.
    pub fn browsers_use_https(&self) -> bool {
        self.serves_tls()
            || matches!(self.public_origin(), Ok(Some(origin)) if origin.starts_with("https://"))
    }

    /// `public_url` reduced to its origin (`https://panel.example.com`), if set.
    pub fn public_origin(&self) -> Result<Option<String>> {
        let Some(text) = self.public_url.as_deref() else {
            return Ok(None);
        };
        let invalid = |why: &str| {
            Error::Startup(format!(
                "public_url {text:?} {why}: give the address browsers use, \
                 like https://panel.example.com"
            ))
        };
        let url = reqwest::Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(invalid("is not an http:// or https:// address"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "has a path, query or fragment; the panel is served at /",
            ));
        }
        Ok(Some(url.origin().ascii_serialization()))
    }

    /// The database URL in effect: the configured one or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("panel.db").display()),
        }
    }
}

#[cfg(test)]
// figment's test jail returns its own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "panel.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\nlog_level = \"debug\"",
            )?;
            jail.set_env("CAP_DATA_DIR", "/from/env");
            jail.set_env("CAP_AGENT_TOKEN", "ignored: belongs to the agent");
            let overrides = Overrides {
                log_level: Some("warn".into()),
                ..Overrides::default()
            };
            let config = Config::load(Some(Path::new("panel.toml")), &overrides)
                .map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
            assert_eq!(config.data_dir, PathBuf::from("/from/env"));
            assert_eq!(config.log_level, "warn");
            assert_eq!(config.log_format, LogFormat::Text);
            Ok(())
        });
    }

    #[test]
    fn prefixed_database_url_wins_over_plain() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "postgres://plain");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url(), "postgres://plain");
            jail.set_env("CAP_DATABASE_URL", "postgres://prefixed");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.database_url(), "postgres://prefixed");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("panel.toml", "lisen = \"127.0.0.1:1\"")?;
            let err = Config::load(Some(Path::new("panel.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");
            let err = Config::load(Some(Path::new("missing.toml")), &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("does not exist"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn tls_and_public_url_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CAP_TLS_SELF_SIGNED", "true");
            jail.set_env("CAP_PUBLIC_URL", "https://panel.example.com");
            jail.set_env("CAP_LOCAL_AGENT", "true");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert!(config.tls_self_signed && config.local_agent);
            assert_eq!(
                config.public_origin().unwrap().as_deref(),
                Some("https://panel.example.com")
            );
            Ok(())
        });
    }

    #[test]
    fn https_follows_tls_or_an_https_public_url() {
        let plain = Config::default();
        assert!(!plain.browsers_use_https() && !plain.serves_tls());
        let proxied = Config {
            public_url: Some("https://panel.example.com:8443/".into()),
            ..Config::default()
        };
        assert!(proxied.browsers_use_https() && !proxied.serves_tls());
        assert_eq!(
            proxied.public_origin().unwrap().as_deref(),
            Some("https://panel.example.com:8443")
        );
        let http_proxy = Config {
            public_url: Some("http://panel.lan".into()),
            ..Config::default()
        };
        assert!(!http_proxy.browsers_use_https());
        let served = Config {
            tls_self_signed: true,
            ..Config::default()
        };
        assert!(served.browsers_use_https() && served.serves_tls());
    }

    #[test]
    fn contradictory_tls_settings_are_refused() {
        let cert_only = Config {
            tls_cert: Some("cert.pem".into()),
            ..Config::default()
        };
        let err = cert_only.validate().unwrap_err().to_string();
        assert!(err.contains("without tls_key"), "{err}");
        let everything = Config {
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            tls_self_signed: true,
            ..Config::default()
        };
        let err = everything.validate().unwrap_err().to_string();
        assert!(err.contains("choose one"), "{err}");
        for url in [
            "panel.example.com",
            "ftp://x",
            "https://x/sub",
            "https://x/?a=1",
        ] {
            let config = Config {
                public_url: Some(url.into()),
                ..Config::default()
            };
            assert!(config.validate().is_err(), "{url}");
        }
        assert!(Config::default().validate().is_ok());
        let short_token = Config {
            metrics_token: Some("short".into()),
            ..Config::default()
        };
        let err = short_token.validate().unwrap_err().to_string();
        assert!(err.contains("at least 16 characters"), "{err}");
    }
}
