//! Login, refresh rotation and reuse detection, logout, tokens, API keys.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{get_json, new_api_key, TestApp};

fn cookie_value(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("{name} cookie set"))
        .to_owned()
}

/// What `GET /api/auth/me` answers this client.
async fn me_status(app: &TestApp, client: &reqwest::Client) -> StatusCode {
    client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn login_raw(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn me_with_access(app: &TestApp, access: &str) -> StatusCode {
    app.client
        .get(app.url("/api/auth/me"))
        .header(COOKIE, format!("cap_access={access}"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn me_with_bearer(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .get(app.url("/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn change_password(
    app: &TestApp,
    client: &reqwest::Client,
    current: &str,
    new: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/auth/password"))
        .json(&json!({ "currentPassword": current, "newPassword": new }))
        .send()
        .await
        .unwrap()
}

async fn refresh_with(app: &TestApp, refresh: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/refresh"))
        .header(COOKIE, format!("cap_refresh={refresh}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn login_by_username_or_email_sets_strict_http_only_cookies() {
    let app = TestApp::spawn().await;
    app.create_user("carol").await;
    for login in ["carol", "Carol@Example.com"] {
        let response = login_raw(&app, login, "password-carol").await;
        assert_eq!(response.status(), 200, "{login}");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for name in ["cap_access=", "cap_refresh="] {
            let cookie = set_cookies
                .iter()
                .find(|c| c.starts_with(name))
                .expect("cookie");
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
                "{cookie}"
            );
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["user"]["username"], "carol");
        assert!(body["data"]["user"].get("passwordHash").is_none());
        assert!(body["data"]["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("server:view")));
    }
    let wrong = login_raw(&app, "carol", "nope").await;
    assert_eq!(wrong.status(), 401);
    let unknown = login_raw(&app, "nobody", "nope").await;
    assert_eq!(unknown.status(), 401);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn me_returns_profile_and_effective_permissions() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let body = get_json(&admin, &app.url("/api/auth/me")).await;
    assert_eq!(body["data"]["user"]["role"], "admin");
    assert_eq!(body["data"]["permissions"].as_array().unwrap().len(), 36);
    let anonymous = app
        .client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    app.create_user("dave").await;
    let first = login_raw(&app, "dave", "password-dave").await;
    let access1 = cookie_value(&first, "cap_access");
    let refresh1 = cookie_value(&first, "cap_refresh");

    let second = refresh_with(&app, &refresh1).await;
    assert_eq!(second.status(), 200);
    let access2 = cookie_value(&second, "cap_access");
    let refresh2 = cookie_value(&second, "cap_refresh");
    assert_ne!(refresh1, refresh2);
    assert_eq!(me_with_access(&app, &access2).await, 200);

    // Presenting the rotated token again is theft or a replay: the whole login ends.
    let reused = refresh_with(&app, &refresh1).await;
    assert_eq!(reused.status(), 401);
    assert_eq!(refresh_with(&app, &refresh2).await.status(), 401);
    assert_eq!(me_with_access(&app, &access2).await, 401);
    assert_eq!(me_with_access(&app, &access1).await, 401);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    assert_eq!(me_status(&app, &admin).await, 200);
    let response = admin
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(me_status(&app, &admin).await, 401);
    assert_eq!(
        admin
            .post(app.url("/api/auth/refresh"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn tampered_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    app.create_user("erin").await;
    let response = login_raw(&app, "erin", "password-erin").await;
    let access = cookie_value(&response, "cap_access");
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    assert_eq!(me_with_access(&app, &parts.join(".")).await, 401);
    assert_eq!(me_with_access(&app, "not.a.jwt").await, 401);
    // Signed with another key (another panel's).
    let other = TestApp::spawn().await;
    other.create_user("erin").await;
    let foreign = cookie_value(
        &login_raw(&other, "erin", "password-erin").await,
        "cap_access",
    );
    assert_eq!(me_with_access(&app, &foreign).await, 401);
}

#[tokio::test]
async fn disabled_users_cannot_log_in_and_their_tokens_stop_working() {
    use cap_panel::db::entities::user;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

    let app = TestApp::spawn().await;
    let frank = app.create_user("frank").await;
    let client = app.login_as("frank", "password-frank").await;
    let mut model = frank.into_active_model();
    model.disabled = Set(true);
    let _: user::Model = model.update(&app.db).await.unwrap();
    assert_eq!(me_status(&app, &client).await, 401);
    assert_eq!(
        login_raw(&app, "frank", "password-frank").await.status(),
        401
    );
}

#[tokio::test]
async fn changing_the_password_requires_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.create_user("gina").await;
    let laptop = app.login_as("gina", "password-gina").await;
    let phone = app.login_as("gina", "password-gina").await;
    let wrong = change_password(&app, &laptop, "guess", "a brand new password").await;
    assert_eq!(wrong.status(), 422);
    let weak = change_password(&app, &laptop, "password-gina", "short").await;
    assert_eq!(weak.status(), 422);
    let body: Value = weak.json().await.unwrap();
    assert!(body["details"]["newPassword"].is_array(), "{body}");
    let ok = change_password(&app, &laptop, "password-gina", "a brand new password").await;
    assert_eq!(ok.status(), 200);
    assert_eq!(me_status(&app, &laptop).await, 200);
    assert_eq!(me_status(&app, &phone).await, 401);
    assert_eq!(login_raw(&app, "gina", "password-gina").await.status(), 401);
    assert_eq!(
        login_raw(&app, "gina", "a brand new password")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn api_keys_authenticate_within_their_owners_permissions() {
    let app = TestApp::spawn().await;
    app.create_user("hank").await;
    let hank = app.login_as("hank", "password-hank").await;
    let too_much = hank
        .post(app.url("/api/auth/api-keys"))
        .json(&json!({ "name": "ci", "permissions": ["admin:nodes"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(too_much.status(), 422);

    let created: Value = hank
        .post(app.url("/api/auth/api-keys"))
        .json(&json!({ "name": "ci", "permissions": ["server:view"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = created["data"]["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let id = created["data"]["id"].as_str().unwrap().to_owned();

    let me: Value = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["user"]["username"], "hank");
    assert_eq!(me["data"]["permissions"], json!(["server:view"]));

    let listed = get_json(&hank, &app.url("/api/auth/api-keys")).await;
    assert!(listed["data"][0].get("secret").is_none());
    // Change the last character (to one it is not: the secret is random).
    let last = if secret.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &secret[..secret.len() - 1]);
    assert_eq!(me_with_bearer(&app, &forged).await, 401);
    assert_eq!(me_with_bearer(&app, "cap_garbage").await, 401);

    let revoked = hank
        .delete(app.url(&format!("/api/auth/api-keys/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(me_with_bearer(&app, &secret).await, 401);
}

#[tokio::test]
async fn a_credential_is_only_accepted_on_its_own_transport() {
    let app = TestApp::spawn().await;
    app.create_user("ivan").await;
    let login = login_raw(&app, "ivan", "password-ivan").await;
    let access = cookie_value(&login, "cap_access");
    let key = new_api_key(&app, &app.login_as("ivan", "password-ivan").await, "ci").await;

    // Each credential works where it belongs, which also puts it in the cache...
    assert_eq!(me_with_access(&app, &access).await, 200);
    assert_eq!(me_with_bearer(&app, &key).await, 200);
    // ...and the cached answer is not handed out on the other transport.
    assert_eq!(me_with_bearer(&app, &access).await, 401);
    assert_eq!(me_with_access(&app, &key).await, 401);
    // Nor the other way round, when the wrong transport comes first.
    app.create_user("judy").await;
    let fresh = cookie_value(
        &login_raw(&app, "judy", "password-judy").await,
        "cap_access",
    );
    assert_eq!(me_with_bearer(&app, &fresh).await, 401);
    assert_eq!(me_with_access(&app, &fresh).await, 200);
}

#[tokio::test]
async fn changing_the_password_revokes_the_accounts_api_keys() {
    let app = TestApp::spawn().await;
    app.create_user("kim").await;
    let kim = app.login_as("kim", "password-kim").await;
    let secrets = [
        new_api_key(&app, &kim, "ci").await,
        new_api_key(&app, &kim, "backup").await,
    ];
    assert_eq!(me_with_bearer(&app, &secrets[0]).await, 200);

    let changed = change_password(&app, &kim, "password-kim", "another long one").await;
    assert_eq!(changed.status(), 200);
    let body: Value = changed.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("2 API key(s) were revoked"),
        "{body}"
    );
    for secret in &secrets {
        assert_eq!(me_with_bearer(&app, secret).await, 401);
    }
    let listed = get_json(&kim, &app.url("/api/auth/api-keys")).await;
    assert_eq!(listed["data"], json!([]));
}
