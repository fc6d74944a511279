//! Two-factor sign-in: setup, the two-step login, recovery codes, replays, rate limits,
//! the admin requirement and resets. Codes are computed here from the secret the panel
//! hands out, like an authenticator app would.

use reqwest::header::SET_COOKIE;
use reqwest::StatusCode;
use serde_json::{json, Value};
use totp_rs::{Builder, Secret, Totp};

use crate::support::{get_json, new_api_key, TestApp};

/// A client with its own cookie jar.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value, bool) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let sets_session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("cap_access="));
    (status, response.json().await.unwrap(), sets_session)
}

/// The authenticator "app": codes of the secret the setup answered.
pub(crate) struct App(Totp);

impl App {
    /// The code of the step `offset` steps from now (the panel accepts -1, 0 and +1).
    pub(crate) fn code(&self, offset: i64) -> String {
        let now = chrono::Utc::now().timestamp() + offset * 30;
        self.0.generate(now as u64).to_string()
    }
}

pub(crate) async fn set_up(app: &TestApp, client: &reqwest::Client) -> App {
    let (status, body, _) = send(client.post(app.url("/api/auth/two-factor/setup"))).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert!(data["otpauthUri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Ctrl-Alt-Play:"));
    assert!(data["qrSvg"].as_str().unwrap().contains("<svg"));
    let secret = Secret::try_from_base32(data["secret"].as_str().unwrap()).unwrap();
    App(Builder::new().with_secret(secret).build().unwrap())
}

pub(crate) async fn enable(
    app: &TestApp,
    client: &reqwest::Client,
    password: &str,
    code: &str,
) -> (StatusCode, Value) {
    let body = json!({ "password": password, "code": code });
    let (status, body, _) = send(
        client
            .post(app.url("/api/auth/two-factor/enable"))
            .json(&body),
    )
    .await;
    (status, body)
}

/// `POST /api/auth/login` with `client`: the checkpoint token when two-factor sign-in is on.
async fn password_step(
    app: &TestApp,
    client: &reqwest::Client,
    login: &str,
    password: &str,
) -> String {
    let body = json!({ "login": login, "password": password });
    let (status, body, sets_session) =
        send(client.post(app.url("/api/auth/login")).json(&body)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["twoFactorRequired"], true, "{body}");
    assert!(!sets_session, "a password alone must not start a session");
    body["data"]["checkpointToken"].as_str().unwrap().to_owned()
}

async fn second_step(
    app: &TestApp,
    client: &reqwest::Client,
    checkpoint: &str,
    factor: Value,
) -> (StatusCode, Value, bool) {
    let mut body = json!({ "checkpointToken": checkpoint });
    body.as_object_mut()
        .unwrap()
        .extend(factor.as_object().unwrap().clone());
    send(
        client
            .post(app.url("/api/auth/login/two-factor"))
            .json(&body),
    )
    .await
}

