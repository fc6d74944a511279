//! Health report, monitoring overview and Prometheus metrics.

use cap_panel::db::entities::node;
use cap_panel::services::health::{self, Status};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde_json::Value;

use crate::support::{fresh_db, world, TestApp};

async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let response = client.get(url).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn set_status(app: &TestApp, node: node::Model, status: &str) {
    let mut row = node.into_active_model();
    row.status = Set(status.to_owned());
    row.update(&app.db).await.expect("update node status");
}

#[tokio::test]
async fn health_is_healthy_on_a_fresh_panel_and_degraded_with_an_offline_node() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let url = app.url("/api/monitoring/health");

    let (status, body) = get_json(&admin, url.clone()).await;
    assert_eq!(status, 200, "{body}");
    let report = &body["data"];
    assert_eq!(report["service"], "ctrl-alt-play-panel");
    assert_eq!(report["status"], "healthy");
    assert!(report["timestamp"].is_string());
    assert_eq!(report["details"]["database"], true);
    assert!(report["details"]["databaseLatencyMs"].as_f64().unwrap() >= 0.0);
    assert!(report["details"]["uptime"].is_u64());
    assert_eq!(report["details"]["agents"]["total"], 0);

    // A node that has not been contacted yet does not degrade the panel.
    let w = world(&app.db, "health").await;
    let (_, body) = get_json(&admin, url.clone()).await;
    assert_eq!(body["data"]["status"], "healthy");
    assert_eq!(body["data"]["details"]["agents"]["unknown"], 1);

    set_status(&app, w.node.clone(), "offline").await;
    let (status, body) = get_json(&admin, url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "degraded");
    assert_eq!(body["data"]["details"]["agents"]["offline"], 1);
    assert_eq!(body["data"]["details"]["agents"]["total"], 1);

    set_status(&app, w.node, "online").await;
    let (_, body) = get_json(&admin, url).await;
    assert_eq!(body["data"]["status"], "healthy");
    assert_eq!(body["data"]["details"]["agents"]["online"], 1);
}

#[tokio::test]
async fn health_is_unhealthy_when_the_database_is_gone() {
    let (db, _guard) = fresh_db().await;
    assert_eq!(health::check(&db, 5).await.status, Status::Healthy);
    let closed = db.clone();
    closed.close().await.expect("close the pool");
    let report = health::check(&db, 5).await;
    assert_eq!(report.status, Status::Unhealthy);
    assert!(!report.details.database);
    assert!(report.details.agents.is_none());
    assert!(report.details.database_latency_ms.is_none());
}

#[tokio::test]
async fn overview_shows_the_panel_process_and_nodes_with_server_counts() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let w = world(&app.db, "overview").await;

    let (status, body) = get_json(&admin, app.url("/api/monitoring")).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    // The panel under test runs inside this test process.
    assert_eq!(data["panel"]["pid"], std::process::id());
    assert!(data["panel"]["rssBytes"].as_u64().unwrap() > 1024 * 1024);
    assert!(data["panel"]["cpuPercent"].as_f64().unwrap() >= 0.0);
    assert!(data["panel"]["database"].is_string());

    let nodes = data["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["id"], w.node.id.as_str());
    assert_eq!(nodes[0]["status"], "unknown");
    assert_eq!(nodes[0]["memoryMb"], 4096);
    assert!(nodes[0]["lastSeenAt"].is_null());
    assert_eq!(nodes[0]["servers"]["total"], 1);
    assert_eq!(nodes[0]["servers"]["states"]["offline"], 1);
    assert_eq!(data["servers"]["total"], 1);
    assert_eq!(data["unassigned"]["total"], 0);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let user = app.create_user("metered").await;
    for _ in 0..2 {
        let response = admin
            .get(app.url(&format!("/api/users/{}", user.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let missing = app
        .client
        .get(app.url("/api/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let response = admin.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();

    assert!(
        text.contains(
            r#"cap_panel_http_requests_total{method="GET",route="/api/users/{user_id}",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"cap_panel_http_request_duration_seconds_count{method="GET",route="/api/users/{user_id}"} 2"#
    ));
    assert!(text.contains(
        r#"cap_panel_http_requests_total{method="POST",route="/api/auth/login",status="200"} 1"#
    ));
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(!text.contains(&user.id), "raw paths never become labels");
    assert!(text.contains("cap_panel_uptime_seconds "));
    assert!(text.contains(r#"cap_panel_db_connections{state="idle"}"#));
    assert!(text.contains(r#"cap_panel_nodes{state="online"} 0"#));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn metrics_need_an_administrator_or_the_scrape_token() {
    const TOKEN: &str = "scrape-token-0123456789";
    let app = TestApp::spawn_with(|config| config.metrics_token = Some(TOKEN.into())).await;
    let status = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        (status, body)
    };
    let url = app.url("/metrics");

    let (anonymous, body) = status(app.client.get(&url)).await;
    assert_eq!(anonymous, 401, "{body}");
    assert!(body.contains("UNAUTHORIZED"), "{body}");
    let (wrong, _) = status(app.client.get(&url).bearer_auth("scrape-token-012345678X")).await;
    assert_eq!(wrong, 401);
    let (scraper, body) = status(app.client.get(&url).bearer_auth(TOKEN)).await;
    assert_eq!(scraper, 200);
    assert!(body.contains("cap_panel_uptime_seconds"), "{body}");

    app.create_user("viewer").await;
    let user = app.login_as("viewer", "password-viewer").await;
    let (forbidden, body) = status(user.get(&url)).await;
    assert_eq!(forbidden, 403, "{body}");
    assert!(body.contains("FORBIDDEN"), "{body}");
    let (admin, _) = status(app.admin_client().await.get(&url)).await;
    assert_eq!(admin, 200);
}
