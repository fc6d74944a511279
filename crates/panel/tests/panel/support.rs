//! Shared test helpers: a fresh database per test on either backend, a panel served on
//! 127.0.0.1:0, and a small populated world.

use std::net::SocketAddr;

use cap_panel::auth::principal::{Credential, Identity, Principal};
use cap_panel::auth::{Actor, Client};
use cap_panel::bootstrap::InitialAdmin;
use cap_panel::config::Config;
use cap_panel::db::entities::{alt, ctrl, node, server, user};
use cap_panel::repo::{self, nodes::NewNode, servers::NewServer, users::NewUser};
use cap_panel::services::templates;
use cap_panel::state::AppState;
use cap_panel::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A database of its own for one test: a SQLite file in a temp dir, or a new PostgreSQL
/// database when CAP_TEST_DATABASE_URL is set.
pub struct TestDb {
    pub url: String,
    _dir: TempDir,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match std::env::var("CAP_TEST_DATABASE_URL") {
            Ok(admin_url) => create_postgres_database(&admin_url).await,
            Err(_) => format!("sqlite://{}", dir.path().join("test.db").display()),
        };
        TestDb { url, _dir: dir }
    }

    /// Connected and migrated.
    pub async fn connect(&self) -> DatabaseConnection {
        let db = cap_panel::db::connect(&self.url).await.expect("connect");
        cap_panel::db::migrate(&db).await.expect("migrate");
        db
    }
}

