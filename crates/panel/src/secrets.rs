//! The panel's own secrets: the JWT signing key and the key that encrypts secrets at rest
//! (node tokens, database passwords). Generated on first start, kept in
//! `<data-dir>/keys/` with owner-only permissions, never logged.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::error::{Error, Result};

const JWT_KEY_FILE: &str = "jwt.key";
const ENCRYPTION_KEY_FILE: &str = "encryption.key";
const CIPHERTEXT_PREFIX: &str = "v1:";
const NONCE_LEN: usize = 24;

/// The loaded keys. `Debug` is deliberately not derived.
#[derive(Clone)]
pub struct Secrets {
    jwt_key: Vec<u8>,
    cipher: XChaCha20Poly1305,
}

impl Secrets {
    /// Loads the keys from `data_dir/keys`, creating any that do not exist yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Secrets> {
        let dir = data_dir.join("keys");
        fs::create_dir_all(&dir)
            .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)))
            .map_err(|e| Error::Startup(format!("cannot create {}: {e}", dir.display())))?;
        let jwt_key = load_or_create_key(&dir.join(JWT_KEY_FILE), 64)?;
        let encryption_key = load_or_create_key(&dir.join(ENCRYPTION_KEY_FILE), 32)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&encryption_key)
            .map_err(|_| Error::Startup("encryption key has the wrong length".into()))?;
        Ok(Secrets { jwt_key, cipher })
    }

    /// The HMAC key for access tokens.
    pub fn jwt_key(&self) -> &[u8] {
        &self.jwt_key
    }

    /// Encrypts a secret for storage: `v1:` + base64(nonce ‖ ciphertext).
    pub fn encrypt(&self, plaintext: &str) -> Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| Error::internal("encryption failed"))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!("{CIPHERTEXT_PREFIX}{}", BASE64.encode(blob)))
    }

    /// Reverses [`Secrets::encrypt`]; fails on tampering or a different key.
    pub fn decrypt(&self, stored: &str) -> Result<String> {
        let undecryptable = || Error::internal("stored secret cannot be decrypted");
        let blob = stored
            .strip_prefix(CIPHERTEXT_PREFIX)
            .and_then(|b64| BASE64.decode(b64).ok())
            .filter(|blob| blob.len() > NONCE_LEN)
            .ok_or_else(undecryptable)?;
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let plaintext = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plaintext).map_err(|_| undecryptable())
    }
}

fn load_or_create_key(path: &Path, len: usize) -> Result<Vec<u8>> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::Startup(format!("cannot use key file {}: {e}", path.display()))
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            let key = BASE64.decode(text.trim()).map_err(|e| unreadable(&e))?;
            if key.len() != len {
                return Err(unreadable(&format!(
                    "expected {len} bytes, found {}",
                    key.len()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; len];
            OsRng.fill_bytes(&mut key);
            // create_new: two panels starting at once must not overwrite each other's key.
            let written = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .and_then(|mut file| {
                    file.write_all(BASE64.encode(&key).as_bytes())?;
                    file.sync_all()
                });
            match written {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create_key(path, len)
                }
                Err(e) => Err(unreadable(&e)),
            }
        }
        Err(e) => Err(unreadable(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_persist_and_encryption_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let first = Secrets::load_or_create(dir.path()).unwrap();
        let stored = first.encrypt("node-token").unwrap();
        assert!(!stored.contains("node-token"));
        let second = Secrets::load_or_create(dir.path()).unwrap();
        assert_eq!(first.jwt_key(), second.jwt_key());
        assert_eq!(second.decrypt(&stored).unwrap(), "node-token");
        let mode = fs::metadata(dir.path().join("keys/jwt.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn tampered_or_foreign_ciphertext_is_rejected() {
        let a = Secrets::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        let b = Secrets::load_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        let stored = a.encrypt("secret").unwrap();
        assert!(b.decrypt(&stored).is_err());
        let mut tampered = stored.clone();
        tampered.pop();
        tampered.push(if stored.ends_with('A') { 'B' } else { 'A' });
        assert!(a.decrypt(&tampered).is_err());
        assert!(a.decrypt("not-a-secret").is_err());
    }
}
