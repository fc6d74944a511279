//! MySQL and MariaDB: a user `'name'@'remote'` with every privilege on its one database
//! (the grant's `_` escaped so it is no wildcard), and an optional connection limit.

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Connection};

use super::names::{ident, literal, mysql_grant_database};
use super::{connect, statement_error, Account, Engine, Health, HostAccess};
use crate::error::{Error, Result};

async fn open(host: &HostAccess) -> Result<MySqlConnection> {
    let options = MySqlConnectOptions::new()
        .host(&host.address)
        .port(host.port)
        .username(&host.username)
        .password(&host.password)
        .disable_statement_logging();
    connect(host, options.connect()).await
}

/// Runs `sql` over the text protocol: MySQL cannot prepare `IDENTIFIED BY ?`, so the
/// literals are inlined by `names::literal`.
async fn exec(host: &HostAccess, conn: &mut MySqlConnection, sql: &str) -> Result<()> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(sql))
        .await
        .map(|_| ())
        .map_err(|e| statement_error(host, e))
}

fn account_name(account: &Account) -> Result<String> {
    Ok(format!(
        "{}@{}",
        literal(&account.username)?,
        literal(&account.remote)?
    ))
}

pub async fn check(host: &HostAccess) -> Result<Health> {
    let mut conn = open(host).await?;
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| statement_error(host, e))?;
    let privileges: Vec<(String, String)> = sqlx::query_as(
        "SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| statement_error(host, e))?;
    conn.close().await.ok();
    let holds = |name: &str| privileges.iter().any(|(p, _)| p == name);
    let grants = privileges.iter().any(|(_, g)| g == "YES");
    if !(holds("CREATE USER") && holds("CREATE") && grants) {
        return Err(Error::validation(
            "username",
            "this account may not create users and databases and grant rights on them \
             (it needs GRANT ALL ON *.* ... WITH GRANT OPTION)",
        ));
    }
    Ok(Health { version })
}

pub async fn create(host: &HostAccess, account: &Account) -> Result<()> {
    let user = account_name(account)?;
    let limit = match account.max_connections {
        0 => String::new(),
        n => format!(" WITH MAX_USER_CONNECTIONS {n}"),
    };
    let create_user = format!(
        "CREATE USER {user} IDENTIFIED BY {}{limit}",
        literal(&account.password)?
    );
    let create_database = format!(
        "CREATE DATABASE {}",
        ident(Engine::Mysql, &account.database)
    );
    let grant = format!(
        "GRANT ALL PRIVILEGES ON {}.* TO {user}",
        mysql_grant_database(&account.database)
    );
    let drop_user = format!("DROP USER IF EXISTS {user}");
    let drop_database = format!(
        "DROP DATABASE IF EXISTS {}",
        ident(Engine::Mysql, &account.database)
    );
    let steps = [
        (create_user, Some(drop_user)),
        (create_database, Some(drop_database)),
        (grant, None),
    ];
    apply!(host, account, steps)
}

pub async fn set_password(host: &HostAccess, account: &Account) -> Result<()> {
    let sql = format!(
        "ALTER USER {} IDENTIFIED BY {}",
        account_name(account)?,
        literal(&account.password)?
    );
    apply!(host, account, [(sql, None)])
}

pub async fn drop(host: &HostAccess, account: &Account) -> Result<()> {
    let drop_database = format!(
        "DROP DATABASE IF EXISTS {}",
        ident(Engine::Mysql, &account.database)
    );
    let drop_user = format!("DROP USER IF EXISTS {}", account_name(account)?);
    apply!(host, account, [(drop_database, None), (drop_user, None)])
}
