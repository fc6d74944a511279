//! Two-factor sign-in with time-based one-time passwords (RFC 6238: HMAC-SHA-1, six
//! digits, 30-second steps, one step of clock skew either way) and single-use recovery
//! codes.
//!
//! Turning it on takes two calls: `setup` makes a secret (kept encrypted with the panel
//! key) and shows it as an `otpauth://` URI and a QR code; `enable` confirms it with the
//! password and a first code, and answers the ten recovery codes once (only their
//! SHA-256 is kept). From then on a correct password only earns a short-lived checkpoint
//! token; the session comes from [`complete_login`] with a code or a recovery code.
//! Each accepted code records its time step and no code of that step or an earlier one
//! is accepted again, so a code seen over someone's shoulder cannot be replayed. API keys
//! are not affected.
//!
//! Admins can require two-factor sign-in of every account with the admin role: such an
//! account without it can then sign in, but reach nothing beyond its own two-factor
//! setup and profile until it turns it on (see `http::access`).

use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use rand::RngCore;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use totp_rs::{Builder, Secret, Totp};

use super::identity::Credential;
use super::session::{self, IssuedSession};
use super::{password, policy, tokens, Actor, Client};
use crate::db::entities::{user, user_two_factor};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::audit::{self, Entry};
use crate::state::AppState;

/// The name authenticator apps show beside the account.
const ISSUER: &str = "Ctrl-Alt-Play";
/// Recovery codes made when two-factor sign-in is turned on.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters of recovery codes: lowercase letters and digits that cannot be misread.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A setup waiting for its first code: the secret as apps take it.
pub struct Setup {
    /// Base32, for typing into an app.
    pub secret: String,
    /// `otpauth://totp/...`, what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// Where the caller's two-factor sign-in stands.
pub struct Status {
    pub enabled: bool,
    pub recovery_codes_left: u64,
    /// The panel requires it of this account (an admin) and it is not on yet.
    pub setup_required: bool,
}

/// The second factor given at login or to turn two-factor sign-in off.
pub enum SecondFactor {
    /// Six digits from the authenticator app.
    Code(String),
    /// One of the recovery codes.
    RecoveryCode(String),
}

impl SecondFactor {
    fn kind(&self) -> &'static str {
        match self {
            SecondFactor::Code(_) => "code",
            SecondFactor::RecoveryCode(_) => "recovery_code",
        }
    }
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp> {
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        // Labels may not hold ':' (it separates issuer and account).
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| Error::internal(format!("cannot set up one-time passwords: {e}")))
}

fn stored_totp(state: &AppState, row: &user_two_factor::Model, account: &str) -> Result<Totp> {
    let base32 = state.secrets().decrypt(&row.secret)?;
    let secret = Secret::try_from_base32(&base32)
        .map_err(|e| Error::internal(format!("stored two-factor secret is unreadable: {e}")))?;
    totp(secret.as_ref().to_vec(), account)
}

fn sessions_only(actor: &Actor) -> Result<()> {
    match actor.credential {
        Credential::Session { .. } => Ok(()),
        Credential::ApiKey { .. } => Err(Error::Forbidden(
            "two-factor sign-in is managed from a browser session, not with an API key".into(),
        )),
    }
}

/// Counts a password or code attempt against the login limits.
fn count_attempt(state: &AppState, user_id: &str, client: &Client) -> Result<()> {
    let limits = state.limits();
    limits.check_client(&client.ip)?;
    limits.check_account(user_id, &client.ip)?;
    limits.check_account_ceiling(user_id)
}

async fn check_password(actor: &Actor, pass: &str) -> Result<()> {
    if password::verify(pass.to_owned(), actor.user.password_hash.clone()).await? {
        Ok(())
    } else {
        Err(Error::validation("password", "is not your password"))
    }
}

/// The caller's two-factor status.
pub async fn status(state: &AppState, actor: &Actor) -> Result<Status> {
    let db = state.db();
    Ok(Status {
        enabled: repo::two_factor::is_enabled(db, actor.id()).await?,
        recovery_codes_left: repo::two_factor::recovery_codes_left(db, actor.id()).await?,
        setup_required: policy::setup_required(db, &actor.user).await?,
    })
}

