//! Servers over HTTP without an agent: the dashboard's list and search, subuser grants,
//! and what the API refuses before anything reaches a node.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use cap_panel::repo;

use crate::support::{new_server, world, TestApp};

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn names(app: &TestApp, client: &Client, query: &str) -> Vec<String> {
    let (status, body) = send(client.get(app.url(&format!("/api/servers{query}")))).await;
    assert_eq!(status, 200, "{query}: {body}");
    let mut names: Vec<String> = body["data"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_lowercase())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_dashboard_search_filters_by_server_name_for_admins_and_owners() {
    let app = TestApp::spawn().await;
    let w = world(&app.db, "search").await;
    let owner = app.create_user("searcher").await;
    for name in ["Alpha Base", "bravo", "CHARLIE"] {
        let mut server = new_server(&owner.id, Some(&w.node.id), &w.alt.id);
        server.name = name.into();
        repo::servers::create(&app.db, server).await.unwrap();
    }

    // The node, template and owner all have names too; only the server's counts.
    let admin = app.admin_client().await;
    assert_eq!(
        names(&app, &admin, "?name=a").await,
        ["alpha base", "bravo", "charlie", "survival"]
    );
    assert_eq!(names(&app, &admin, "?name=ALPHA").await, ["alpha base"]);
    assert_eq!(
        names(&app, &admin, "?name=node").await,
        Vec::<String>::new()
    );
    assert_eq!(names(&app, &admin, "?name=surv").await, ["survival"]);
    assert_eq!(names(&app, &admin, "?name=%25").await, Vec::<String>::new());

    let client = app.login_as("searcher", "password-searcher").await;
    assert_eq!(names(&app, &client, "?name=r").await, ["bravo", "charlie"]);
    assert_eq!(
        names(&app, &client, "?name=surv").await,
        Vec::<String>::new()
    );
}

async fn invite(
    app: &TestApp,
    client: &Client,
    server: &str,
    username: &str,
    permissions: &[&str],
) -> (StatusCode, Value) {
    send(
        client
            .post(app.url(&format!("/api/servers/{server}/subusers")))
            .json(&json!({ "username": username, "permissions": permissions })),
    )
    .await
}

async fn regrant(
    app: &TestApp,
    client: &Client,
    server: &str,
    subuser: &str,
    permissions: &[&str],
) -> (StatusCode, Value) {
    send(
        client
            .patch(app.url(&format!("/api/servers/{server}/subusers/{subuser}")))
            .json(&json!({ "permissions": permissions })),
    )
    .await
}

#[tokio::test]
async fn owners_grant_subusers_only_what_they_hold_themselves() {
    let app = TestApp::spawn().await;
    let w = world(&app.db, "grants").await;
    let owner = app.create_user("granter").await;
    app.create_user("helper").await;
    let server = repo::servers::create(&app.db, new_server(&owner.id, Some(&w.node.id), &w.alt.id))
        .await
        .unwrap();
    let client = app.login_as("granter", "password-granter").await;

    // The `user` role has network:view but not network:manage.
    let (status, body) = invite(
        &app,
        &client,
        &server.id,
        "helper",
        &["console:view", "network:manage"],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "FORBIDDEN");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("network:manage"), "{message}");
    assert!(!message.contains("console:view"), "{message}");
    let (status, body) =
        send(client.get(app.url(&format!("/api/servers/{}/subusers", server.id)))).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!([]), "nothing was stored");

    let (status, body) = invite(&app, &client, &server.id, "helper", &["console:view"]).await;
    assert_eq!(status, 200, "{body}");
    let subuser = body["data"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = regrant(
        &app,
        &client,
        &server.id,
        &subuser,
        &["console:view", "network:manage"],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("network:manage"));

    // Keys outside the server scope stay a validation error.
    let (status, body) = regrant(&app, &client, &server.id, &subuser, &["admin:nodes"]).await;
    assert_eq!(status, 422, "{body}");

    // An administrator holds everything; the owner may then keep (not add) what they lack.
    let admin = app.admin_client().await;
    let (status, body) = regrant(
        &app,
        &admin,
        &server.id,
        &subuser,
        &["console:view", "network:manage"],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = regrant(
        &app,
        &client,
        &server.id,
        &subuser,
        &["console:view", "console:command", "network:manage"],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"][0]["permissions"],
        json!(["console:command", "console:view", "network:manage"])
    );

    // An owner whose own grant was narrowed cannot pass on what was taken away.
    repo::permissions::set(&app.db, &owner.id, "file:delete", false)
        .await
        .unwrap();
    let client = app.login_as("granter", "password-granter").await;
    let (status, body) = regrant(&app, &client, &server.id, &subuser, &["file:delete"]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("file:delete"));
}

#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_validation_error_on_every_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    for path in [
        "/api/servers/%FF",
        "/api/servers/%C3%28/subusers",
        "/api/agents/%FF%FE",
        "/api/users/%80",
        "/api/nothing/%FF",
    ] {
        let (status, body) = send(admin.get(app.url(path))).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["code"], "VALIDATION_ERROR", "{path}");
        assert!(body["requestId"].is_string(), "{path}: {body}");
    }
    // Percent-encoded UTF-8 is fine: an unknown server, not a bad request.
    let (status, _) = send(admin.get(app.url("/api/servers/caf%C3%A9"))).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn names_are_trimmed_then_checked_and_control_characters_refused() {
    let app = TestApp::spawn().await;
    let w = world(&app.db, "names").await;
    let admin = app.admin_client().await;
    let bad_names = [
        " ",
        "\t",
        "two\nlines",
        "nul\u{0}byte",
        "bell\u{7}",
        "esc\u{1b}[2J",
    ];

    for name in bad_names {
        let body = json!({
            "name": name, "nodeId": w.node.id, "altId": w.alt.id,
            "limits": { "memoryMb": 0, "cpuPercent": 0, "diskMb": 0 },
        });
        let (status, body) = send(admin.post(app.url("/api/servers")).json(&body)).await;
        assert_eq!(status, 422, "server {name:?}: {body}");
        assert!(body["details"]["name"].is_array(), "{body}");

        let path = format!("/api/servers/{}", w.server.id);
        let (status, body) = send(admin.patch(app.url(&path)).json(&json!({ "name": name }))).await;
        assert_eq!(status, 422, "rename to {name:?}: {body}");

        let node = json!({
            "name": name, "address": "127.0.0.1", "memoryMb": 1024, "diskMb": 1024,
            "portRangeStart": 30000, "portRangeEnd": 30010,
        });
        let (status, body) = send(admin.post(app.url("/api/agents")).json(&node)).await;
        assert_eq!(status, 422, "node {name:?}: {body}");

        let (status, body) = send(
            admin
                .post(app.url("/api/ctrls"))
                .json(&json!({ "name": name })),
        )
        .await;
        assert_eq!(status, 422, "category {name:?}: {body}");

        let (status, body) = send(
            admin
                .post(app.url("/api/auth/api-keys"))
                .json(&json!({ "name": name })),
        )
        .await;
        assert_eq!(status, 422, "API key {name:?}: {body}");
    }

    // What was checked is what is stored: the trimmed name.
    let path = format!("/api/servers/{}", w.server.id);
    let (status, body) = send(
        admin
            .patch(app.url(&path))
            .json(&json!({ "name": "  Creative  " })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Creative");
    let stored = repo::servers::find(&app.db, &w.server.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Creative");
    let (status, body) = send(
        admin
            .post(app.url("/api/ctrls"))
            .json(&json!({ "name": " Shooters " })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Shooters");
}
