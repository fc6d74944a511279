//! Access tokens (short-lived HS256 JWTs) and opaque secrets (refresh tokens, API keys),
//! of which only SHA-256 hashes are stored.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::distributions::{Alphanumeric, DistString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How long an access token is accepted.
pub const ACCESS_TTL: Duration = Duration::minutes(15);
/// How long a refresh token (a session) lasts without being used.
pub const REFRESH_TTL: Duration = Duration::days(30);

/// `claims` signed with HS256.
fn sign(key: &[u8], claims: &impl Serialize) -> Result<String> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .map_err(|e| Error::internal(format!("cannot sign token: {e}")))
}

/// The claims of a token signed by us (HS256 only: `none` and others are refused), not
/// expired, with `sub` and `iat`.
fn verified<T: DeserializeOwned>(key: &[u8], token: &str) -> Option<T> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub", "iat"]);
    decode::<T>(token, &DecodingKey::from_secret(key), &validation)
        .ok()
        .map(|data| data.claims)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session family id: logout or detected refresh reuse revokes it.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

pub fn issue_access(key: &[u8], user_id: &str, family_id: &str) -> Result<String> {
    let now = Utc::now();
    let claims = AccessClaims {
        sub: user_id.to_owned(),
        sid: family_id.to_owned(),
        iat: now.timestamp(),
        exp: (now + ACCESS_TTL).timestamp(),
    };
    sign(key, &claims)
}

/// Verifies signature, algorithm and expiry.
pub fn verify_access(key: &[u8], token: &str) -> Result<AccessClaims> {
    verified(key, token).ok_or_else(|| Error::Unauthorized("invalid or expired session".into()))
}

/// How long the step between a correct password and the second factor may take.
pub const CHECKPOINT_TTL: Duration = Duration::minutes(5);
/// The `purpose` of a login checkpoint token.
const CHECKPOINT_PURPOSE: &str = "two_factor_login";

/// What a login checkpoint token says: this user gave the right password at `iat` and
/// must now give a second factor. It carries no session, so it is no access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckpointClaims {
    pub sub: String,
    pub purpose: String,
    pub iat: i64,
    pub exp: i64,
}

/// A checkpoint token for `user_id` and when it expires.
pub fn issue_checkpoint(key: &[u8], user_id: &str) -> Result<(String, DateTime<Utc>)> {
    let now = Utc::now();
    let expires_at = now + CHECKPOINT_TTL;
    let claims = CheckpointClaims {
        sub: user_id.to_owned(),
        purpose: CHECKPOINT_PURPOSE.to_owned(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    Ok((sign(key, &claims)?, expires_at))
}

/// The user a checkpoint token was issued to, if it is one, signed by us and not expired.
pub fn verify_checkpoint(key: &[u8], token: &str) -> Result<String> {
    verified::<CheckpointClaims>(key, token)
        .filter(|claims| claims.purpose == CHECKPOINT_PURPOSE)
        .map(|claims| claims.sub)
        .ok_or_else(|| {
            Error::Unauthorized("the sign-in step expired or is not valid: log in again".into())
        })
}

/// How long a download link works.
pub const DOWNLOAD_TTL: Duration = Duration::minutes(15);
/// The `purpose` of a download-link token.
const DOWNLOAD_PURPOSE: &str = "file_download";

/// What a download link says: user `sub` may download `path` of `server` once (`jti`
/// names this link) until `exp`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DownloadClaims {
    pub sub: String,
    pub server: String,
    pub path: String,
    pub jti: String,
    pub purpose: String,
    pub iat: i64,
    pub exp: i64,
}

/// A download-link token for one file of one server.
pub fn issue_download(key: &[u8], user_id: &str, server_id: &str, path: &str) -> Result<String> {
    let now = Utc::now();
    let claims = DownloadClaims {
        sub: user_id.to_owned(),
        server: server_id.to_owned(),
        path: path.to_owned(),
        jti: random_secret(24),
        purpose: DOWNLOAD_PURPOSE.to_owned(),
        iat: now.timestamp(),
        exp: (now + DOWNLOAD_TTL).timestamp(),
    };
    sign(key, &claims)
}

/// A download link's claims, if it is one, signed by us and not expired.
pub fn verify_download(key: &[u8], token: &str) -> Result<DownloadClaims> {
    verified::<DownloadClaims>(key, token)
        .filter(|claims| claims.purpose == DOWNLOAD_PURPOSE)
        .ok_or_else(|| {
            Error::Unauthorized(
                "this download link expired or is not valid: ask for a new one".into(),
            )
        })
}

/// How long a console ticket of the Pterodactyl-compatible API works (as Wings' tokens).
pub const CONSOLE_TTL: Duration = Duration::minutes(10);
/// The `purpose` of a console ticket.
const CONSOLE_PURPOSE: &str = "console";

/// What a console ticket says: the holder of client key `key` (user `sub`) may open the
/// console of `server` until `exp`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsoleClaims {
    pub sub: String,
    pub key: String,
    pub server: String,
    pub purpose: String,
    pub iat: i64,
    pub exp: i64,
}

