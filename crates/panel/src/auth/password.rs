//! Argon2id password hashing, run on the blocking pool so it never stalls the async
//! workers, and bounded: each hash needs about 19 MiB, so at most one per CPU core runs
//! at a time, in memory that is kept and reused (one buffer per core, never more).
//! Others wait in a short queue ([`QUEUE_PER_CORE`] per core, at most [`QUEUE_WAIT`]
//! each) and are then refused with 429 `RATE_LIMITED`, so a storm of logins or password
//! changes costs a fixed amount of memory instead of 19 MiB each.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Longest a request waits for a hashing slot.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Requests that may wait for a slot, per core; more are refused at once.
pub const QUEUE_PER_CORE: usize = 32;

struct Slots {
    /// Hashes running now: one per core.
    running: Semaphore,
    /// Requests running or waiting.
    admitted: Semaphore,
}

static SLOTS: LazyLock<Slots> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Slots {
        running: Semaphore::new(cores),
        admitted: Semaphore::new(cores * (QUEUE_PER_CORE + 1)),
    }
});

/// Hashing memory not in use right now; at most one buffer per running hash exists.
static MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn busy() -> Error {
    Error::RateLimited {
        retry_after_secs: 1,
    }
}

/// Runs `work` on the blocking pool once a hashing slot is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let admitted = SLOTS.admitted.try_acquire().map_err(|_| busy())?;
    let running = tokio::time::timeout(QUEUE_WAIT, SLOTS.running.acquire())
        .await
        .map_err(|_| busy())?
        .map_err(Error::internal)?;
    // The slot goes with the work: it stays taken until the hash is done even if the
    // request is abandoned meanwhile.
    tokio::task::spawn_blocking(move || {
        let result = work();
        drop((running, admitted));
        result
    })
    .await
    .map_err(Error::internal)
}

/// One Argon2 computation of `password` and raw `salt` into `out`, in pooled memory.
fn compute(argon: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    let pool = || MEMORY.lock().unwrap_or_else(|e| e.into_inner());
    let mut memory = pool().pop().unwrap_or_default();
    let blocks = argon.params().block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = argon.hash_password_into_with_memory(password, salt, out, &mut memory[..]);
    pool().push(memory);
    result
}

fn hash_now(password: &[u8]) -> Result<String> {
    let failed =
        |e: &dyn std::fmt::Display| Error::internal(format!("password hashing failed: {e}"));
    let argon = Argon2::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(|e| failed(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon, password, raw_salt, &mut out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` produces `stored` (a PHC string); anything malformed never does.
fn matches_now(password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let argon = (|| {
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        Some(Argon2::new(
            algorithm,
            version,
            Params::try_from(&parsed).ok()?,
        ))
    })();
    let (Some(argon), Some(salt), Some(expected)) = (argon, parsed.salt, parsed.hash) else {
        return false;
    };
    let mut raw_salt = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut raw_salt) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    // `Output` compares in constant time.
    compute(&argon, password, raw_salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Hashes a password into a PHC string (`$argon2id$…`).
pub async fn hash(password: String) -> Result<String> {
    bounded(move || hash_now(password.as_bytes())).await?
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub async fn verify(password: String, stored: String) -> Result<bool> {
    bounded(move || matches_now(password.as_bytes(), &stored)).await
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let stored = super::hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("correct horse".into(), stored.clone())
            .await
            .unwrap());
        assert!(!super::verify("wrong".into(), stored).await.unwrap());
        assert!(!super::verify("x".into(), "garbage".into()).await.unwrap());
    }

    /// Hashes made by the argon2 crate's own API (all stored hashes so far) still verify.
    #[tokio::test]
    async fn verifies_hashes_of_the_standard_encoder() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let stored = argon2::Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(super::verify("correct horse".into(), stored.clone())
            .await
            .unwrap());
        assert!(!super::verify("correct horsf".into(), stored).await.unwrap());
        let ours = super::hash("correct horse".into()).await.unwrap();
        let parsed = argon2::PasswordHash::new(&ours).unwrap();
        use argon2::PasswordVerifier;
        assert!(argon2::Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
    }
}
