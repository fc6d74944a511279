//! The Pterodactyl-compatible client API: its shapes, paging, errors, key families and
//! subuser permissions, and a real client (pydactyl) driving it against a real agent.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::servers_on_agent::OnAgent;

pub(crate) const SMALL: &str = r#"{ "memoryMb": 128, "cpuPercent": 100, "diskMb": 256 }"#;

/// A key of `family` for the session's user.
pub(crate) async fn key(session: &crate::processes::Session, family: &str) -> String {
    let (status, body) = session
        .post(
            "/api/auth/api-keys",
            json!({ "name": format!("{family} key"), "family": family }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let secret = body["data"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(body["data"]["family"], family);
    secret
}

pub(crate) async fn call(
    on: &OnAgent,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = on
        .app
        .client
        .request(method, on.app.url(path))
        .bearer_auth(key)
        .header("accept", "application/json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn short(id: &str) -> &str {
    &id[id.len() - 8..]
}

#[tokio::test]
async fn the_client_api_speaks_pterodactyl_to_client_keys_only() {
    let on = OnAgent::start(|_| {}).await;
    let small: Value = serde_json::from_str(SMALL).unwrap();
    let first = on.server("ptero-one", small.clone()).await;
    let second = on.server("ptero-two", small).await;
    let client = key(&on.admin, "pterodactyl_client").await;
    let panel = key(&on.admin, "panel").await;
    assert!(client.starts_with("ptlc_") && panel.starts_with("cap_"));

    // Each family opens only its own API.
    let get = reqwest::Method::GET;
    let (status, body) = call(&on, &panel, get.clone(), "/api/client", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["errors"][0]["code"], "AuthenticationException",
        "{body}"
    );
    assert_eq!(body["errors"][0]["status"], "401");
    let (status, _) = call(&on, &client, get.clone(), "/api/servers", None).await;
    assert_eq!(status, 401, "a client key on the panel's own API");

    // Lists: object, data of items, Pterodactyl's pagination with links.
    let (status, body) = call(&on, &client, get.clone(), "/api/client?per_page=1", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["object"], "server");
    let pagination = &body["meta"]["pagination"];
    assert_eq!(
        (
            &pagination["total"],
            &pagination["count"],
            &pagination["per_page"],
            &pagination["current_page"],
            &pagination["total_pages"]
        ),
        (&json!(2), &json!(1), &json!(1), &json!(1), &json!(2)),
        "{pagination}"
    );
    assert_eq!(pagination["links"]["next"], "/api/client?page=2&per_page=1");
    assert!(pagination["links"].get("previous").is_none());
    let (_, body) = call(
        &on,
        &client,
        get.clone(),
        "/api/client?page=2&per_page=1",
        None,
    )
    .await;
    assert_eq!(
        body["meta"]["pagination"]["links"]["previous"],
        "/api/client?page=1&per_page=1"
    );
    let (status, body) = call(&on, &client, get.clone(), "/api/client?per_page=500", None).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["code"], "ValidationException");
    assert_eq!(body["errors"][0]["meta"]["source_field"], "per_page");

    // A server by its short identifier or its uuid.
    for id in [short(&first), first.as_str()] {
        let (status, body) = call(
            &on,
            &client,
            get.clone(),
            &format!("/api/client/servers/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["object"], "server");
        assert_eq!(body["attributes"]["identifier"], short(&first));
        assert_eq!(body["attributes"]["uuid"], first.as_str());
        assert_eq!(body["attributes"]["limits"]["memory"], 128);
        assert_eq!(body["attributes"]["meta"]["user_permissions"], json!(["*"]));
    }
    let (status, body) = call(
        &on,
        &client,
        get.clone(),
        "/api/client/servers/00000000",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["errors"][0]["code"], "NotFoundHttpException");
    let (status, body) = call(
        &on,
        &client,
        get.clone(),
        &format!("/api/client/servers/{}/resources", short(&second)),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "stats");
    assert_eq!(body["attributes"]["current_state"], "offline");
    let post = reqwest::Method::POST;
    let (status, body) = call(
        &on,
        &client,
        post.clone(),
        &format!("/api/client/servers/{}/power", short(&second)),
        Some(json!({ "signal": "dance" })),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["meta"]["source_field"], "signal");
    let (status, body) = call(&on, &client, get.clone(), "/api/client/permissions", None).await;
    assert_eq!(status, 200);
    assert!(
        body["attributes"]["permissions"]["control"]["keys"]["console"].is_string(),
        "{body}"
    );
    let (status, body) = call(&on, &client, get.clone(), "/api/client/account", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["attributes"]["admin"], true);
    let (status, body) = call(
        &on,
        &client,
        get.clone(),
        "/api/client/servers/x/backups/nothing",
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // A subuser sees only the server shared with them and does only what they may.
    let (status, _) = on
        .admin
        .post("/api/users", json!({ "username": "sub", "email": "sub@example.com", "password": "password-sub", "role": "user" }))
        .await;
    assert_eq!(status, 201);
    let (status, body) = on
        .admin
        .post(
            &format!("/api/servers/{first}/subusers"),
            json!({ "username": "sub", "permissions": ["console:view", "file:read"] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let sub = crate::processes::Session::login(&on.app.url(""), "sub", "password-sub").await;
    let sub_key = key(&sub, "pterodactyl_client").await;
    let (_, body) = call(&on, &sub_key, get.clone(), "/api/client", None).await;
    let listed: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["attributes"]["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [short(&first)]);
    let perms = &body["data"][0]["attributes"]["meta"]["user_permissions"];
    assert_eq!(
        perms,
        &json!([
            "websocket.connect",
            "user.read",
            "file.read",
            "file.read-content",
            "startup.read"
        ]),
        "{body}"
    );
    let (status, body) = call(
        &on,
        &sub_key,
        post.clone(),
        &format!("/api/client/servers/{}/command", short(&first)),
        Some(json!({ "command": "say hi" })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["code"], "AccessDeniedHttpException");
    let (status, _) = call(
        &on,
        &sub_key,
        get.clone(),
        &format!("/api/client/servers/{}", short(&second)),
        None,
    )
    .await;
    assert_eq!(
        status, 404,
        "a server not shared with them does not exist for them"
    );
    let (status, body) = call(
        &on,
        &sub_key,
        get,
        &format!(
            "/api/client/servers/{}/files/list?directory=/",
            short(&first)
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
}

/// The Python interpreter that has pydactyl (set by `scripts/test`).
fn pydactyl_python() -> Option<String> {
    let python = std::env::var("CAP_PYDACTYL_PYTHON").ok()?;
    let ok = Command::new(&python)
        .args(["-c", "import pydactyl"])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

#[tokio::test]
async fn pydactyl_drives_a_real_server() {
    let Some(python) = pydactyl_python() else {
        assert!(
            std::env::var_os("CAP_REQUIRE_PYDACTYL").is_none(),
            "pydactyl is required here: scripts/test installs it and sets CAP_PYDACTYL_PYTHON"
        );
        eprintln!("skipped: pydactyl is not installed (scripts/test installs it)");
        return;
    };
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server("pydactyl", serde_json::from_str(SMALL).unwrap())
        .await;
    let (status, body) = on
        .admin
        .call(
            reqwest::Method::PATCH,
            &format!("/api/servers/{server}"),
            Some(json!({ "backups": { "limit": 1 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let client = key(&on.admin, "pterodactyl_client").await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/panel/pydactyl_client.py"
    );
    let url = on.app.url("");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &url, &client, short(&server)])
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pydactyl script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "listed",
        "running",
        "command sent",
        "files",
        "startup",
        "allocations",
        "backups",
        "renamed",
        "stopped",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(step)),
            "{step} missing:\n{stdout}"
        );
    }
    let (_, audit) = on.admin.get("/api/audit?action=server.power").await;
    assert_eq!(
        audit["data"]["total"], 2,
        "start and stop recorded: {audit}"
    );
    let (_, audit) = on.admin.get("/api/audit?action=file.write").await;
    assert_eq!(audit["data"]["items"][0]["details"]["path"], "pydactyl.txt");
}
