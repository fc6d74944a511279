//! User administration over HTTP: CRUD, validation, conflicts, last-admin protection,
//! disabling, per-user permissions and the audit log of it all.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use cap_panel::auth::Actor;
use cap_panel::error::Error;
use cap_panel::repo::{self, users::UserChanges};
use cap_panel::services::users::{self, AccountChanges};

use crate::support::{actor_of, user_row, world, TestApp};

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn create(app: &TestApp, admin: &Client, body: Value) -> (StatusCode, Value) {
    send(admin.post(app.url("/api/users")).json(&body)).await
}

async fn patch(app: &TestApp, client: &Client, id: &str, body: Value) -> (StatusCode, Value) {
    send(
        client
            .patch(app.url(&format!("/api/users/{id}")))
            .json(&body),
    )
    .await
}

async fn put_permissions(
    app: &TestApp,
    client: &Client,
    id: &str,
    grants: &[&str],
    revocations: &[&str],
) -> (StatusCode, Value) {
    let body = json!({ "grants": grants, "revocations": revocations });
    send(
        client
            .put(app.url(&format!("/api/users/{id}/permissions")))
            .json(&body),
    )
    .await
}

async fn me_permissions(app: &TestApp, client: &Client) -> Vec<String> {
    let (status, body) = send(client.get(app.url("/api/auth/me"))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body["data"]["permissions"].clone()).unwrap()
}

async fn me_status(app: &TestApp, client: &Client) -> StatusCode {
    client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
}

fn account(name: &str) -> Value {
    json!({
        "username": name,
        "email": format!("{name}@example.com"),
        "password": format!("password-{name}"),
    })
}

async fn admin_id(app: &TestApp) -> String {
    repo::users::find_by_login(&app.db, &app.admin.username)
        .await
        .unwrap()
        .expect("initial admin")
        .id
}

