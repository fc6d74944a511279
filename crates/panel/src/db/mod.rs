//! Database access: connecting to SQLite or PostgreSQL, migrations, entities.

pub mod entities;
pub mod migrations;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::error::{Error, Result};

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite files are created if missing and always run with foreign keys enforced, WAL
/// journalling and a busy timeout, so concurrent requests wait instead of failing.
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .map_sqlx_sqlite_opts(|opts| {
            opts.create_if_missing(true)
                .foreign_keys(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
        });
    if url.starts_with("sqlite:") {
        // One writer at a time is all SQLite allows; a small pool serves concurrent reads.
        options.max_connections(8).min_connections(1);
    } else {
        options.max_connections(16).min_connections(1);
    }
    Database::connect(options)
        .await
        .map_err(|e| Error::Startup(format!("cannot open database: {e}")))
}

/// Applies every pending migration; a no-op when the schema is current.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    migrations::Migrator::up(db, None)
        .await
        .map_err(|e| Error::Startup(format!("database migration failed: {e}")))
}

/// Human name of the backend, for logs and health output.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgresql",
        DbBackend::MySql => "mysql",
    }
}

/// How many connections the pool holds open, and how many of those are idle.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, u32) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::MySql => (0, 0),
    };
    (size, u32::try_from(idle).unwrap_or(size))
}
