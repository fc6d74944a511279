//! Per-server databases on database hosts, one module per use case: the hosts admins
//! register (`hosts`), creating a server's database (`create`), what a server's users do
//! with their databases (`manage`), and dropping a deleted server's databases, keeping
//! the ones whose host could not be reached as orphans for an admin to retry
//! (`orphans`). The host is always changed first; the panel's records follow in one
//! transaction with their audit entry.

mod create;
pub mod hosts;
mod manage;
mod orphans;

use crate::db::entities::{database_host, server_database};
use crate::error::{Error, Result};
use crate::sql_hosts::{Account, Engine, HostAccess};
use crate::state::AppState;

pub use create::{create, NewDatabase};
pub use manage::{find, list, remove, reveal, rotate, Listed};
pub use orphans::{drop_for_server, list_orphans, retry_orphan, Dropped, Orphan};

/// The engine stored for a host.
pub fn engine_of(host: &database_host::Model) -> Result<Engine> {
    Engine::parse(&host.engine)
        .ok_or_else(|| Error::internal(format!("database host {} has no known engine", host.id)))
}

/// How to reach `host` as its admin (the password decrypted).
pub(crate) fn host_access(state: &AppState, host: &database_host::Model) -> Result<HostAccess> {
    Ok(HostAccess {
        name: host.name.clone(),
        engine: engine_of(host)?,
        address: host.address.clone(),
        port: u16::try_from(host.port)
            .map_err(|_| Error::internal("a database host's port is out of range"))?,
        username: host.username.clone(),
        password: state.secrets().decrypt(&host.password_ciphertext)?,
    })
}

/// A stored database as the host knows it (the password decrypted).
pub(crate) fn account_of(state: &AppState, db: &server_database::Model) -> Result<Account> {
    Ok(Account {
        database: db.database_name.clone(),
        username: db.username.clone(),
        password: state.secrets().decrypt(&db.password_ciphertext)?,
        remote: db.remote.clone(),
        max_connections: u32::try_from(db.max_connections).unwrap_or_default(),
    })
}

/// `mysql://user@address:port/database` (no password).
pub fn connection_string(host: &database_host::Model, db: &server_database::Model) -> String {
    let scheme = Engine::parse(&host.engine).map_or("mysql", Engine::scheme);
    let address = if host.address.contains(':') {
        format!("[{}]", host.address)
    } else {
        host.address.clone()
    };
    format!(
        "{scheme}://{}@{address}:{}/{}",
        db.username, host.port, db.database_name
    )
}
