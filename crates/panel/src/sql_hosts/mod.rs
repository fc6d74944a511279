//! Connections to the MySQL/MariaDB and PostgreSQL servers ("database hosts") on which
//! the panel creates servers' databases, as the host's admin account. One short-lived
//! connection per operation; statements are never logged (they carry passwords).
//! Names are checked and quoted in `names.rs`; each engine's statements are in its own
//! module.

/// Connects with the calling module's `open` and runs `$steps` (each a statement and the
/// one undoing it, if any) in order with its `exec`. When one fails, the undo statements
/// of the steps done run newest first, so only what this call created is dropped, and
/// the error is returned.
macro_rules! apply {
    ($host:expr, $account:expr, $steps:expr) => {{
        let mut conn = open($host).await?;
        let mut undo: Vec<String> = Vec::new();
        for (step, undo_step) in $steps {
            if let Err(e) = exec($host, &mut conn, &step).await {
                for statement in undo.iter().rev() {
                    if let Err(undo_error) = exec($host, &mut conn, statement).await {
                        tracing::warn!(host = %$host.name, database = %$account.database, error = %undo_error, "could not undo a half-created database");
                    }
                }
                return Err(e);
            }
            undo.extend(undo_step);
        }
        conn.close().await.ok();
        Ok(())
    }};
}

mod mysql;
pub mod names;
mod postgres;

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How long connecting may take before the host counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one operation (connect and its statements) may take.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The kind of database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// MySQL and MariaDB.
    Mysql,
    Postgres,
}

impl Engine {
    pub fn parse(text: &str) -> Option<Engine> {
        match text {
            "mysql" => Some(Engine::Mysql),
            "postgres" => Some(Engine::Postgres),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgres",
        }
    }

    /// The scheme of a connection string for this engine.
    pub fn scheme(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgresql",
        }
    }
}

/// How to reach a host as its admin. `Debug` leaves the password out.
#[derive(Clone)]
pub struct HostAccess {
    /// The host's name in the panel, for messages.
    pub name: String,
    pub engine: Engine,
    pub address: String,
    pub port: u16,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for HostAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostAccess")
            .field("name", &self.name)
            .field("engine", &self.engine)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A server's database and its user, as created on a host.
#[derive(Clone)]
pub struct Account {
    pub database: String,
    pub username: String,
    pub password: String,
    /// The MySQL host pattern the user may connect from (ignored on PostgreSQL).
    pub remote: String,
    /// 0: no limit of the panel's.
    pub max_connections: u32,
}

/// What a host said when it was checked.
#[derive(Debug, Clone)]
pub struct Health {
    pub version: String,
}

/// Connects and checks the admin account may create databases and users.
pub async fn check(host: &HostAccess) -> Result<Health> {
    run(host, async {
        match host.engine {
            Engine::Mysql => mysql::check(host).await,
            Engine::Postgres => postgres::check(host).await,
        }
    })
    .await
}

/// Creates the database and its user with rights on that database only. When a step
/// fails, what the earlier steps created is dropped again before the error returns.
pub async fn create(host: &HostAccess, account: &Account) -> Result<()> {
    run(host, async {
        match host.engine {
            Engine::Mysql => mysql::create(host, account).await,
            Engine::Postgres => postgres::create(host, account).await,
        }
    })
    .await
}

/// Gives the user a new password; the old one stops working for new connections.
pub async fn set_password(host: &HostAccess, account: &Account) -> Result<()> {
    run(host, async {
        match host.engine {
            Engine::Mysql => mysql::set_password(host, account).await,
            Engine::Postgres => postgres::set_password(host, account).await,
        }
    })
    .await
}

/// Drops the database and its user; what is already gone is no error.
pub async fn drop(host: &HostAccess, account: &Account) -> Result<()> {
    run(host, async {
        match host.engine {
            Engine::Mysql => mysql::drop(host, account).await,
            Engine::Postgres => postgres::drop(host, account).await,
        }
    })
    .await
}

async fn run<T>(host: &HostAccess, op: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(OPERATION_TIMEOUT, op)
        .await
        .unwrap_or_else(|_| Err(unreachable(host, "it did not answer in time")))
}

/// Connects with `connect`, giving up after [`CONNECT_TIMEOUT`].
async fn connect<C>(
    host: &HostAccess,
    connect: impl Future<Output = Result<C, sqlx::Error>>,
) -> Result<C> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => Err(unreachable(host, "connecting timed out")),
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(host, e)),
    }
}

fn unreachable(host: &HostAccess, why: &str) -> Error {
    Error::AgentUnavailable(format!(
        "the database host {} cannot be reached: {why}",
        host.name
    ))
}

/// A failure to connect: the host refusing the admin account is a mistake in what an
/// admin entered (422); anything else means the host cannot be reached (503).
fn connect_error(host: &HostAccess, err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) => Error::validation(
            "password",
            format!(
                "the database host {} refused the admin account: {}",
                host.name,
                db.message()
            ),
        ),
        _ => {
            tracing::warn!(host = %host.name, error = %crate::error::chain(&err), "database host unreachable");
            unreachable(host, "no connection")
        }
    }
}

/// A statement the host refused (missing privileges, a name in use, the host's limits).
fn statement_error(host: &HostAccess, err: sqlx::Error) -> Error {
    match &err {
        sqlx::Error::Database(db) => Error::AgentUnavailable(format!(
            "the database host {} refused the change: {}",
            host.name,
            db.message()
        )),
        _ => unreachable(host, "the connection broke"),
    }
}
