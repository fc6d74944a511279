//! Per-server databases on real database hosts: the MariaDB of `scripts/mariadb-test-host`
//! (`CAP_TEST_MARIADB_URL`) and the PostgreSQL cluster of `scripts/postgres-test-host`
//! (`CAP_TEST_POSTGRES_HOST_URL`). The generated users connect with their own
//! credentials and are checked for what they may and may not do. Without a host URL the
//! engine's tests skip, saying so; `CAP_REQUIRE_MARIADB` / `CAP_REQUIRE_POSTGRES` make
//! them fail instead.

use reqwest::{Client, StatusCode, Url};
use serde_json::{json, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use cap_panel::db::entities::server;
use cap_panel::repo;

use crate::support::{new_server, send, world, TestApp};

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Engine {
    Mysql,
    Postgres,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgres",
        }
    }
}

/// The admin URL of the engine's test host, or `None` (after saying so) when there is
/// none and none is required.
fn host_url(engine: Engine) -> Option<Url> {
    let (var, require) = match engine {
        Engine::Mysql => ("CAP_TEST_MARIADB_URL", "CAP_REQUIRE_MARIADB"),
        Engine::Postgres => ("CAP_TEST_POSTGRES_HOST_URL", "CAP_REQUIRE_POSTGRES"),
    };
    match std::env::var(var) {
        Ok(url) => Some(Url::parse(&url).expect("a database host URL")),
        Err(_) if std::env::var_os(require).is_some() => {
            panic!("{require} is set but {var} is not (see scripts/test)")
        }
        Err(_) => {
            eprintln!(
                "SKIPPING the {} database-host test: {var} is not set",
                engine.name()
            );
            None
        }
    }
}

/// Every statement of `sql` in turn; the first column (as text) of the last one's rows.
macro_rules! rows_of {
    ($conn:expr, $sql:expr) => {
        async {
            let mut last = Vec::new();
            for statement in $sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                let rows = sqlx::raw_sql(statement).fetch_all(&mut $conn).await?;
                last = rows
                    .iter()
                    .map(|row| sqlx::Row::try_get::<String, _>(row, 0).unwrap_or_default())
                    .collect();
            }
            Ok::<_, sqlx::Error>(last)
        }
    };
}

/// Credentials of one account on a test host.
#[derive(Clone, Debug)]
struct Login {
    engine: Engine,
    port: u16,
    user: String,
    password: String,
}

impl Login {
    fn admin(engine: Engine, url: &Url) -> Login {
        Login {
            engine,
            port: url.port().expect("a port"),
            user: url.username().to_owned(),
            password: url.password().expect("a password").to_owned(),
        }
    }

    /// Runs `sql` (one or more statements) connected to `database`; the first column of
    /// the last statement's rows.
    async fn run(&self, database: Option<&str>, sql: &str) -> Result<Vec<String>, String> {
        let err = |e: sqlx::Error| e.to_string();
        match self.engine {
            Engine::Mysql => {
                let mut options = MySqlConnectOptions::new()
                    .host("127.0.0.1")
                    .port(self.port)
                    .username(&self.user)
                    .password(&self.password);
                if let Some(db) = database {
                    options = options.database(db);
                }
                let mut conn: MySqlConnection = options.connect().await.map_err(err)?;
                let rows = rows_of!(conn, sql).await.map_err(err)?;
                conn.close().await.ok();
                Ok(rows)
            }
            Engine::Postgres => {
                let options = PgConnectOptions::new()
                    .host("127.0.0.1")
                    .port(self.port)
                    .username(&self.user)
                    .password(&self.password)
                    .database(database.unwrap_or("postgres"));
                let mut conn: PgConnection = options.connect().await.map_err(err)?;
                let rows = rows_of!(conn, sql).await.map_err(err)?;
                conn.close().await.ok();
                Ok(rows)
            }
        }
    }
}

