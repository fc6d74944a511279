//! HTTPS served by the panel itself: the operator's certificate files (`tls_cert`,
//! `tls_key`), or a self-signed certificate generated on the first start into
//! `<data_dir>/tls/` and kept, so its fingerprint stays the same across restarts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{Error as PemError, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::agents::tls::fingerprint_of;
use crate::config::Config;
use crate::error::{Error, Result};

/// A ready TLS server set-up and the fingerprint of the certificate it presents.
pub struct Tls {
    server_config: Arc<ServerConfig>,
    fingerprint: String,
}

impl Tls {
    /// The TLS set-up `config` asks for, or `None` for plain HTTP. Missing, unreadable or
    /// malformed files are start-up errors naming the file.
    pub fn from_config(config: &Config) -> Result<Option<Tls>> {
        let (cert, key) = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ if config.tls_self_signed => self_signed(config)?,
            _ => return Ok(None),
        };
        let chain = read_chain(&cert)?;
        let key_der = read_key(&key)?;
        let fingerprint = fingerprint_of(chain[0].as_ref());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Startup(format!("TLS set-up failed: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(|e| {
                Error::Startup(format!(
                    "{} and {} do not form a usable certificate and key: {e}",
                    cert.display(),
                    key.display()
                ))
            })?;
        // HTTP/1.1 only: the console WebSocket upgrades an HTTP/1.1 connection.
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Tls {
            server_config: Arc::new(server_config),
            fingerprint,
        }))
    }

    /// SHA-256 of the served certificate (`AB:CD:…`), for clients that pin it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server_config.clone()
    }
}

/// Where the self-signed certificate and key live.
pub fn self_signed_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tls")
}

/// The self-signed certificate and key files, generated when either is missing.
fn self_signed(config: &Config) -> Result<(PathBuf, PathBuf)> {
    let dir = self_signed_dir(&config.data_dir);
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let cannot = |what: &Path, e: std::io::Error| {
        Error::Startup(format!("cannot write {}: {e}", what.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| cannot(&dir, e))?;
    let generated = rcgen::generate_simple_self_signed(certificate_names(config))
        .map_err(|e| Error::Startup(format!("cannot generate a TLS certificate: {e}")))?;
    // The key first: a certificate on disk always has its key beside it.
    write_atomically(&key, generated.key_pair.serialize_pem().as_bytes())
        .map_err(|e| cannot(&key, e))?;
    write_atomically(&cert, generated.cert.pem().as_bytes()).map_err(|e| cannot(&cert, e))?;
    tracing::info!(
        "generated a self-signed TLS certificate: {}",
        cert.display()
    );
    Ok((cert, key))
}

/// Names the certificate is valid for: loopback, the listen address when it is a
/// specific one, and the host of the public URL.
fn certificate_names(config: &Config) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let listen = config.listen.ip();
    if !listen.is_unspecified() && !listen.is_loopback() {
        names.push(listen.to_string());
    }
    let public_host = config
        .public_url
        .as_deref()
        .and_then(|url| reqwest::Url::parse(url).ok())
        .and_then(|url| {
            url.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_owned())
        });
    names.extend(public_host.filter(|host| !names.contains(host)));
    names
}

/// Writes `bytes` to `path` through a temp file in the same directory that is renamed
/// into place, so a crash never leaves half a file; readable by the owner only.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(path.parent().unwrap_or(Path::new(".")))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map(drop).map_err(|e| e.error)
}

/// Largest certificate or key file read; real ones are a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    CERT.check(path)?;
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| CERT.pem_error(path, e))?;
    if chain.is_empty() {
        return Err(CERT.pem_error(path, PemError::NoItemsFound));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    KEY.check(path)?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| KEY.pem_error(path, e))
}

/// The setting a PEM file comes from and what it should hold, for clear errors.
struct PemSource {
    setting: &'static str,
    holds: &'static str,
}

const CERT: PemSource = PemSource {
    setting: "tls_cert",
    holds: "certificate",
};
const KEY: PemSource = PemSource {
    setting: "tls_key",
    holds: "private key",
};

impl PemSource {
    fn check(&self, path: &Path) -> Result<()> {
        match std::fs::metadata(path) {
            Err(e) => Err(self.error(path, format!("cannot be read: {e}"))),
            Ok(meta) if !meta.is_file() => Err(self.error(path, "is not a file")),
            Ok(meta) if meta.len() > MAX_PEM_BYTES => {
                Err(self.error(path, "is too large for a PEM file"))
            }
            Ok(_) => Ok(()),
        }
    }

    fn pem_error(&self, path: &Path, error: PemError) -> Error {
        match error {
            PemError::Io(e) => self.error(path, format!("cannot be read: {e}")),
            PemError::NoItemsFound => self.error(path, format!("holds no PEM {}", self.holds)),
            other => self.error(path, format!("is not valid PEM: {other}")),
        }
    }

    fn error(&self, path: &Path, problem: impl std::fmt::Display) -> Error {
        Error::Startup(format!("{} {} {problem}", self.setting, path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            tls_self_signed: true,
            public_url: Some("https://panel.example.com".into()),
            ..Config::default()
        }
    }

    #[test]
    fn self_signed_is_generated_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let first = Tls::from_config(&config).unwrap().unwrap();
        let second = Tls::from_config(&config).unwrap().unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        let key = self_signed_dir(dir.path()).join("key.pem");
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(key).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            first.server_config().alpn_protocols,
            vec![b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn names_cover_loopback_and_the_public_host() {
        let dir = tempfile::tempdir().unwrap();
        let names = certificate_names(&config_in(dir.path()));
        assert_eq!(
            names,
            ["localhost", "127.0.0.1", "::1", "panel.example.com"]
        );
    }

    #[test]
    fn plain_http_has_no_tls() {
        assert!(Tls::from_config(&Config::default()).unwrap().is_none());
    }
}