/// A console ticket valid for `ttl`.
pub fn issue_console(
    key: &[u8],
    (user_id, key_id): (&str, &str),
    server_id: &str,
    ttl: Duration,
) -> Result<String> {
    let now = Utc::now();
    let claims = ConsoleClaims {
        sub: user_id.to_owned(),
        key: key_id.to_owned(),
        server: server_id.to_owned(),
        purpose: CONSOLE_PURPOSE.to_owned(),
        iat: now.timestamp(),
        exp: (now + ttl).timestamp(),
    };
    sign(key, &claims)
}

/// A console ticket's claims, if it is one, signed by us and not expired.
pub fn verify_console(key: &[u8], token: &str) -> Result<ConsoleClaims> {
    verified::<ConsoleClaims>(key, token)
        .filter(|claims| claims.purpose == CONSOLE_PURPOSE)
        .ok_or_else(|| Error::Unauthorized("the console token expired or is not valid".into()))
}

/// A random secret of `len` alphanumeric characters.
pub fn random_secret(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// Hex SHA-256, for storing and looking up high-entropy secrets.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_and_rejects_tampering() {
        let token = issue_access(KEY, "user-1", "family-1").unwrap();
        let claims = verify_access(KEY, &token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str()),
            ("user-1", "family-1")
        );
        assert!(verify_access(b"another key entirely, same length", &token).is_err());

        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["sub"] = "admin-id".into();
        let edited = URL_SAFE_NO_PAD.encode(payload.to_string());
        assert!(verify_access(KEY, &format!("{}.{edited}.{}", parts[0], parts[2])).is_err());

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(verify_access(KEY, &format!("{none_header}.{}.", parts[1])).is_err());
    }

    #[test]
    fn checkpoint_and_access_tokens_are_not_interchangeable() {
        let (checkpoint, _) = issue_checkpoint(KEY, "user-1").unwrap();
        assert_eq!(verify_checkpoint(KEY, &checkpoint).unwrap(), "user-1");
        assert!(verify_access(KEY, &checkpoint).is_err());
        let access = issue_access(KEY, "user-1", "family-1").unwrap();
        assert!(verify_checkpoint(KEY, &access).is_err());
        assert!(verify_checkpoint(b"another key entirely, same length", &checkpoint).is_err());
    }

    #[test]
    fn download_links_are_no_other_token() {
        let link = issue_download(KEY, "user-1", "server-1", "world/level.dat").unwrap();
        let claims = verify_download(KEY, &link).unwrap();
        assert_eq!(
            (claims.server.as_str(), claims.path.as_str()),
            ("server-1", "world/level.dat")
        );
        assert!(verify_access(KEY, &link).is_err());
        assert!(verify_checkpoint(KEY, &link).is_err());
        let (checkpoint, _) = issue_checkpoint(KEY, "user-1").unwrap();
        assert!(verify_download(KEY, &checkpoint).is_err());
        assert!(verify_download(b"another key entirely, same length", &link).is_err());
    }

    #[test]
    fn expired_checkpoints_are_rejected() {
        let claims = CheckpointClaims {
            sub: "u".into(),
            purpose: CHECKPOINT_PURPOSE.into(),
            iat: 0,
            exp: Utc::now().timestamp() - 1,
        };
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(KEY)).unwrap();
        assert!(verify_checkpoint(KEY, &token).is_err());
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let claims = AccessClaims {
            sub: "u".into(),
            sid: "f".into(),
            iat: 0,
            exp: Utc::now().timestamp() - 1,
        };
        let token = encode(&Header::default(), &claims, &EncodingKey::from_secret(KEY)).unwrap();
        assert!(verify_access(KEY, &token).is_err());
    }
}