/// A panel with the engine's test host registered, and two servers owned by users who
/// can log in, each allowed `limit` databases.
pub(crate) struct Setup {
    pub(crate) app: TestApp,
    admin: Client,
    engine: Engine,
    host_admin: Login,
    host_id: String,
    pub(crate) servers: Vec<(server::Model, Client)>,
}

fn host_body(engine: Engine, url: &Url, name: &str) -> Value {
    json!({
        "name": name, "engine": engine.name(), "address": "127.0.0.1",
        "port": url.port().unwrap(), "username": url.username(),
        "password": url.password().unwrap(), "maxDatabases": 50,
    })
}

pub(crate) async fn setup(engine: Engine, tag: &str, limit: i32) -> Option<Setup> {
    let url = host_url(engine)?;
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let (status, body) = send(admin.post(app.url("/api/database-hosts")).json(&host_body(
        engine,
        &url,
        &format!("{tag}-host"),
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    let host_id = body["data"]["id"].as_str().unwrap().to_owned();
    let w = world(&app.db, tag).await;
    let mut servers = Vec::new();
    for n in 0..2 {
        let owner = app.create_user(&format!("{tag}-owner{n}")).await;
        let server = repo::servers::create(&app.db, new_server(&owner.id, None, &w.alt.id))
            .await
            .unwrap();
        let (status, body) = send(
            admin
                .patch(app.url(&format!("/api/servers/{}", server.id)))
                .json(&json!({ "databaseLimit": limit })),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let login = format!("{tag}-owner{n}");
        let client = app.login_as(&login, &format!("password-{login}")).await;
        servers.push((server, client));
    }
    Some(Setup {
        host_admin: Login::admin(engine, &url),
        app,
        admin,
        engine,
        host_id,
        servers,
    })
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    async fn create(&self, n: usize, body: Value) -> (StatusCode, Value) {
        let (server, client) = &self.servers[n];
        send(
            client
                .post(self.url(&format!("/api/servers/{}/databases", server.id)))
                .json(&body),
        )
        .await
    }

    /// Creates database `name` for server `n` and logs in as its user.
    async fn database(&self, n: usize, name: &str) -> (Value, Login) {
        let (status, body) = self.create(n, json!({ "name": name })).await;
        assert_eq!(status, 200, "{body}");
        let db = body["data"].clone();
        let password = self.reveal(n, &db).await;
        let login = Login {
            engine: self.engine,
            port: self.host_admin.port,
            user: db["username"].as_str().unwrap().to_owned(),
            password,
        };
        (db, login)
    }

    async fn reveal(&self, n: usize, db: &Value) -> String {
        let (server, client) = &self.servers[n];
        let (status, body) = send(client.post(self.url(&format!(
            "/api/servers/{}/databases/{}/reveal",
            server.id,
            db["id"].as_str().unwrap()
        ))))
        .await;
        assert_eq!(status, 200, "{body}");
        body["data"]["password"].as_str().unwrap().to_owned()
    }

    /// Whether the host still has the database and the user.
    async fn on_host(&self, db: &Value) -> (bool, bool) {
        let (name, user) = (
            db["name"].as_str().unwrap(),
            db["username"].as_str().unwrap(),
        );
        let (databases, users) = match self.engine {
            Engine::Mysql => (
                format!("SELECT schema_name FROM information_schema.schemata WHERE schema_name = '{name}'"),
                format!("SELECT user FROM mysql.user WHERE user = '{user}'"),
            ),
            Engine::Postgres => (
                format!("SELECT datname::text FROM pg_database WHERE datname = '{name}'"),
                format!("SELECT rolname::text FROM pg_roles WHERE rolname = '{user}'"),
            ),
        };
        let admin = &self.host_admin;
        (
            !admin.run(None, &databases).await.unwrap().is_empty(),
            !admin.run(None, &users).await.unwrap().is_empty(),
        )
    }
}

const TABLE: &str = "CREATE TABLE players (id INT PRIMARY KEY, name VARCHAR(32)); \
                     INSERT INTO players VALUES (1, 'alex'); SELECT name FROM players";

/// The whole life of a database on `engine`: created with a prefix, usable by its own
/// user only, rotated, deleted; a deleted server takes its databases along.
async fn lifecycle(engine: Engine, tag: &str) {
    let Some(s) = setup(engine, tag, 1).await else {
        return;
    };
    let (hosts_status, hosts) = send(s.admin.get(s.url("/api/database-hosts"))).await;
    assert_eq!(hosts_status, 200);
    assert_eq!(hosts["data"][0]["healthy"], true, "{hosts}");
    assert!(
        !hosts.to_string().contains(&s.host_admin.password),
        "no password in {hosts}"
    );

    let (db, user) = s.database(0, "Luck_Perms").await;
    let short = &s.servers[0].0.id[s.servers[0].0.id.len() - 8..];
    let name = format!("s{short}_luck_perms");
    assert_eq!(db["name"], name.as_str());
    assert_eq!(db["engine"], engine.name());
    let connection = db["connectionString"].as_str().unwrap();
    assert!(
        connection.ends_with(&format!("@127.0.0.1:{}/{name}", user.port)),
        "{connection}"
    );
    assert!(!connection.contains(&user.password));
    assert_eq!(user.run(Some(&name), TABLE).await.unwrap(), ["alex"]);

    // The other server's database: out of reach.
    let (other, other_user) = s.database(1, "mapdata").await;
    let other_name = other["name"].as_str().unwrap();
    other_user
        .run(Some(other_name), "CREATE TABLE secrets (id INT)")
        .await
        .unwrap();
    match engine {
        Engine::Mysql => {
            let read = user
                .run(
                    Some(&name),
                    &format!("SELECT * FROM `{other_name}`.secrets"),
                )
                .await;
            assert!(read.is_err(), "read another server's table: {read:?}");
            let seen = user.run(None, "SHOW DATABASES").await.unwrap();
            assert_eq!(
                seen,
                ["information_schema", name.as_str()],
                "sees only its own"
            );
            // `_` in the grant is no wildcard: a look-alike name cannot be created.
            let lookalike = format!("CREATE DATABASE s{short}xluck_perms");
            assert!(
                user.run(None, &lookalike).await.is_err(),
                "created {lookalike}"
            );
        }
        Engine::Postgres => {
            let read = user.run(Some(other_name), "SELECT 1").await;
            assert!(
                read.is_err(),
                "connected to another server's database: {read:?}"
            );
            let role = format!("SET ROLE {}", other["username"].as_str().unwrap());
            assert!(
                user.run(Some(&name), &role).await.is_err(),
                "took another role"
            );
            assert!(user.run(Some(&name), "CREATE ROLE intruder").await.is_err());
        }
    }
    assert!(
        user.run(None, "CREATE DATABASE s_intruder").await.is_err(),
        "created a database"
    );

    // The server's limit (1) is reached.
    let (status, body) = s.create(0, json!({ "name": "second" })).await;
    assert_eq!(status, 409, "{body}");

    // Rotating: the old password stops working, the new one works.
    let (server, client) = &s.servers[0];
    let db_url = format!(
        "/api/servers/{}/databases/{}",
        server.id,
        db["id"].as_str().unwrap()
    );
    let (status, body) = send(client.post(s.url(&format!("{db_url}/rotate")))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        user.run(Some(&name), "SELECT 1").await.is_err(),
        "old password works"
    );
    let rotated = Login {
        password: s.reveal(0, &db).await,
        ..user.clone()
    };
    assert_ne!(rotated.password, user.password);
    rotated.run(Some(&name), "SELECT 1").await.unwrap();

    // Reveals and rotations are in the audit log.
    let (_, audit) = send(
        s.admin
            .get(s.url("/api/audit?action=database.password_viewed")),
    )
    .await;
    assert!(audit["data"]["total"].as_u64().unwrap() >= 3, "{audit}");

    // Deleting drops the database and its user on the host.
    let (status, body) = send(client.delete(s.url(&db_url))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.on_host(&db).await, (false, false));
    let (_, listed) =
        send(client.get(s.url(&format!("/api/servers/{}/databases", server.id)))).await;
    assert_eq!(listed["data"]["databases"], json!([]));

    // Deleting a server drops its databases.
    assert_eq!(s.on_host(&other).await, (true, true));
    let (status, body) = send(
        s.admin
            .delete(s.url(&format!("/api/servers/{}", s.servers[1].0.id))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.on_host(&other).await, (false, false));
    let (_, orphans) = send(s.admin.get(s.url("/api/database-orphans"))).await;
    assert_eq!(orphans["data"], json!([]));
    let _ = &s.host_id;
}

#[tokio::test]
async fn a_mysql_database_belongs_to_its_server_alone() {
    lifecycle(Engine::Mysql, "mylife").await;
}

#[tokio::test]
async fn a_postgres_database_belongs_to_its_server_alone() {
    lifecycle(Engine::Postgres, "pglife").await;
}

/// What must be refused, before anything is created on the host.
async fn refusals(engine: Engine, tag: &str) {
    let Some(s) = setup(engine, tag, 5).await else {
        return;
    };
    let long = "x".repeat(200);
    for name in [
        "a'b",
        "a;b",
        "a`b",
        "a\"b",
        "ünïcode",
        "a b",
        long.as_str(),
        "",
    ] {
        let (status, body) = s.create(0, json!({ "name": name })).await;
        assert_eq!(status, 422, "{name:?}: {body}");
        assert_eq!(body["code"], "VALIDATION_ERROR");
    }
    let bad_remote = s
        .create(0, json!({ "name": "ok", "remote": "%' OR '1'='1" }))
        .await;
    assert_eq!(bad_remote.0, 422, "{}", bad_remote.1);

    // A subuser without database:view is refused; a stranger does not see the server.
    let (server, _) = &s.servers[0];
    let helper = s.app.create_user(&format!("{tag}-helper")).await;
    repo::subusers::create(
        &s.app.db,
        &server.id,
        &helper.id,
        &["console:view".to_owned()].into_iter().collect(),
    )
    .await
    .unwrap();
    let helper = s
        .app
        .login_as(&format!("{tag}-helper"), &format!("password-{tag}-helper"))
        .await;
    let list = s.url(&format!("/api/servers/{}/databases", server.id));
    assert_eq!(send(helper.get(&list)).await.0, 403);
    let stranger = &s.servers[1].1;
    assert_eq!(send(stranger.get(&list)).await.0, 404);
    // Only admins choose the host.
    let chosen = s
        .create(0, json!({ "name": "mine", "hostId": s.host_id }))
        .await;
    assert_eq!(chosen.0, 403, "{}", chosen.1);
    let (_, listed) = send(s.servers[0].1.get(&list)).await;
    assert_eq!(
        listed["data"]["databases"],
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn bad_names_and_missing_permissions_are_refused_on_mysql() {
    refusals(Engine::Mysql, "myrefuse").await;
}

#[tokio::test]
async fn bad_names_and_missing_permissions_are_refused_on_postgres() {
    refusals(Engine::Postgres, "pgrefuse").await;
}

/// Points the stored host at a port where nothing listens (or back).
async fn move_host(s: &Setup, port: u16) {
    use sea_orm::{ActiveModelTrait, Set};
    let host = repo::database_hosts::find(&s.app.db, &s.host_id)
        .await
        .unwrap()
        .unwrap();
    let mut model: cap_panel::db::entities::database_host::ActiveModel = host.into();
    model.port = Set(i32::from(port));
    model.update(&s.app.db).await.unwrap();
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
}

#[tokio::test]
async fn an_unreachable_or_refusing_host_leaves_nothing_behind() {
    let Some(s) = setup(Engine::Mysql, "myfail", 5).await else {
        return;
    };
    let url = host_url(Engine::Mysql).unwrap();

    // Connection tests when adding a host: wrong password → 422, nothing listening → 503.
    let mut wrong = host_body(Engine::Mysql, &url, "wrong");
    wrong["password"] = json!("not-the-password");
    let (status, body) = send(s.admin.post(s.url("/api/database-hosts")).json(&wrong)).await;
    assert_eq!(status, 422, "{body}");
    let mut away = host_body(Engine::Mysql, &url, "away");
    away["port"] = json!(closed_port());
    let (status, body) = send(s.admin.post(s.url("/api/database-hosts")).json(&away)).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AGENT_UNAVAILABLE");

    // Failing midway (the user is created, the database exists already): the user is
    // dropped again and nothing is recorded.
    let (server, client) = &s.servers[0];
    let short = &server.id[server.id.len() - 8..];
    s.host_admin
        .run(None, &format!("CREATE DATABASE s{short}_taken"))
        .await
        .unwrap();
    let (status, body) = s.create(0, json!({ "name": "taken" })).await;
    assert_eq!(status, 503, "{body}");
    let users = s
        .host_admin
        .run(
            None,
            &format!("SELECT user FROM mysql.user WHERE user LIKE 'u{short}%'"),
        )
        .await
        .unwrap();
    assert_eq!(
        users,
        Vec::<String>::new(),
        "the half-created user was dropped"
    );
    s.host_admin
        .run(None, &format!("DROP DATABASE s{short}_taken"))
        .await
        .unwrap();

    // The host down: creating fails clearly and leaves no record.
    let (db, _) = s.database(0, "kept").await;
    move_host(&s, closed_port()).await;
    let (status, body) = s.create(0, json!({ "name": "never" })).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "AGENT_UNAVAILABLE");
    let list = s.url(&format!("/api/servers/{}/databases", server.id));
    let (_, listed) = send(client.get(&list)).await;
    assert_eq!(listed["data"]["databases"].as_array().unwrap().len(), 1);
    let (_, hosts) = send(s.admin.get(s.url("/api/database-hosts"))).await;
    assert_eq!(hosts["data"][0]["healthy"], false, "{hosts}");

    // Deleting the server now keeps its database as an orphan, for an admin to retry.
    let (status, body) = send(
        s.admin
            .delete(s.url(&format!("/api/servers/{}", server.id))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, orphans) = send(s.admin.get(s.url("/api/database-orphans"))).await;
    let orphan = &orphans["data"][0];
    assert_eq!(orphan["name"], db["name"], "{orphans}");
    let retry = s.url(&format!(
        "/api/database-orphans/{}/retry",
        orphan["id"].as_str().unwrap()
    ));
    assert_eq!(send(s.admin.post(&retry)).await.0, 503);
    assert_eq!(s.on_host(&db).await, (true, true));
    move_host(&s, url.port().unwrap()).await;
    let (status, body) = send(s.admin.post(&retry)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.on_host(&db).await, (false, false));
    let (_, orphans) = send(s.admin.get(s.url("/api/database-orphans"))).await;
    assert_eq!(orphans["data"], json!([]));
}

#[tokio::test]
async fn two_creations_at_once_cannot_both_take_the_last_place() {
    let Some(s) = setup(Engine::Mysql, "myrace", 1).await else {
        return;
    };
    let (a, b) = tokio::join!(
        s.create(0, json!({ "name": "first" })),
        s.create(0, json!({ "name": "second" }))
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.1, b.1);
    let (server, client) = &s.servers[0];
    let list = s.url(&format!("/api/servers/{}/databases", server.id));
    let (_, listed) = send(client.get(&list)).await;
    assert_eq!(listed["data"]["databases"].as_array().unwrap().len(), 1);
}