#[tokio::test]
async fn admin_creates_lists_shows_updates_and_deletes_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;

    let (status, body) = create(&app, &admin, account("dana")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["message"], "user created");
    let dana = body["data"].clone();
    assert_eq!(dana["username"], "dana");
    assert_eq!(dana["role"], "user");
    assert!(dana.get("passwordHash").is_none());
    let id = dana["id"].as_str().unwrap().to_owned();
    // The new account can log in with the password it was given.
    app.login_as("dana", "password-dana").await;

    for name in ["erin", "Frank", "gwen"] {
        assert_eq!(create(&app, &admin, account(name)).await.0, 201);
    }
    let (status, body) = send(admin.get(app.url("/api/users?perPage=2&page=2"))).await;
    assert_eq!(status, 200);
    // The initial admin plus four.
    assert_eq!(body["data"]["total"], 5);
    assert_eq!(body["data"]["perPage"], 2);
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 2);

    // The filter matches usernames and e-mails, case-insensitively.
    let (_, body) = send(admin.get(app.url("/api/users?name=FRANK"))).await;
    assert_eq!(body["data"]["total"], 1);
    assert_eq!(body["data"]["items"][0]["username"], "Frank");
    let (_, body) = send(admin.get(app.url("/api/users?name=%40EXAMPLE.com"))).await;
    assert_eq!(body["data"]["total"], 4);
    // LIKE wildcards in the filter are literal.
    let (_, body) = send(admin.get(app.url("/api/users?name=%25"))).await;
    assert_eq!(body["data"]["total"], 0);

    let (status, body) = send(admin.get(app.url(&format!("/api/users/{id}")))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["email"], "dana@example.com");

    let (status, body) = patch(
        &app,
        &admin,
        &id,
        json!({ "email": "Dana@Example.org", "role": "moderator" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "dana@example.org");
    assert_eq!(body["data"]["role"], "moderator");

    let (status, body) = send(admin.delete(app.url(&format!("/api/users/{id}")))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"], "user deleted");
    let (status, body) = send(admin.get(app.url(&format!("/api/users/{id}")))).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "NOT_FOUND");
    let (status, _) = send(admin.delete(app.url(&format!("/api/users/{id}")))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_input_names_every_bad_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;

    let (status, body) = create(
        &app,
        &admin,
        json!({ "username": "a b", "email": "nope", "password": "short" }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "VALIDATION_ERROR");
    for field in ["username", "email", "password"] {
        assert!(body["details"][field][0].is_string(), "{field}: {body}");
    }

    let mut unknown_role = account("hank");
    unknown_role["role"] = json!("overlord");
    let (status, body) = create(&app, &admin, unknown_role).await;
    assert_eq!(status, 422);
    assert!(body["details"]["role"][0]
        .as_str()
        .unwrap()
        .contains("overlord"));

    let (status, body) = create(&app, &admin, json!({ "username": "ivan" })).await;
    assert_eq!(status, 422);
    assert!(body["error"].as_str().unwrap().contains("email"), "{body}");

    let mut extra = account("judy");
    extra["isAdmin"] = json!(true);
    let (status, body) = create(&app, &admin, extra).await;
    assert_eq!(status, 422);
    assert!(body["details"].as_object().unwrap().contains_key("isAdmin"));

    let (status, body) = create(&app, &admin, json!({ "username": 42 })).await;
    assert_eq!(status, 422);
    assert!(body["details"]["username"].is_array(), "{body}");

    let id = create(&app, &admin, account("kate")).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = patch(
        &app,
        &admin,
        &id,
        json!({ "email": "x", "password": "1234" }),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body["details"]["email"].is_array() && body["details"]["password"].is_array());
    let (status, _) = patch(&app, &admin, &id, json!({ "disabled": "yes" })).await;
    assert_eq!(status, 422);
    // Nothing was changed by the rejected requests.
    let (_, body) = send(admin.get(app.url(&format!("/api/users/{id}")))).await;
    assert_eq!(body["data"]["email"], "kate@example.com");
    assert_eq!(body["data"]["disabled"], false);
}

#[tokio::test]
async fn duplicate_usernames_and_emails_conflict() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    assert_eq!(create(&app, &admin, account("liam")).await.0, 201);

    let (status, body) = create(&app, &admin, account("liam")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "CONFLICT");

    let mut same_email = account("liam2");
    same_email["email"] = json!("LIAM@example.com");
    assert_eq!(create(&app, &admin, same_email).await.0, 409);

    let mia = create(&app, &admin, account("mia")).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = patch(&app, &admin, &mia, json!({ "email": "liam@example.com" })).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn usernames_are_unique_in_any_letter_case_and_log_in_in_any() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    assert_eq!(create(&app, &admin, account("Alice")).await.0, 201);
    for clash in ["ALICE", "alice", "aLiCe"] {
        let (status, body) = create(&app, &admin, account(clash)).await;
        assert_eq!(status, 409, "{clash}: {body}");
        assert_eq!(body["code"], "CONFLICT");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("username 'Alice' is taken"),
            "{body}"
        );
    }
    // The database holds the line too, whatever the service checks first.
    let direct = repo::users::create(&app.db, user_row("ALICE")).await;
    assert!(matches!(direct, Err(Error::Conflict(_))), "{direct:?}");

    // The name keeps the letter case it was created with; login takes any.
    for login in ["alice", "ALICE", "alice@EXAMPLE.com"] {
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({ "login": login, "password": "password-Alice" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{login}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["user"]["username"], "Alice");
    }
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_disabled_demoted_or_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let me = admin_id(&app).await;

    for change in [json!({ "disabled": true }), json!({ "role": "user" })] {
        let (status, body) = patch(&app, &admin, &me, change).await;
        assert_eq!(status, 409, "{body}");
        assert!(body["error"].as_str().unwrap().contains("last active"));
    }
    let (status, body) = send(admin.delete(app.url(&format!("/api/users/{me}")))).await;
    assert_eq!(status, 409, "{body}");

    // With a second administrator, the first may step down.
    let mut second = account("nina");
    second["role"] = json!("admin");
    let (status, body) = create(&app, &admin, second).await;
    assert_eq!(status, 201, "{body}");
    let nina_id = body["data"]["id"].as_str().unwrap().to_owned();
    let (status, body) = patch(&app, &admin, &me, json!({ "role": "moderator" })).await;
    assert_eq!(status, 200, "{body}");

    // Now nina is the last one; she cannot disable herself.
    let nina = app.login_as("nina", "password-nina").await;
    let (status, _) = patch(&app, &nina, &nina_id, json!({ "disabled": true })).await;
    assert_eq!(status, 409);
    // ...but she can restore the first admin.
    let (status, _) = patch(&app, &nina, &me, json!({ "role": "admin" })).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn deleting_a_user_removes_what_they_own() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let w = world(&app.db, "gone").await;
    let (status, body) = send(admin.delete(app.url(&format!("/api/users/{}", w.user.id)))).await;
    assert_eq!(status, 200, "{body}");
    assert!(repo::servers::find(&app.db, &w.server.id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn disabling_a_user_or_resetting_their_password_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let olive = app.create_user("olive").await;

    let session = app.login_as("olive", "password-olive").await;
    assert_eq!(me_status(&app, &session).await, 200);
    let (status, body) = patch(&app, &admin, &olive.id, json!({ "disabled": true })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["disabled"], true);
    assert_eq!(me_status(&app, &session).await, 401);
    let refresh = session
        .post(app.url("/api/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": "olive", "password": "password-olive" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);

    patch(&app, &admin, &olive.id, json!({ "disabled": false })).await;
    let session = app.login_as("olive", "password-olive").await;
    let (_, key) = send(
        session
            .post(app.url("/api/auth/api-keys"))
            .json(&json!({ "name": "script" })),
    )
    .await;
    let key = key["data"]["secret"].as_str().unwrap().to_owned();
    let with_key = || app.client.get(app.url("/api/auth/me")).bearer_auth(&key);
    assert_eq!(with_key().send().await.unwrap().status(), 200);
    let (status, _) = patch(
        &app,
        &admin,
        &olive.id,
        json!({ "password": "a-new-secret" }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me_status(&app, &session).await, 401);
    assert_eq!(with_key().send().await.unwrap().status(), 401);
    app.login_as("olive", "a-new-secret").await;
}

#[tokio::test]
async fn grants_and_revocations_change_what_a_user_may_do() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let paul = app.create_user("paul").await;
    let session = app.login_as("paul", "password-paul").await;
    let health = app.url("/api/monitoring/health");

    assert_eq!(session.get(&health).send().await.unwrap().status(), 403);
    let (status, body) = put_permissions(
        &app,
        &admin,
        &paul.id,
        &["monitoring:view"],
        &["server:view"],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let set = &body["data"];
    assert_eq!(set["role"], "user");
    assert_eq!(set["grants"], json!(["monitoring:view"]));
    assert_eq!(set["revocations"], json!(["server:view"]));
    assert!(set["rolePermissions"]
        .as_array()
        .unwrap()
        .contains(&json!("server:view")));

    // The same session sees the change on its next request.
    let permissions = me_permissions(&app, &session).await;
    assert!(permissions.contains(&"monitoring:view".to_owned()));
    assert!(!permissions.contains(&"server:view".to_owned()));
    assert_eq!(session.get(&health).send().await.unwrap().status(), 200);

    let (status, body) =
        send(admin.get(app.url(&format!("/api/users/{}/permissions", paul.id)))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["effective"], json!(permissions));

    // A revoked role permission closes its routes: take monitoring:view from a moderator.
    let mut quinn = account("quinn");
    quinn["role"] = json!("moderator");
    let quinn_id = create(&app, &admin, quinn).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moderator = app.login_as("quinn", "password-quinn").await;
    assert_eq!(moderator.get(&health).send().await.unwrap().status(), 200);
    put_permissions(&app, &admin, &quinn_id, &[], &["monitoring:view"]).await;
    assert_eq!(moderator.get(&health).send().await.unwrap().status(), 403);

    // A PUT replaces everything: empty lists restore the role's set.
    let (status, body) = put_permissions(&app, &admin, &paul.id, &[], &[]).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["grants"], json!([]));
    assert_eq!(session.get(&health).send().await.unwrap().status(), 403);
    assert!(me_permissions(&app, &session)
        .await
        .contains(&"server:view".to_owned()));
}

#[tokio::test]
async fn permission_changes_are_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let rita = app.create_user("rita").await;

    let (status, body) = put_permissions(
        &app,
        &admin,
        &rita.id,
        &["server:view", "server:fly"],
        &["nope:never"],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["details"]["grants"][0]
        .as_str()
        .unwrap()
        .contains("server:fly"));
    assert!(body["details"]["revocations"][0]
        .as_str()
        .unwrap()
        .contains("nope:never"));

    let (status, body) =
        put_permissions(&app, &admin, &rita.id, &["file:sftp"], &["file:sftp"]).await;
    assert_eq!(status, 422, "{body}");

    let (status, body) = send(
        admin
            .put(app.url(&format!("/api/users/{}/permissions", rita.id)))
            .json(&json!({ "grants": [] })),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    // Locking yourself out of the permission editor is refused.
    let me = admin_id(&app).await;
    let (status, _) = put_permissions(&app, &admin, &me, &[], &["admin:permissions"]).await;
    assert_eq!(status, 409);

    let (status, _) = put_permissions(&app, &admin, "no-such-user", &[], &[]).await;
    assert_eq!(status, 404);
    // Nothing was stored by the rejected requests.
    let (_, body) = send(admin.get(app.url(&format!("/api/users/{}/permissions", rita.id)))).await;
    assert_eq!(body["data"]["grants"], json!([]));
    assert_eq!(body["data"]["revocations"], json!([]));
}

#[tokio::test]
async fn roles_and_administrators_need_more_than_user_update() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let sam = app.create_user("sam").await;
    let tess = app.create_user("tess").await;
    put_permissions(&app, &admin, &sam.id, &["user:update", "user:create"], &[]).await;
    let session = app.login_as("sam", "password-sam").await;

    let (status, _) = patch(
        &app,
        &session,
        &tess.id,
        json!({ "email": "tess@example.org" }),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = patch(&app, &session, &tess.id, json!({ "role": "moderator" })).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "FORBIDDEN");
    let (status, _) = patch(&app, &session, &sam.id, json!({ "role": "admin" })).await;
    assert_eq!(status, 403);
    let (status, _) = patch(
        &app,
        &session,
        &admin_id(&app).await,
        json!({ "password": "taken-over!" }),
    )
    .await;
    assert_eq!(status, 403);

    let mut elevated = account("uma");
    elevated["role"] = json!("admin");
    assert_eq!(create(&app, &session, elevated).await.0, 403);
    assert_eq!(create(&app, &session, account("uma")).await.0, 201);
}

#[tokio::test]
async fn writes_are_audited_without_secrets_and_the_log_pages_and_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let me = admin_id(&app).await;

    let created = admin
        .post(app.url("/api/users"))
        .header("x-request-id", "create-victor")
        .json(&account("victor"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let victor: Value = created.json().await.unwrap();
    let victor = victor["data"]["id"].as_str().unwrap().to_owned();
    patch(
        &app,
        &admin,
        &victor,
        json!({ "role": "moderator", "password": "secret-pass-1" }),
    )
    .await;
    put_permissions(&app, &admin, &victor, &["admin:audit"], &[]).await;
    for name in ["wade", "xena"] {
        create(&app, &admin, account(name)).await;
    }
    send(admin.delete(app.url(&format!("/api/users/{victor}")))).await;

    let (status, body) = send(admin.get(app.url("/api/audit?action=user.created"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["total"], 3);
    let items = body["data"]["items"].as_array().unwrap();
    // Newest first.
    assert_eq!(items[0]["details"]["username"], "xena");
    let first = &items[2];
    assert_eq!(first["targetType"], "user");
    assert_eq!(first["targetId"], victor.as_str());
    assert_eq!(first["requestId"], "create-victor");
    assert_eq!(first["user"]["id"], me.as_str());
    assert_eq!(first["user"]["username"], app.admin.username.as_str());
    assert!(!first["ip"].as_str().unwrap().is_empty());

    let (_, body) = send(admin.get(app.url("/api/audit?action=user.updated"))).await;
    let update = &body["data"]["items"][0]["details"];
    assert_eq!(update["role"], json!({ "from": "user", "to": "moderator" }));
    assert_eq!(update["passwordChanged"], true);

    let (_, body) = send(admin.get(app.url("/api/audit?action=permissions.changed"))).await;
    assert_eq!(
        body["data"]["items"][0]["details"]["grants"],
        json!(["admin:audit"])
    );
    let (_, body) = send(admin.get(app.url("/api/audit?action=user.deleted"))).await;
    assert_eq!(body["data"]["total"], 1);

    let (_, body) = send(admin.get(app.url(&format!("/api/audit?userId={me}&perPage=2")))).await;
    let total = body["data"]["total"].as_u64().unwrap();
    // Login, three creations, one update, one permission change, one deletion.
    assert!(total >= 7, "{body}");
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 2);
    let (_, last) = send(admin.get(app.url(&format!(
        "/api/audit?userId={me}&perPage=2&page={}",
        total.div_ceil(2)
    ))))
    .await;
    assert_eq!(
        last["data"]["items"].as_array().unwrap().len() as u64,
        total - 2 * (total.div_ceil(2) - 1)
    );
    // The oldest entry is the admin's login.
    let oldest = last["data"]["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(oldest["action"], "auth.login");

    let (_, all) = send(admin.get(app.url("/api/audit?perPage=100"))).await;
    let text = all.to_string();
    for secret in ["password-victor", "secret-pass-1", "argon2"] {
        assert!(!text.contains(secret), "audit log leaks {secret}");
    }

    let (status, _) =
        send(admin.get(app.url(&format!("/api/audit?action={}", "x".repeat(65))))).await;
    assert_eq!(status, 422);
    let (status, _) = send(admin.get(app.url("/api/audit?page=abc"))).await;
    assert_eq!(status, 400);
}

/// An administrator as the access layer would resolve them.
async fn admin_actor(app: &TestApp, id: &str) -> Actor {
    let user = repo::users::find(&app.db, id).await.unwrap().expect("user");
    actor_of(&app.db, user).await
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let first = admin_id(&app).await;
    let mut account = account("yann");
    account["role"] = json!("admin");
    let second = create(&app, &admin, account).await.1["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Without the admin lock, PostgreSQL lets both commit within a few rounds.
    for round in 0..20 {
        for id in [&first, &second] {
            let user = repo::users::find(&app.db, id).await.unwrap().unwrap();
            let promote = UserChanges {
                role: Some("admin".into()),
                ..UserChanges::default()
            };
            repo::users::update(&app.db, user, promote).await.unwrap();
        }
        // Both are authorised before either change lands, so they race in the database.
        let (a, b) = (
            admin_actor(&app, &first).await,
            admin_actor(&app, &second).await,
        );
        let demote = || AccountChanges {
            role: Some("user".into()),
            ..AccountChanges::default()
        };
        let (one, other) = tokio::join!(
            users::update(&app.db, &a, &second, demote()),
            users::update(&app.db, &b, &first, demote()),
        );
        let outcomes = [&one, &other].map(|r| r.as_ref().map(|_| ()).map_err(ToString::to_string));
        assert!(
            matches!(
                (&one, &other),
                (Ok(_), Err(Error::Conflict(_))) | (Err(Error::Conflict(_)), Ok(_))
            ),
            "round {round}: {outcomes:?}"
        );
    }
    assert_eq!(repo::users::count_active_admins(&app.db).await.unwrap(), 1);
}
