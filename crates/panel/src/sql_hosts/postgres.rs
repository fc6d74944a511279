//! PostgreSQL: a login role (no superuser, no CREATEDB, no CREATEROLE) owning its one
//! database, with `CONNECT` and `TEMPORARY` revoked from `PUBLIC` so no other role may
//! connect to it. Where a role may connect from is the host's `pg_hba.conf`, which the
//! panel cannot change.

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::names::{ident, literal};
use super::{connect, statement_error, Account, Engine, Health, HostAccess};
use crate::error::{Error, Result};

async fn open(host: &HostAccess) -> Result<PgConnection> {
    let options = PgConnectOptions::new()
        .host(&host.address)
        .port(host.port)
        .username(&host.username)
        .password(&host.password)
        .database("postgres")
        .disable_statement_logging();
    connect(host, options.connect()).await
}

/// One statement over the simple protocol (`CREATE DATABASE` may not run inside a
/// transaction or beside other statements; passwords cannot be bound parameters).
async fn exec(host: &HostAccess, conn: &mut PgConnection, sql: &str) -> Result<()> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(sql))
        .await
        .map(|_| ())
        .map_err(|e| statement_error(host, e))
}

pub async fn check(host: &HostAccess) -> Result<Health> {
    let mut conn = open(host).await?;
    let (version, allowed): (String, bool) = sqlx::query_as(
        "SELECT current_setting('server_version'), \
         rolsuper OR (rolcreaterole AND rolcreatedb) FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| statement_error(host, e))?;
    conn.close().await.ok();
    if !allowed {
        return Err(Error::validation(
            "username",
            "this role may not create roles and databases (it needs CREATEROLE and CREATEDB)",
        ));
    }
    Ok(Health {
        version: format!("PostgreSQL {version}"),
    })
}

pub async fn create(host: &HostAccess, account: &Account) -> Result<()> {
    let role = ident(Engine::Postgres, &account.username);
    let database = ident(Engine::Postgres, &account.database);
    let limit = match account.max_connections {
        0 => -1,
        n => i64::from(n),
    };
    let create_role = format!(
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
         CONNECTION LIMIT {limit} PASSWORD {}",
        literal(&account.password)?
    );
    // Owning a database needs membership in its owner role (for a non-superuser admin).
    let join_role = format!("GRANT {role} TO CURRENT_USER");
    let create_database = format!("CREATE DATABASE {database} OWNER {role}");
    let revoke = format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC");
    let drop_role = format!("DROP ROLE IF EXISTS {role}");
    let drop_database = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    let steps = [
        (create_role, Some(drop_role)),
        (join_role, None),
        (create_database, Some(drop_database)),
        (revoke, None),
    ];
    apply!(host, account, steps)
}

pub async fn set_password(host: &HostAccess, account: &Account) -> Result<()> {
    let sql = format!(
        "ALTER ROLE {} PASSWORD {}",
        ident(Engine::Postgres, &account.username),
        literal(&account.password)?
    );
    apply!(host, account, [(sql, None)])
}

pub async fn drop(host: &HostAccess, account: &Account) -> Result<()> {
    let database = ident(Engine::Postgres, &account.database);
    let role = ident(Engine::Postgres, &account.username);
    // FORCE ends the user's open sessions first (PostgreSQL 13 and later).
    let drop_database = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    let drop_role = format!("DROP ROLE IF EXISTS {role}");
    apply!(host, account, [(drop_database, None), (drop_role, None)])
}
