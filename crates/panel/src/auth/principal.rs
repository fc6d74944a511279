//! Who is calling: resolved from the access-token cookie or an API key, on every request.

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum_extra::extract::CookieJar;
use subtle::ConstantTimeEq;

use super::cache::{self, Transport};
pub use super::identity::{Credential, Identity, KeyFamily, Principal};
use super::tokens;
use crate::db::entities::user;
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "cap_access";
pub const REFRESH_COOKIE: &str = "cap_refresh";

/// The token of an `Authorization: Bearer` header, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Resolves the caller of this panel's own API, if the request carries credentials: a
/// session or a `cap_…` key. Bad credentials are an error (401), absent ones are `None`.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>> {
    let principal = resolve_any(state, headers).await?;
    match principal.as_ref().map(|p| &p.credential) {
        Some(Credential::ApiKey { family, .. }) if *family != KeyFamily::Panel => {
            Err(Error::Unauthorized(format!(
                "this key opens only the Pterodactyl-compatible API under /api/client, not this one \
                 (keys of this API start with {})",
                KeyFamily::Panel.prefix()
            )))
        }
        _ => Ok(principal),
    }
}

/// The caller of the Pterodactyl-compatible client API: a `ptlc_…` key, nothing else.
pub async fn resolve_client_key(state: &AppState, headers: &HeaderMap) -> Result<Principal> {
    let wrong = || {
        Error::Unauthorized(format!(
            "send a client API key ({}…) as Authorization: Bearer",
            KeyFamily::PterodactylClient.prefix()
        ))
    };
    if bearer_token(headers).is_none() {
        return Err(wrong());
    }
    match resolve_any(state, headers).await? {
        Some(principal)
            if matches!(
                principal.credential,
                Credential::ApiKey {
                    family: KeyFamily::PterodactylClient,
                    ..
                }
            ) =>
        {
            Ok(principal)
        }
        _ => Err(wrong()),
    }
}

/// Any caller: known tokens are answered from the cache.
async fn resolve_any(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>> {
    let jar;
    let (transport, token) = match bearer_token(headers) {
        Some(bearer) => (Transport::Bearer, bearer),
        None => {
            jar = CookieJar::from_headers(headers);
            match jar.get(ACCESS_COOKIE) {
                Some(cookie) => (Transport::Cookie, cookie.value()),
                None => return Ok(None),
            }
        }
    };
    if let Some(principal) = state.principals().get(transport, token) {
        return Ok(Some(principal));
    }
    let epoch = cache::epoch();
    let (principal, expires_at) = match transport {
        Transport::Bearer => (from_api_key(state, token).await?, None),
        Transport::Cookie => from_access_token(state, token).await?,
    };
    state
        .principals()
        .put(transport, token, principal.clone(), epoch, expires_at);
    Ok(Some(principal))
}

fn rejected() -> Error {
    Error::Unauthorized("invalid or expired session".into())
}

async fn active_user(state: &AppState, id: &str) -> Result<user::Model> {
    match repo::users::find(state.db(), id).await? {
        Some(user) if !user.disabled => Ok(user),
        _ => Err(rejected()),
    }
}

async fn from_access_token(
    state: &AppState,
    token: &str,
) -> Result<(Principal, Option<chrono::DateTime<chrono::Utc>>)> {
    let claims = tokens::verify_access(state.secrets().jwt_key(), token)?;
    let user = active_user(state, &claims.sub).await?;
    if claims.iat < user.password_changed_at.timestamp()
        || !repo::sessions::family_is_live(state.db(), &claims.sid).await?
    {
        return Err(rejected());
    }
    let permissions = repo::permissions::effective(state.db(), &user.id, &user.role).await?;
    let two_factor_setup_required = super::policy::setup_required(state.db(), &user).await?;
    let principal = Principal::new(Identity {
        user,
        permissions,
        two_factor_setup_required,
        credential: Credential::Session {
            family_id: claims.sid,
        },
    });
    Ok((principal, chrono::DateTime::from_timestamp(claims.exp, 0)))
}

async fn from_api_key(state: &AppState, presented: &str) -> Result<Principal> {
    let (family, prefix) = KeyFamily::ALL
        .into_iter()
        .find_map(|family| {
            let rest = presented.strip_prefix(family.prefix())?;
            Some((family, rest.split_once('_')?.0))
        })
        .ok_or_else(|| Error::Unauthorized("malformed API key".into()))?;
    let key = repo::api_keys::find_by_prefix(state.db(), prefix)
        .await?
        .ok_or_else(rejected)?;
    // The family is part of the hashed secret too, so a key cannot change family.
    let matches: bool = tokens::hash_secret(presented)
        .as_bytes()
        .ct_eq(key.secret_hash.as_bytes())
        .into();
    if !matches {
        return Err(rejected());
    }
    key_principal(state, key, family).await
}

/// The caller behind a `ptlc_…` key that is known by its id (a console ticket names the
/// key it was made with): the key must still exist, be of that family and not expired.
pub async fn for_client_key_id(state: &AppState, key_id: &str) -> Result<Principal> {
    let key = repo::api_keys::find(state.db(), key_id)
        .await?
        .ok_or_else(rejected)?;
    key_principal(state, key, KeyFamily::PterodactylClient).await
}

/// The principal of a key whose secret (or ticket) was checked.
async fn key_principal(
    state: &AppState,
    key: crate::db::entities::api_key::Model,
    family: KeyFamily,
) -> Result<Principal> {
    if KeyFamily::from_stored(&key.family) != Some(family)
        || key.expires_at.is_some_and(|at| at < chrono::Utc::now())
    {
        return Err(rejected());
    }
    let user = active_user(state, &key.user_id).await?;
    let owner = repo::permissions::effective(state.db(), &user.id, &user.role).await?;
    let granted: BTreeSet<String> =
        serde_json::from_value(key.permissions.clone()).unwrap_or_default();
    if key
        .last_used_at
        .is_none_or(|at| chrono::Utc::now() - at > chrono::Duration::minutes(1))
    {
        repo::api_keys::touch(state.db(), &key.id).await?;
    }
    Ok(Principal::new(Identity {
        user,
        permissions: owner.intersection(&granted).cloned().collect(),
        credential: Credential::ApiKey { id: key.id, family },
        two_factor_setup_required: false,
    }))
}

/// Handlers take `Principal` as an argument; the access layer has put it in place.
impl FromRequestParts<AppState> for Principal {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Error::Unauthorized("authentication required".into()))
    }
}