async fn audit_actions(app: &TestApp, admin: &reqwest::Client, action: &str) -> Vec<Value> {
    let body = get_json(admin, &app.url(&format!("/api/audit?action={action}"))).await;
    body["data"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn setup_login_with_a_code_and_a_recovery_code_then_turning_it_off() {
    let app = TestApp::spawn().await;
    app.create_user("tess").await;
    let pass = "password-tess";
    let tess = app.login_as("tess", pass).await;

    let authenticator = set_up(&app, &tess).await;
    let (status, body) = enable(&app, &tess, "wrong", &authenticator.code(0)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["details"]["password"].is_array(), "{body}");
    let (status, body) = enable(&app, &tess, pass, "000000x").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["details"]["code"].is_array(), "{body}");
    let first = authenticator.code(-1);
    let (status, body) = enable(&app, &tess, pass, &first).await;
    assert_eq!(status, 200, "{body}");
    let codes: Vec<String> = serde_json::from_value(body["data"]["recoveryCodes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let status = get_json(&tess, &app.url("/api/auth/two-factor")).await;
    assert_eq!(status["data"]["enabled"], true);
    assert_eq!(status["data"]["recoveryCodesLeft"], 10);
    let (status, _, _) = send(tess.post(app.url("/api/auth/two-factor/setup"))).await;
    assert_eq!(status, 409, "a second setup while it is on");

    // The password alone earns a checkpoint, not a session.
    let phone = browser();
    let checkpoint = password_step(&app, &phone, "tess", pass).await;
    let (status, _, _) = send(phone.get(app.url("/api/auth/me"))).await;
    assert_eq!(status, 401);
    // The code used to turn it on is spent; so is a wrong one.
    let (status, body, _) = second_step(&app, &phone, &checkpoint, json!({ "code": first })).await;
    assert_eq!(status, 422, "replayed code: {body}");
    assert!(body["details"]["code"][0]
        .as_str()
        .unwrap()
        .contains("used already"));
    let (status, _, _) = second_step(&app, &phone, &checkpoint, json!({ "code": "12345" })).await;
    assert_eq!(status, 422);
    let (status, body, _) = second_step(&app, &phone, &checkpoint, json!({})).await;
    assert_eq!(status, 422, "neither a code nor a recovery code: {body}");
    // A checkpoint is no session, and a session token is no checkpoint.
    let (status, _, _) = second_step(
        &app,
        &phone,
        "not-a-token",
        json!({ "code": authenticator.code(0) }),
    )
    .await;
    assert_eq!(status, 401);
    let code = authenticator.code(0);
    let (status, body, sets_session) =
        second_step(&app, &phone, &checkpoint, json!({ "code": code })).await;
    assert_eq!(status, 200, "{body}");
    assert!(sets_session);
    assert_eq!(body["data"]["user"]["username"], "tess");
    let (status, _, _) = send(phone.get(app.url("/api/auth/me"))).await;
    assert_eq!(status, 200);
    // The same code cannot sign in a second device.
    let laptop = browser();
    let checkpoint = password_step(&app, &laptop, "tess", pass).await;
    let (status, _, _) = second_step(&app, &laptop, &checkpoint, json!({ "code": code })).await;
    assert_eq!(status, 422, "a code signs in once");

    // A recovery code works once, however it is typed.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (status, body, _) =
        second_step(&app, &laptop, &checkpoint, json!({ "recoveryCode": typed })).await;
    assert_eq!(status, 200, "{body}");
    let again = browser();
    let checkpoint = password_step(&app, &again, "tess", pass).await;
    let (status, body, _) = second_step(
        &app,
        &again,
        &checkpoint,
        json!({ "recoveryCode": codes[0] }),
    )
    .await;
    assert_eq!(status, 422, "a spent recovery code: {body}");
    assert!(body["details"]["recoveryCode"].is_array());
    let status = get_json(&tess, &app.url("/api/auth/two-factor")).await;
    assert_eq!(status["data"]["recoveryCodesLeft"], 9);

    // Turning it off needs the password and a second factor.
    let off = |password: &str, factor: Value| {
        let mut body = json!({ "password": password });
        body.as_object_mut()
            .unwrap()
            .extend(factor.as_object().unwrap().clone());
        tess.post(app.url("/api/auth/two-factor/disable"))
            .json(&body)
    };
    let (status, _, _) = send(off("wrong", json!({ "recoveryCode": codes[1] }))).await;
    assert_eq!(status, 422);
    let (status, _, _) = send(off(pass, json!({ "code": "000000" }))).await;
    assert_eq!(status, 422);
    let (status, body, _) = send(off(pass, json!({ "code": authenticator.code(1) }))).await;
    assert_eq!(status, 200, "{body}");
    let body = json!({ "login": "tess", "password": pass });
    let (status, body, sets_session) =
        send(browser().post(app.url("/api/auth/login")).json(&body)).await;
    assert_eq!(status, 200);
    assert!(sets_session, "with it off the password signs in: {body}");

    let admin = app.admin_client().await;
    for action in ["auth.two_factor_enabled", "auth.two_factor_disabled"] {
        assert_eq!(
            audit_actions(&app, &admin, action).await.len(),
            1,
            "{action}"
        );
    }
    let logins = audit_actions(&app, &admin, "auth.login").await;
    let second: Vec<&Value> = logins
        .iter()
        .filter_map(|e| e["details"].get("secondFactor"))
        .collect();
    assert_eq!(second, [&json!("recovery_code"), &json!("code")]);
    let failed = audit_actions(&app, &admin, "auth.login_failed").await;
    assert!(failed
        .iter()
        .any(|e| e["details"]["secondFactor"] == "code"));
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_like_passwords() {
    let app = TestApp::spawn_with(|config| config.login_attempts_per_minute = 4).await;
    app.create_user("rita").await;
    let rita = app.login_as("rita", "password-rita").await;
    let authenticator = set_up(&app, &rita).await;
    let (status, _) = enable(&app, &rita, "password-rita", &authenticator.code(0)).await;
    assert_eq!(status, 200);
    let client = browser();
    let checkpoint = password_step(&app, &client, "rita", "password-rita").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, _, _) =
            second_step(&app, &client, &checkpoint, json!({ "code": "999999" })).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Even the right code waits now.
    let (status, _, _) = second_step(
        &app,
        &client,
        &checkpoint,
        json!({ "code": authenticator.code(1) }),
    )
    .await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn admins_can_require_it_of_admins_and_reset_a_users() {
    let app = TestApp::spawn().await;
    let admin = app.admin_client().await;
    let key = new_api_key(&app, &admin, "script").await;

    let body = json!({ "requiredForAdmins": true });
    let (status, _, _) = send(admin.put(app.url("/api/settings/two-factor")).json(&body)).await;
    assert_eq!(status, 200);
    let (status, body, _) = send(admin.get(app.url("/api/servers"))).await;
    assert_eq!(status, 403, "an admin without two-factor sign-in: {body}");
    assert!(body["error"].as_str().unwrap().contains("two-factor"));
    let (status, _, _) = send(
        admin
            .post(app.url("/api/auth/api-keys"))
            .json(&json!({ "name": "x" })),
    )
    .await;
    assert_eq!(status, 403, "no way around it through a new API key");
    let me = get_json(&admin, &app.url("/api/auth/me")).await;
    assert_eq!(me["data"]["twoFactorSetupRequired"], true);
    // API keys are not affected.
    let (status, _, _) = send(app.client.get(app.url("/api/servers")).bearer_auth(&key)).await;
    assert_eq!(status, 200);
    // Other roles are not affected.
    app.create_user("uma").await;
    let uma = app.login_as("uma", "password-uma").await;
    let (status, _, _) = send(uma.get(app.url("/api/servers"))).await;
    assert_eq!(status, 200);

    let authenticator = set_up(&app, &admin).await;
    let (status, _) = enable(&app, &admin, &app.admin.password, &authenticator.code(0)).await;
    assert_eq!(status, 200);
    let (status, body, _) = send(admin.get(app.url("/api/servers"))).await;
    assert_eq!(status, 200, "{body}");

    // Uma turns it on and loses her phone; an admin resets it.
    let uma_id = get_json(&uma, &app.url("/api/auth/me")).await["data"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uma_app = set_up(&app, &uma).await;
    let (status, _) = enable(&app, &uma, "password-uma", &uma_app.code(0)).await;
    assert_eq!(status, 200);
    let path = app.url(&format!("/api/users/{uma_id}/two-factor"));
    assert_eq!(get_json(&admin, &path).await["data"]["enabled"], true);
    let (status, _, _) = send(uma.delete(path.clone())).await;
    assert_eq!(status, 403, "users cannot reset anyone's");
    let (status, _, _) = send(admin.delete(path.clone())).await;
    assert_eq!(status, 200);
    let (status, _, _) = send(admin.delete(path.clone())).await;
    assert_eq!(status, 409, "nothing left to reset");
    assert_eq!(get_json(&admin, &path).await["data"]["enabled"], false);
    let body = json!({ "login": "uma", "password": "password-uma" });
    let (status, _, sets_session) =
        send(browser().post(app.url("/api/auth/login")).json(&body)).await;
    assert_eq!(status, 200);
    assert!(sets_session);
    assert_eq!(
        audit_actions(&app, &admin, "user.two_factor_reset")
            .await
            .len(),
        1
    );
    assert_eq!(
        audit_actions(&app, &admin, "settings.two_factor")
            .await
            .len(),
        1
    );
}
