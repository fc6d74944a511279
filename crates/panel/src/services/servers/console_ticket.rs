//! Console tickets: the signed tokens that open a server's console over the
//! Pterodactyl-compatible websocket. A ticket names the client key it was made with; when
//! it is presented the key must still be valid, and what its holder may do on the server
//! is decided again then.

use chrono::Duration;

use crate::auth::principal::{self, Credential, Principal};
use crate::auth::{tokens, Actor};
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::services::server_access::{self, ServerScope};
use crate::state::AppState;

/// A ticket for the caller (who uses a client key) to open `server`'s console, valid for
/// `ttl`.
pub fn console_ticket(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    ttl: Duration,
) -> Result<String> {
    let Credential::ApiKey { id, .. } = &actor.credential else {
        return Err(Error::Forbidden(
            "console tickets are made with a client API key".into(),
        ));
    };
    tokens::issue_console(state.secrets().jwt_key(), (actor.id(), id), &server.id, ttl)
}

/// Who presents a ticket for `server_id`, what they may do there now, and when the
/// ticket expires (Unix seconds).
pub async fn redeem_console_ticket(
    state: &AppState,
    token: &str,
    server_id: &str,
) -> Result<(Principal, ServerScope, i64)> {
    let claims = tokens::verify_console(state.secrets().jwt_key(), token)?;
    if claims.server != server_id {
        return Err(Error::Unauthorized(
            "this console token is for another server".into(),
        ));
    }
    let principal = principal::for_client_key_id(state, &claims.key).await?;
    if principal.id() != claims.sub {
        return Err(Error::Unauthorized("the console token is not valid".into()));
    }
    let scope = server_access::resolve(state, &principal, server_id).await?;
    if !scope.permissions.contains("console:view") {
        return Err(Error::Forbidden(
            "you may not connect to this server's console".into(),
        ));
    }
    Ok((principal, scope, claims.exp))
}
