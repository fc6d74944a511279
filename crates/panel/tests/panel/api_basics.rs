//! Envelope, request ids and liveness over real HTTP.

use serde_json::Value;

use crate::support::TestApp;

#[tokio::test]
async fn health_answers_in_the_envelope() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["status"], "ok");
    assert_eq!(body["requestId"], request_id.as_str());
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn unknown_api_routes_get_a_json_404_echoing_the_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/does-not-exist"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["requestId"], "trace-me-42");
}

#[tokio::test]
async fn a_forged_request_id_is_replaced() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(id, "bad id with spaces");
    assert!(uuid::Uuid::parse_str(id).is_ok());
}

#[tokio::test]
async fn the_web_ui_or_a_build_hint_is_served_for_client_routes() {
    let app = TestApp::spawn().await;
    for path in ["/", "/servers/some-id/console", "/admin/nodes"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(response.headers().contains_key("content-security-policy"));
        let html = response.text().await.unwrap();
        // The built UI when web/dist exists (scripts/test builds it first), else the hint.
        let built =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist/index.html");
        match std::fs::read_to_string(&built) {
            Ok(index) => assert_eq!(html, index, "{path} serves the built UI"),
            Err(_) => assert!(html.contains("was not built"), "{path}: {html}"),
        }
    }
    let missing_asset = app
        .client
        .get(app.url("/assets/nope-123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing_asset.status(), 404);
    let api = app.client.get(app.url("/api/nope")).send().await.unwrap();
    assert_eq!(api.headers()["content-type"], "application/json");
}
