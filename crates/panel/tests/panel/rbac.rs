//! The RBAC matrix: every declared route, anonymous → 401, lacking its permission → 403,
//! holding it → through. Routes come from the router's own registry.

use cap_panel::http::access::Access;
use cap_panel::repo;
use reqwest::Method;

use crate::support::{world, TestApp};

#[tokio::test]
async fn every_route_enforces_its_permission() {
    let app = TestApp::spawn().await;
    let state_specs = cap_panel::http::route_specs(app.state.clone());
    assert!(state_specs.len() >= 8, "routes are registered");

    let w = world(&app.db, "matrix").await;
    let user = app.create_user("matrix-user").await;
    // The server under test belongs to our user, so server routes reach the permission check.
    let server = repo::servers::create(
        &app.db,
        crate::support::new_server(&user.id, Some(&w.node.id), &w.alt.id),
    )
    .await
    .unwrap();

    let mut checked = 0;
    for spec in state_specs {
        let path = spec
            .path
            .replace("{id}", &server.id)
            .replace("{key_id}", &uuid::Uuid::now_v7().to_string())
            // The caller's own account: user routes reach their checks without changing
            // anyone else (deleting yourself is refused with 409).
            .replace("{user_id}", &user.id);
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
        let send = |client: &reqwest::Client| {
            let mut request = client.request(method.clone(), app.url(&path));
            if method != Method::GET && method != Method::DELETE {
                request = request.json(&serde_json::json!({}));
            }
            request.send()
        };
        let key = match spec.access {
            Access::Public => continue,
            Access::Authenticated => None,
            Access::Permission(key) | Access::Server(key) => Some(key),
        };
        let anonymous = send(&app.client).await.unwrap().status();
        assert_eq!(anonymous, 401, "{} {} anonymous", spec.method, spec.path);

        if let Some(key) = key {
            // Revoke exactly this key from the user, then grant it back.
            let revoked = repo::permissions::set(&app.db, &user.id, key, false)
                .await
                .unwrap();
            let client = app.login_as("matrix-user", "password-matrix-user").await;
            let status = send(&client).await.unwrap().status();
            assert_eq!(status, 403, "{} {} without {key}", spec.method, spec.path);
            use sea_orm::EntityTrait;
            cap_panel::db::entities::user_permission::Entity::delete_by_id(revoked.id)
                .exec(&app.db)
                .await
                .unwrap();
            let granted = repo::permissions::set(&app.db, &user.id, key, true)
                .await
                .unwrap();
            let status = send(&client).await.unwrap().status();
            assert!(
                status != 401 && status != 403,
                "{} {} with {key}: {status}",
                spec.method,
                spec.path
            );
            cap_panel::db::entities::user_permission::Entity::delete_by_id(granted.id)
                .exec(&app.db)
                .await
                .unwrap();
        } else {
            let client = app.login_as("matrix-user", "password-matrix-user").await;
            let status = send(&client).await.unwrap().status();
            assert!(
                status != 401 && status != 403,
                "{} {}: {status}",
                spec.method,
                spec.path
            );
        }
        checked += 1;
    }
    assert!(checked > 0);
}
