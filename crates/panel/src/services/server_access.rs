//! What a caller may do on one server: everything they hold when they own it or are an
//! administrator; otherwise what they were granted as its subuser (never more than an
//! API key was created with). Someone with no access learns nothing: the server is "not
//! found" to them.

use std::collections::BTreeSet;

use crate::auth::Principal;
use crate::db::entities::server;
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

/// A server and the caller's rights on it.
#[derive(Debug, Clone)]
pub struct ServerScope {
    pub server: server::Model,
    pub permissions: BTreeSet<String>,
}

/// The server `id` and the permission keys `principal` holds on it.
pub async fn resolve(state: &AppState, principal: &Principal, id: &str) -> Result<ServerScope> {
    let not_found = || Error::not_found("server");
    let server = repo::servers::find(state.db(), id)
        .await?
        .ok_or_else(not_found)?;
    let permissions = if principal.is_admin() || server.owner_id == principal.id() {
        principal.permissions.clone()
    } else {
        let subuser = repo::subusers::find(state.db(), &server.id, principal.id())
            .await?
            .ok_or_else(not_found)?;
        let mut granted = repo::subusers::permissions(&subuser);
        // Being invited to a server implies seeing it.
        granted.insert("server:view".to_owned());
        // An API key never exceeds what it was created with.
        if !principal.uses_cookie() {
            granted.retain(|k| principal.has(k));
        }
        granted
    };
    Ok(ServerScope {
        server,
        permissions,
    })
}
