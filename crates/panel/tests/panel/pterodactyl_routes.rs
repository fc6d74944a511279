//! The Pterodactyl-compatible server routes beyond the basics: file actions and download
//! links, startup, settings and subusers, with their shapes, errors and what a subuser
//! may do, against a real agent.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::processes::Session;
use crate::pterodactyl::{call, key, short, SMALL};
use crate::servers_on_agent::OnAgent;

/// A POST without a body, as Pterodactyl's clients send actions.
pub(crate) async fn bare_post(on: &OnAgent, key: &str, path: &str) -> (StatusCode, Value) {
    let response = on
        .app
        .client
        .post(on.app.url(path))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The names in the server's top directory.
async fn names(on: &OnAgent, key: &str, base: &str) -> Vec<String> {
    let (status, body) = call(
        on,
        key,
        Method::GET,
        &format!("{base}/files/list?directory=/"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attributes"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The first error's code, after checking the status.
pub(crate) fn refused(result: (StatusCode, Value), status: u16) -> String {
    let (got, body) = result;
    assert_eq!(got, status, "{body}");
    body["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn files_startup_settings_and_subusers_the_pterodactyl_way() {
    let on = OnAgent::start(|_| {}).await;
    let server = on
        .server("routes", serde_json::from_str(SMALL).unwrap())
        .await;
    let client = key(&on.admin, "pterodactyl_client").await;
    let base = format!("/api/client/servers/{}", short(&server));
    let post = Method::POST;

    // Copy, compress, decompress and chmod.
    let (status, body) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/create-folder"),
        Some(json!({ "root": "/", "name": "cfg" })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let write = on
        .app
        .client
        .post(on.app.url(&format!("{base}/files/write?file=/cfg/a.txt")))
        .bearer_auth(&client)
        .body("alpha\n")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 204);
    // Download: a signed URL that works once, without credentials.
    let (status, signed) = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/files/download?file=/cfg/a.txt"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["object"], "signed_url");
    let url = signed["attributes"]["url"].as_str().unwrap().to_owned();
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.text().await.unwrap(), "alpha\n");
    let again = reqwest::get(&url).await.unwrap();
    assert_eq!(again.status(), 401, "a link works once");
    let tampered = reqwest::get(format!("{url}x")).await.unwrap();
    assert_eq!(tampered.status(), 401);
    for _ in 0..2 {
        let (status, body) = call(
            &on,
            &client,
            post.clone(),
            &format!("{base}/files/copy"),
            Some(json!({ "location": "/cfg/a.txt" })),
        )
        .await;
        assert_eq!(status, 204, "{body}");
    }
    let (_, listed) = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/files/list?directory=/cfg"),
        None,
    )
    .await;
    let mut in_cfg: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attributes"]["name"].as_str().unwrap())
        .collect();
    in_cfg.sort_unstable();
    assert_eq!(in_cfg, ["a copy 1.txt", "a copy.txt", "a.txt"]);
    let (status, archive) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/compress"),
        Some(json!({ "root": "/", "files": ["cfg"] })),
    )
    .await;
    assert_eq!(status, 200, "{archive}");
    assert_eq!(archive["object"], "file_object");
    let archive_name = archive["attributes"]["name"].as_str().unwrap().to_owned();
    assert!(
        archive_name.starts_with("archive-") && archive_name.ends_with(".tar.gz"),
        "{archive}"
    );
    assert!(archive["attributes"]["size"].as_u64().unwrap() > 0);
    let (status, _) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/delete"),
        Some(json!({ "root": "/", "files": ["cfg"] })),
    )
    .await;
    assert_eq!(status, 204);
    assert!(!names(&on, &client, &base).await.contains(&"cfg".to_owned()));
    let (status, body) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/decompress"),
        Some(json!({ "root": "/", "file": archive_name })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert!(names(&on, &client, &base).await.contains(&"cfg".to_owned()));
    let (status, body) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/chmod"),
        Some(json!({ "root": "/cfg", "files": [{ "file": "a.txt", "mode": 600 }] })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, listed) = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/files/list?directory=/cfg"),
        None,
    )
    .await;
    let a = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["attributes"]["name"] == "a.txt")
        .unwrap();
    assert_eq!(a["attributes"]["mode_bits"], "600", "{a}");
    let bad_mode = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/files/chmod"),
        Some(json!({ "root": "/", "files": [{ "file": "cfg", "mode": 999 }] })),
    )
    .await;
    assert_eq!(refused(bad_mode, 422), "ValidationException");

    // Startup: egg variables, the command and the images; a variable's change.
    let (status, startup) = call(&on, &client, Method::GET, &format!("{base}/startup"), None).await;
    assert_eq!(status, 200, "{startup}");
    assert_eq!(startup["object"], "list");
    let delay = startup["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["attributes"]["env_variable"] == "STARTUP_DELAY_MS")
        .expect("the test game's delay variable");
    assert_eq!(delay["object"], "egg_variable");
    assert_eq!(delay["attributes"]["server_value"], "0");
    assert_eq!(delay["attributes"]["is_editable"], true);
    assert!(startup["meta"]["startup_command"]
        .as_str()
        .unwrap()
        .contains("cap-testgame"));
    assert!(startup["meta"]["raw_startup_command"].is_string());
    assert!(startup["meta"]["docker_images"].is_object());
    let (status, changed) = call(
        &on,
        &client,
        Method::PUT,
        &format!("{base}/startup/variable"),
        Some(json!({ "key": "STARTUP_DELAY_MS", "value": "5" })),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["attributes"]["server_value"], "5");
    let out_of_range = call(
        &on,
        &client,
        Method::PUT,
        &format!("{base}/startup/variable"),
        Some(json!({ "key": "STARTUP_DELAY_MS", "value": "999999" })),
    )
    .await;
    assert_eq!(refused(out_of_range, 422), "ValidationException");

    // Settings: rename.
    let (status, _) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/settings/rename"),
        Some(json!({ "name": "renamed", "description": "by a bot" })),
    )
    .await;
    assert_eq!(status, 204);
    let (_, shown) = call(&on, &client, Method::GET, &base, None).await;
    assert_eq!(shown["attributes"]["name"], "renamed");
    assert_eq!(shown["attributes"]["description"], "by a bot");
    assert_eq!(shown["attributes"]["is_suspended"], false);
    let blank = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/settings/rename"),
        Some(json!({ "name": "  " })),
    )
    .await;
    assert_eq!(refused(blank, 422), "ValidationException");

    // Subusers by Pterodactyl's permission names.
    on.app.create_user("helper").await;
    let (status, invited) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/users"),
        Some(json!({ "email": "helper@example.com", "permissions": ["control.console", "file.read"] })),
    )
    .await;
    assert_eq!(status, 200, "{invited}");
    assert_eq!(invited["object"], "server_subuser");
    assert_eq!(invited["attributes"]["username"], "helper");
    assert_eq!(invited["attributes"]["2fa_enabled"], false);
    assert_eq!(
        invited["attributes"]["permissions"],
        json!(["control.console", "file.read", "file.read-content"])
    );
    let uuid = invited["attributes"]["uuid"].as_str().unwrap().to_owned();
    let unknown = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/users/{uuid}"),
        Some(json!({ "permissions": ["control.fly"] })),
    )
    .await;
    assert_eq!(refused(unknown, 422), "ValidationException");
    let (status, listed) = call(&on, &client, Method::GET, &format!("{base}/users"), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"][0]["attributes"]["uuid"], uuid.as_str());

    // The subuser's own key: what they were given, nothing more.
    let helper = Session::login(&on.app.url(""), "helper", "password-helper").await;
    let helper_key = key(&helper, "pterodactyl_client").await;
    assert!(names(&on, &helper_key, &base)
        .await
        .contains(&"cfg".to_owned()));
    for (path, body) in [
        ("files/copy", json!({ "location": "/cfg/a.txt" })),
        ("files/compress", json!({ "root": "/", "files": ["cfg"] })),
        ("settings/rename", json!({ "name": "mine" })),
        (
            "users",
            json!({ "email": "admin@example.com", "permissions": [] }),
        ),
    ] {
        let result = call(
            &on,
            &helper_key,
            post.clone(),
            &format!("{base}/{path}"),
            Some(body),
        )
        .await;
        assert_eq!(refused(result, 403), "AccessDeniedHttpException", "{path}");
    }
    let (status, _) = call(
        &on,
        &helper_key,
        post.clone(),
        &format!("{base}/command"),
        Some(json!({ "command": "say hi" })),
    )
    .await;
    assert_ne!(status, 403, "control.console was granted");

    // Narrowed, then removed.
    let (status, updated) = call(
        &on,
        &client,
        post.clone(),
        &format!("{base}/users/{uuid}"),
        Some(json!({ "permissions": ["file.read"] })),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["attributes"]["permissions"],
        json!(["file.read", "file.read-content"])
    );
    let (status, _) = call(
        &on,
        &client,
        Method::DELETE,
        &format!("{base}/users/{uuid}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let gone = call(
        &on,
        &client,
        Method::GET,
        &format!("{base}/users/{uuid}"),
        None,
    )
    .await;
    assert_eq!(refused(gone, 404), "NotFoundHttpException");
    let hidden = call(&on, &helper_key, Method::GET, &base, None).await;
    assert_eq!(refused(hidden, 404), "NotFoundHttpException");

    // Reinstall: accepted, and the node runs the install again.
    let (status, _) = bare_post(&on, &client, &format!("{base}/settings/reinstall")).await;
    assert_eq!(status, 202);
    let (_, audit) = on.admin.get("/api/audit?action=server.reinstalled").await;
    assert_eq!(audit["data"]["total"], 1, "{audit}");
}
