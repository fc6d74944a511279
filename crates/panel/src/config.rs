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
    /// Login and refresh attempts allowed per minute, per client IP and per account.
    pub login_attempts_per_minute: u32,
    /// Requests per second allowed per client IP (bursts of 4×); 0 disables the limit.
    pub requests_per_second: u32,
    /// Seconds between discovery sweeps (health probes of every node).
    pub discovery_interval_secs: u64,
    /// Run `cap-agent` beside the panel and register it as the node `local`.
    pub local_agent: bool,
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
            discovery_interval_secs: 15,
            local_agent: false,
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
}

const ENV_KEYS: [&str; 5] = [
    "listen",
    "data_dir",
    "database_url",
    "log_level",
    "log_format",
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
}
