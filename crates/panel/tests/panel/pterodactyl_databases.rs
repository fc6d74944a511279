//! A server's databases through the Pterodactyl-compatible client API, on the MariaDB and
//! PostgreSQL test hosts (each skipped, saying so, without its host; see `databases.rs`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::databases::{setup, Engine};
use crate::support::send;

#[tokio::test]
async fn mysql_databases_the_pterodactyl_way() {
    databases_the_pterodactyl_way(Engine::Mysql, "ptmy").await;
}

#[tokio::test]
async fn postgres_databases_the_pterodactyl_way() {
    databases_the_pterodactyl_way(Engine::Postgres, "ptpg").await;
}

async fn databases_the_pterodactyl_way(engine: Engine, tag: &str) {
    let Some(s) = setup(engine, tag, 1).await else {
        return;
    };
    let (server, owner) = &s.servers[0];
    let (status, created) = send(
        owner
            .post(s.app.url("/api/auth/api-keys"))
            .json(&json!({ "name": "bot", "family": "pterodactyl_client" })),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let key = created["data"]["secret"].as_str().unwrap().to_owned();
    let base = format!(
        "/api/client/servers/{}/databases",
        &server.id[server.id.len() - 8..]
    );
    let call = |method: Method, path: String, body: Option<Value>| {
        let mut request = s
            .app
            .client
            .request(method, s.app.url(&path))
            .bearer_auth(&key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request)
    };

    let (status, db) = call(
        Method::POST,
        base.clone(),
        Some(json!({ "database": "stats", "remote": "%" })),
    )
    .await;
    assert_eq!(status, 200, "{db}");
    assert_eq!(db["object"], "server_database");
    let attributes = &db["attributes"];
    assert!(attributes["name"].as_str().unwrap().ends_with("_stats"));
    assert_eq!(attributes["connections_from"], "%");
    assert_eq!(attributes["host"]["address"], "127.0.0.1");
    let first = attributes["relationships"]["password"]["attributes"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = attributes["id"].as_str().unwrap().to_owned();

    // Past the limit: Pterodactyl's conflict.
    let (status, body) = call(
        Method::POST,
        base.clone(),
        Some(json!({ "database": "more" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["errors"][0]["code"], "ConflictHttpException");

    let (status, listed) = call(Method::GET, base.clone(), None).await;
    assert_eq!(status, 200);
    assert!(listed["data"][0]["attributes"]["relationships"].is_null());
    let (_, listed) = call(Method::GET, format!("{base}?include=password"), None).await;
    assert_eq!(
        listed["data"][0]["attributes"]["relationships"]["password"]["attributes"]["password"],
        first.as_str()
    );
    let (status, rotated) = call(Method::POST, format!("{base}/{id}/rotate-password"), None).await;
    assert_eq!(status, 200, "{rotated}");
    let second = &rotated["attributes"]["relationships"]["password"]["attributes"]["password"];
    assert!(second.is_string() && second != first.as_str(), "{rotated}");
    let (status, _) = call(Method::DELETE, format!("{base}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = call(Method::GET, base, None).await;
    assert_eq!(listed["data"], json!([]));
}
