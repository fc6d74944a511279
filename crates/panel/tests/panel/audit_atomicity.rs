//! A change and its audit entry are one transaction: when the entry cannot be stored
//! (a trigger on the audit table refuses every insert), the change is rolled back and
//! the caller gets an internal error.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde_json::{json, Value};

use cap_panel::repo;

use crate::support::{world, TestApp};

/// Makes every insert into the audit table fail, on either backend.
async fn refuse_audit_entries(db: &DatabaseConnection) {
    let statements: &[&str] = match db.get_database_backend() {
        DbBackend::Sqlite => &["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             BEGIN SELECT RAISE(ABORT, 'the audit log refuses entries'); END"],
        DbBackend::Postgres => &[
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the audit log refuses entries'; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ],
        other => panic!("no test trigger for {other:?}"),
    };
    for statement in statements {
        db.execute_unprepared(statement)
            .await
            .expect("create the refusing trigger");
    }
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

fn assert_internal(status: StatusCode, body: &Value) {
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["code"], "INTERNAL_ERROR", "{body}");
}

#[tokio::test]
async fn a_change_whose_audit_entry_fails_is_rolled_back() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let w = world(&app.db, "audited").await;
    let (status, key) = send(
        admin
            .post(app.url("/api/auth/api-keys"))
            .json(&json!({ "name": "kept" })),
    )
    .await;
    assert_eq!(status, 200, "{key}");
    let key_id = key["data"]["id"].as_str().unwrap().to_owned();
    let unused = repo::ctrls::create(&app.db, "Unused", "").await.unwrap();
    let sessions = session_count(&app.db).await;
    refuse_audit_entries(&app.db).await;

    // A new record: the category is not stored.
    let (status, body) = send(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": "Never stored" })),
    )
    .await;
    assert_internal(status, &body);
    let stored = repo::ctrls::find_by_name(&app.db, "Never stored").await;
    assert!(
        stored.unwrap().is_none(),
        "the category outlived its audit entry"
    );

    // A change of settings: the server keeps its name.
    let (status, body) = send(
        admin
            .patch(app.url(&format!("/api/servers/{}", w.server.id)))
            .json(&json!({ "name": "renamed" })),
    )
    .await;
    assert_internal(status, &body);
    let server = repo::servers::find(&app.db, &w.server.id).await.unwrap();
    assert_eq!(server.expect("server").name, w.server.name);

    // A deletion: the API key is still listed.
    let (status, body) = send(admin.delete(app.url(&format!("/api/auth/api-keys/{key_id}")))).await;
    assert_internal(status, &body);
    let (_, keys) = send(admin.get(app.url("/api/auth/api-keys"))).await;
    assert_eq!(keys["data"][0]["id"], key_id.as_str(), "{keys}");

    // A deletion of a category: it stays.
    let (status, body) = send(admin.delete(app.url(&format!("/api/ctrls/{}", unused.id)))).await;
    assert_internal(status, &body);
    assert!(repo::ctrls::find(&app.db, &unused.id)
        .await
        .unwrap()
        .is_some());

    // A sign-in: no session is created for it.
    let login = json!({ "login": app.admin.username, "password": app.admin.password });
    let (status, body) = send(app.client.post(app.url("/api/auth/login")).json(&login)).await;
    assert_internal(status, &body);
    assert_eq!(session_count(&app.db).await, sessions);
}

async fn session_count(db: &DatabaseConnection) -> i64 {
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM sessions",
        ))
        .await
        .expect("count sessions")
        .expect("a row");
    row.try_get("", "n").expect("a count")
}