async fn create_postgres_database(admin_url: &str) -> String {
    let name = format!("cap_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = reqwest::Url::parse(admin_url).expect("CAP_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// A migrated connection, and the guard that keeps its database alive: hold both.
pub async fn fresh_db() -> (DatabaseConnection, TestDb) {
    let db = TestDb::new().await;
    (db.connect().await, db)
}

/// A panel served in-process on 127.0.0.1:0.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub admin: InitialAdmin,
    pub db: DatabaseConnection,
    pub state: AppState,
    _data: TempDir,
    _database: TestDb,
    stop: Option<oneshot::Sender<()>>,
    config: Config,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with a chance to adjust the configuration first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let data = tempfile::tempdir().expect("temp dir");
        let database = TestDb::new().await;
        let mut config = Config {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: data.path().join("data"),
            database_url: Some(database.url.clone()),
            log_level: "warn".into(),
            requests_per_second: 0,
            login_attempts_per_minute: 1000,
            ..Config::default()
        };
        adjust(&mut config);
        let mut app = Application::build(config.clone())
            .await
            .expect("panel builds");
        let admin = app
            .take_initial_admin()
            .expect("first start creates an admin");
        let mut test_app = TestApp {
            addr: app.local_addr(),
            client: reqwest::Client::new(),
            admin,
            db: app.state().db().clone(),
            state: app.state().clone(),
            _data: data,
            _database: database,
            stop: None,
            config,
            served: None,
        };
        test_app.serve(app);
        test_app
    }

    fn serve(&mut self, app: Application) {
        let (stop, stopped) = oneshot::channel::<()>();
        self.served = Some(tokio::spawn(async move {
            app.run_until_stopped(async {
                stopped.await.ok();
            })
            .await
            .expect("panel stops cleanly");
        }));
        self.stop = Some(stop);
    }

    /// Stops the panel (its agent connections too) and waits until it stopped.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(served) = self.served.take() {
            served.await.expect("panel task");
        }
    }

    /// Starts the stopped panel again on the same data directory and database (on a new
    /// port: see [`TestApp::url`]).
    pub async fn start_again(&mut self) {
        let app = Application::build(self.config.clone())
            .await
            .expect("panel builds again");
        self.addr = app.local_addr();
        self.db = app.state().db().clone();
        self.state = app.state().clone();
        self.serve(app);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A client with its own cookie jar, logged in as `login`.
    pub async fn login_as(&self, login: &str, password: &str) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let response = client
            .post(self.url("/api/auth/login"))
            .json(&serde_json::json!({ "login": login, "password": password }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login as {login}");
        client
    }

    pub async fn admin_client(&self) -> reqwest::Client {
        self.login_as(&self.admin.username, &self.admin.password)
            .await
    }

    /// The initial administrator as a caller of services.
    pub async fn admin_actor(&self) -> Actor {
        let admin = repo::users::find_by_login(&self.db, &self.admin.username)
            .await
            .expect("find admin")
            .expect("the admin exists");
        actor_of(&self.db, admin).await
    }

    /// A `user`-role account with a real password (`password-<name>`).
    pub async fn create_user(&self, name: &str) -> user::Model {
        let hash = cap_panel::auth::password::hash(format!("password-{name}"))
            .await
            .expect("hash");
        repo::users::create(
            &self.db,
            NewUser {
                username: name.into(),
                email: format!("{name}@example.com"),
                password_hash: hash,
                role: "user".into(),
            },
        )
        .await
        .expect("create user")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
    }
}

/// One row in each core table, linked the way the product links them.
pub struct World {
    pub user: user::Model,
    pub node: node::Model,
    pub ctrl: ctrl::Model,
    pub alt: alt::Model,
    pub server: server::Model,
}

/// A `user`-role account named `name` (e-mail `<name>@example.com`) that cannot log in.
/// A new API key of `client`'s user with all their permissions; returns its secret.
pub async fn new_api_key(app: &TestApp, client: &reqwest::Client, name: &str) -> String {
    let created: serde_json::Value = client
        .post(app.url("/api/auth/api-keys"))
        .json(&serde_json::json!({ "name": name }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["data"]["secret"].as_str().unwrap().to_owned()
}

/// `GET url` with `client`; the JSON body, whatever the status.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a JSON body")
}

/// Sends `request`; the status and the JSON body (`null` when there is none).
pub async fn send(request: reqwest::RequestBuilder) -> (reqwest::StatusCode, serde_json::Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

pub fn user_row(name: &str) -> NewUser {
    NewUser {
        username: name.into(),
        email: format!("{name}@example.com"),
        password_hash: "$argon2id$not-a-real-hash".into(),
        role: "user".into(),
    }
}

pub async fn new_user(db: &DatabaseConnection, name: &str) -> user::Model {
    repo::users::create(db, user_row(name))
        .await
        .expect("create user")
}

/// `user` as a caller of services, signed in with a session.
pub async fn actor_of(db: &DatabaseConnection, user: user::Model) -> Actor {
    let permissions = repo::permissions::effective(db, &user.id, &user.role)
        .await
        .expect("effective permissions");
    Actor {
        principal: Principal::new(Identity {
            user,
            permissions,
            credential: Credential::Session {
                family_id: "test".into(),
            },
            two_factor_setup_required: false,
        }),
        client: Client::default(),
    }
}

pub async fn world(db: &DatabaseConnection, tag: &str) -> World {
    let user = new_user(db, &format!("owner-{tag}")).await;
    let node = repo::nodes::create(
        db,
        NewNode {
            name: format!("node-{tag}"),
            description: String::new(),
            address: "127.0.0.1".into(),
            port: 8443,
            scheme: "https".into(),
            token_ciphertext: "v1:opaque".into(),
            join_token_hash: None,
            cert_fingerprint: None,
            memory_mb: 4096,
            disk_mb: 10240,
            overallocate_percent: 0,
            port_range: (25565, 25665),
        },
    )
    .await
    .expect("create node");
    let ctrl = repo::ctrls::create(db, &format!("ctrl-{tag}"), "")
        .await
        .expect("create ctrl");
    let actor = actor_of(db, user.clone()).await;
    let alt = templates::create(db, &actor, &ctrl.id, &test_game(&format!("alt-{tag}")))
        .await
        .expect("create alt")
        .row;
    let server = repo::servers::create(db, new_server(&user.id, Some(&node.id), &alt.id))
        .await
        .expect("create server");
    World {
        user,
        node,
        ctrl,
        alt,
        server,
    }
}

pub fn new_server(owner: &str, node: Option<&str>, alt: &str) -> NewServer {
    NewServer {
        name: "survival".into(),
        description: String::new(),
        owner_id: owner.into(),
        node_id: node.map(str::to_owned),
        alt_id: alt.into(),
        memory_mb: 1024,
        cpu_percent: 100,
        disk_mb: 2048,
        image: None,
    }
}

/// The built-in test-game template under another name.
pub fn test_game(name: &str) -> cap_templates::Alt {
    let mut alt = cap_templates::builtins()
        .expect("built-ins parse")
        .into_iter()
        .find(|alt| alt.startup().contains("cap-testgame"))
        .expect("test game template");
    alt.name = name.to_owned();
    alt.uuid = None;
    alt
}
