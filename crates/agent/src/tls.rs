//! The agent's self-signed TLS certificate: generated once into `<data-dir>/tls`, pinned by
//! the panel through its SHA-256 fingerprint.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::{AgentError, AgentResult};

/// The loaded certificate and key.
pub struct Identity {
    /// DER certificate.
    pub cert: CertificateDer<'static>,
    /// Private key.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Load `cert.pem`/`key.pem` from `dir`, generating them first if absent.
    pub fn load_or_generate(dir: &Path) -> AgentResult<Self> {
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        if !cert_path.exists() || !key_path.exists() {
            std::fs::create_dir_all(dir)?;
            let hostname = nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into());
            let names = vec![
                hostname,
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
            ];
            let generated = rcgen::generate_simple_self_signed(names)
                .map_err(|e| AgentError::Tls(format!("cannot generate certificate: {e}")))?;
            write_private(&key_path, generated.key_pair.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, generated.cert.pem())?;
            tracing::info!(path = %cert_path.display(), "generated self-signed TLS certificate");
        }
        let cert = CertificateDer::from_pem_file(&cert_path)
            .map_err(|e| AgentError::Tls(format!("{}: {e}", cert_path.display())))?;
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| AgentError::Tls(format!("{}: {e}", key_path.display())))?;
        Ok(Self { cert, key })
    }

    /// SHA-256 of the DER certificate, uppercase hex pairs joined by `:`.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.cert)
    }

    /// A rustls server configuration (ring provider, TLS 1.2 and 1.3).
    pub fn server_config(&self) -> AgentResult<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| AgentError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())
            .map_err(|e| AgentError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// SHA-256 fingerprint of a DER certificate (`AB:CD:…`).
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Create a file readable only by the owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> AgentResult<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load_or_generate(dir.path()).unwrap();
        let second = Identity::load_or_generate(dir.path()).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.fingerprint().len(), 32 * 3 - 1);
        first.server_config().unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
}