/// Starts setting up two-factor sign-in with a new secret (replacing an unconfirmed one).
pub async fn setup(state: &AppState, actor: &Actor) -> Result<Setup> {
    sessions_only(actor)?;
    if repo::two_factor::is_enabled(state.db(), actor.id()).await? {
        return Err(Error::Conflict(
            "two-factor sign-in is on already: turn it off first to use another app".into(),
        ));
    }
    let mut bytes = vec![0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    let totp = totp(bytes, &actor.user.username)?;
    let secret = totp.secret().to_base32();
    let otpauth_uri = totp
        .to_url()
        .map_err(|e| Error::internal(format!("cannot write the otpauth URI: {e}")))?;
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| Error::internal(format!("cannot draw the QR code: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    let txn = state.db().begin().await?;
    repo::two_factor::begin_setup(&txn, actor.id(), state.secrets().encrypt(&secret)?).await?;
    let id = actor.id();
    audit::record_by(&txn, actor, "auth.two_factor_setup", "user", id, json!({})).await?;
    txn.commit().await?;
    Ok(Setup {
        secret,
        otpauth_uri,
        qr_svg,
    })
}

/// Confirms the setup with the password and a current code: two-factor sign-in is on.
/// Answers the recovery codes, which are shown this once.
pub async fn enable(
    state: &AppState,
    actor: &Actor,
    pass: &str,
    code: &str,
) -> Result<Vec<String>> {
    sessions_only(actor)?;
    count_attempt(state, actor.id(), &actor.client)?;
    check_password(actor, pass).await?;
    let row = match repo::two_factor::find(state.db(), actor.id()).await? {
        Some(row) if row.enabled_at.is_none() => row,
        Some(_) => return Err(Error::Conflict("two-factor sign-in is on already".into())),
        None => {
            return Err(Error::Conflict(
                "start the setup first: there is no secret to confirm".into(),
            ))
        }
    };
    let totp = stored_totp(state, &row, &actor.user.username)?;
    let codes = recovery_codes();
    let txn = state.db().begin().await?;
    accept_code(&txn, &totp, actor.id(), code).await?;
    repo::two_factor::enable(&txn, actor.id()).await?;
    let hashes = codes.iter().map(|c| tokens::hash_secret(c)).collect();
    repo::two_factor::replace_recovery_codes(&txn, actor.id(), hashes).await?;
    let id = actor.id();
    audit::record_by(
        &txn,
        actor,
        "auth.two_factor_enabled",
        "user",
        id,
        json!({}),
    )
    .await?;
    txn.commit().await?;
    repo::epochs::access_changed();
    Ok(codes)
}

/// Turns two-factor sign-in off, with the password and a code or a recovery code.
pub async fn disable(
    state: &AppState,
    actor: &Actor,
    pass: &str,
    factor: &SecondFactor,
) -> Result<()> {
    sessions_only(actor)?;
    count_attempt(state, actor.id(), &actor.client)?;
    check_password(actor, pass).await?;
    let row = repo::two_factor::find(state.db(), actor.id())
        .await?
        .filter(|row| row.enabled_at.is_some())
        .ok_or_else(|| Error::Conflict("two-factor sign-in is not on".into()))?;
    let totp = stored_totp(state, &row, &actor.user.username)?;
    let txn = state.db().begin().await?;
    accept(&txn, &totp, actor.id(), factor).await?;
    repo::two_factor::remove(&txn, actor.id()).await?;
    let details = json!({ "with": factor.kind() });
    let id = actor.id();
    audit::record_by(&txn, actor, "auth.two_factor_disabled", "user", id, details).await?;
    txn.commit().await?;
    repo::epochs::access_changed();
    Ok(())
}

/// An admin turns another account's two-factor sign-in off (a lost phone).
pub async fn reset(state: &AppState, actor: &Actor, user_id: &str) -> Result<()> {
    let txn = state.db().begin().await?;
    let user = repo::users::find(&txn, user_id)
        .await?
        .ok_or_else(|| Error::not_found("user"))?;
    if !repo::two_factor::remove(&txn, &user.id).await? {
        return Err(Error::Conflict(format!(
            "{} has no two-factor sign-in to reset",
            user.username
        )));
    }
    let details = json!({ "username": user.username });
    audit::record_by(
        &txn,
        actor,
        "user.two_factor_reset",
        "user",
        &user.id,
        details,
    )
    .await?;
    txn.commit().await?;
    repo::epochs::access_changed();
    Ok(())
}

/// Whether an account has two-factor sign-in on (for admins looking at it).
pub async fn enabled_for(state: &AppState, user_id: &str) -> Result<bool> {
    if repo::users::find(state.db(), user_id).await?.is_none() {
        return Err(Error::not_found("user"));
    }
    repo::two_factor::is_enabled(state.db(), user_id).await
}

/// Requires (or stops requiring) two-factor sign-in of admins.
pub async fn set_required_for_admins(
    state: &AppState,
    actor: &Actor,
    required: bool,
) -> Result<()> {
    let txn = state.db().begin().await?;
    repo::settings::set(&txn, policy::REQUIRED_FOR_ADMINS, json!(required)).await?;
    let details = json!({ "requiredForAdmins": required });
    audit::record_by(
        &txn,
        actor,
        "settings.two_factor",
        "settings",
        "two_factor",
        details,
    )
    .await?;
    txn.commit().await?;
    repo::epochs::access_changed();
    Ok(())
}

/// The first step of a login with two-factor sign-in on: a token for the second step.
pub fn checkpoint(state: &AppState, user: &user::Model) -> Result<(String, DateTime<Utc>)> {
    tokens::issue_checkpoint(state.secrets().jwt_key(), &user.id)
}

/// The second step of a login: the checkpoint token and a code or recovery code.
pub async fn complete_login(
    state: &AppState,
    checkpoint: &str,
    factor: &SecondFactor,
    client: &Client,
) -> Result<IssuedSession> {
    state.limits().check_client(&client.ip)?;
    let user_id = tokens::verify_checkpoint(state.secrets().jwt_key(), checkpoint)?;
    count_attempt(state, &user_id, client)?;
    let log_in_again = || Error::Unauthorized("log in again".into());
    let user = match repo::users::find(state.db(), &user_id).await? {
        Some(user) if !user.disabled => user,
        _ => return Err(log_in_again()),
    };
    let row = repo::two_factor::find(state.db(), &user.id)
        .await?
        .filter(|row| row.enabled_at.is_some())
        .ok_or_else(log_in_again)?;
    let totp = stored_totp(state, &row, &user.username)?;
    let txn = state.db().begin().await?;
    if let Err(refused) = accept(&txn, &totp, &user.id, factor).await {
        drop(txn);
        let entry = Entry {
            user_id: Some(&user.id),
            action: "auth.login_failed",
            target_type: "user",
            target_id: Some(&user.id),
            details: json!({ "login": user.username, "secondFactor": factor.kind() }),
        };
        audit::record(state.db(), client, entry).await?;
        return Err(refused);
    }
    let details = json!({ "secondFactor": factor.kind() });
    session::sign_in(state, txn, user, details, client).await
}

async fn accept(
    db: &impl ConnectionTrait,
    totp: &Totp,
    user_id: &str,
    factor: &SecondFactor,
) -> Result<()> {
    match factor {
        SecondFactor::Code(code) => accept_code(db, totp, user_id, code).await,
        SecondFactor::RecoveryCode(code) => {
            let hash = tokens::hash_secret(&normalise_recovery_code(code));
            if repo::two_factor::spend_recovery_code(db, user_id, &hash).await? {
                Ok(())
            } else {
                Err(Error::validation(
                    "recoveryCode",
                    "is not one of your unused recovery codes",
                ))
            }
        }
    }
}

/// Accepts a code of the current step (or the one before or after) once.
async fn accept_code(
    db: &impl ConnectionTrait,
    totp: &Totp,
    user_id: &str,
    code: &str,
) -> Result<()> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(step) = totp.check_current(&code) else {
        return Err(Error::validation(
            "code",
            "is not the current code of your authenticator app",
        ));
    };
    let step = i64::try_from(step).map_err(|_| Error::internal("time step out of range"))?;
    if repo::two_factor::use_step(db, user_id, step).await? {
        Ok(())
    } else {
        Err(Error::validation(
            "code",
            "was used already: wait for the next one",
        ))
    }
}

/// Ten new recovery codes, `xxxxx-xxxxx`.
fn recovery_codes() -> Vec<String> {
    let mut rng = rand::thread_rng();
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let chars: String = (0..10)
                .map(|_| {
                    *RECOVERY_ALPHABET
                        .choose(&mut rng)
                        .expect("alphabet is not empty") as char
                })
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A recovery code as typed, in the form it was hashed in.
fn normalise_recovery_code(code: &str) -> String {
    let plain: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if plain.len() == 10 {
        format!("{}-{}", &plain[..5], &plain[5..])
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_typed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        assert_eq!(normalise_recovery_code(code), *code);
        assert_eq!(
            normalise_recovery_code(&code.to_uppercase().replace('-', " ")),
            *code
        );
    }

    #[test]
    fn codes_match_the_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 key "12345678901234567890", truncated to 6 digits.
        let totp = totp(b"12345678901234567890".to_vec(), "alice").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(totp.generate(2_000_000_000).to_string(), "279037");
    }
}
