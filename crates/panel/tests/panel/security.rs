//! Validation errors, body limits, rate limits, CSRF and security headers over HTTP.

use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN};
use serde_json::{json, Value};

use crate::support::TestApp;

async fn post_login(app: &TestApp, body: reqwest::Body) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_bodies_get_field_level_errors() {
    let app = TestApp::spawn().await;
    let missing = post_login(&app, json!({ "login": "x" }).to_string().into()).await;
    assert_eq!(missing.status(), 422);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert!(
        body["error"].as_str().unwrap().contains("password"),
        "{body}"
    );

    let wrong_type = post_login(
        &app,
        json!({ "login": 5, "password": "x" }).to_string().into(),
    )
    .await;
    assert_eq!(wrong_type.status(), 422);
    let body: Value = wrong_type.json().await.unwrap();
    assert!(body["details"]["login"].is_array(), "{body}");

    let unknown = post_login(
        &app,
        json!({ "login": "a", "password": "b", "admin": true })
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(unknown.status(), 422);

    let too_long = post_login(
        &app,
        json!({ "login": "a".repeat(300), "password": "b" })
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(too_long.status(), 422);
    let body: Value = too_long.json().await.unwrap();
    assert!(body["details"]["login"].is_array(), "{body}");

    let malformed = post_login(&app, "{\"login\": ".into()).await;
    assert_eq!(malformed.status(), 400);
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "VALIDATION_ERROR");

    let huge = post_login(
        &app,
        format!("{{\"login\": \"{}\"}}", "x".repeat(2 * 1024 * 1024)).into(),
    )
    .await;
    assert_eq!(huge.status(), 413);

    let not_json = app
        .client
        .post(app.url("/api/auth/login"))
        .body("login=a&password=b")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
}

#[tokio::test]
async fn the_n_plus_first_login_attempt_is_rate_limited() {
    let app = TestApp::spawn_with(|config| config.login_attempts_per_minute = 3).await;
    for _ in 0..3 {
        let response = post_login(
            &app,
            json!({ "login": "admin", "password": "wrong" })
                .to_string()
                .into(),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    let limited = post_login(
        &app,
        json!({ "login": "admin", "password": "wrong" })
            .to_string()
            .into(),
    )
    .await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn security_headers_on_success_error_and_not_found() {
    let app = TestApp::spawn().await;
    let responses = [
        app.client.get(app.url("/health")).send().await.unwrap(),
        app.client
            .get(app.url("/api/auth/me"))
            .send()
            .await
            .unwrap(),
        app.client.get(app.url("/api/nope")).send().await.unwrap(),
    ];
    for response in responses {
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("referrer-policy"));
        assert!(headers.contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn cross_site_cookie_writes_are_refused() {
    let app = TestApp::spawn().await;
    let login: Value = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": app.admin.username, "password": app.admin.password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["success"], true);
    // A forged form post from another site, carrying the victim's cookie.
    let forged = app
        .client
        .post(app.url("/api/auth/api-keys"))
        .header(COOKIE, "cap_access=anything")
        .header(ORIGIN, "https://evil.example")
        .json(&json!({ "name": "stolen" }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cross = app
        .client
        .post(app.url("/api/auth/api-keys"))
        .header(COOKIE, "cap_access=anything")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "name": "stolen" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
}

/// Logs in as `login` from the loopback address 127.0.0.`host`; returns the status.
async fn login_from(app: &TestApp, host: u8, login: &str, password: &str) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, host]))
        .build()
        .unwrap();
    client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn login_limits_follow_the_account_and_spare_its_owner() {
    use cap_panel::limits::ACCOUNT_CEILING_FACTOR;

    const PER_MINUTE: u32 = 2;
    let app = TestApp::spawn_with(|config| config.login_attempts_per_minute = PER_MINUTE).await;
    app.create_user("dave").await;
    // The owner has signed in from 127.0.0.1 before.
    assert_eq!(login_from(&app, 1, "dave", "password-dave").await, 200);

    // A guesser at one address is stopped there, under any spelling of the account...
    for _ in 0..PER_MINUTE {
        assert_eq!(login_from(&app, 2, "dave", "guess").await, 401);
    }
    assert_eq!(login_from(&app, 2, "DAVE@example.com", "guess").await, 429);
    // ...while the owner logs in from a new address.
    assert_eq!(login_from(&app, 3, "dave", "password-dave").await, 200);

    // Guesses spread over fresh addresses and spellings reach the account's ceiling
    // (a few more may pass as the allowance refills while this runs).
    let ceiling = PER_MINUTE * ACCOUNT_CEILING_FACTOR;
    let spellings = ["dave", "Dave", "dave@example.com", "DAVE@EXAMPLE.COM"];
    let mut guesses = 0;
    loop {
        let host = 10 + guesses as u8;
        match login_from(&app, host, spellings[guesses % spellings.len()], "guess").await {
            429 => break,
            status => assert_eq!(status, 401, "guess {guesses} from 127.0.0.{host}"),
        }
        guesses += 1;
        assert!(
            guesses <= ceiling as usize + 3,
            "no ceiling after {guesses} guesses"
        );
    }
    // The owner's known addresses still get their own allowance.
    assert_eq!(
        login_from(&app, 1, "Dave@Example.com", "password-dave").await,
        200
    );
    assert_eq!(login_from(&app, 3, "dave", "password-dave").await, 200);
}

#[tokio::test]
async fn a_login_storm_is_queued_then_refused_instead_of_hashed_all_at_once() {
    use cap_panel::auth::password::QUEUE_PER_CORE;
    use futures_util::{stream, StreamExt};

    let app = TestApp::spawn().await;
    app.create_user("erin").await;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let storm = cores * (QUEUE_PER_CORE + 1) + 100;
    let answers: Vec<(u16, bool, Value)> = stream::iter(0..storm)
        .map(|i| {
            let request = app
                .client
                .post(app.url("/api/auth/login"))
                .json(&json!({ "login": "erin", "password": format!("guess-{i}") }))
                .send();
            async move {
                let response = request.await.unwrap();
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                (status, retry_after, response.json().await.unwrap())
            }
        })
        .buffer_unordered(storm)
        .collect()
        .await;
    let refused: Vec<_> = answers.iter().filter(|(s, ..)| *s == 429).collect();
    assert!(
        !refused.is_empty(),
        "all {storm} logins were hashed at once"
    );
    for (status, retry_after, body) in &answers {
        assert!(matches!(status, 401 | 429), "{status} {body}");
        if *status == 429 {
            assert!(retry_after, "{body}");
            assert_eq!(body["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(
        post_login(
            &app,
            json!({ "login": "erin", "password": "password-erin" })
                .to_string()
                .into()
        )
        .await
        .status(),
        200,
        "the queue drains"
    );
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited_like_logins() {
    let app = TestApp::spawn_with(|config| config.login_attempts_per_minute = 3).await;
    app.create_user("fay").await;
    // The login is the first of the three attempts this account has from here.
    let fay = app.login_as("fay", "password-fay").await;
    let guess = || {
        fay.post(app.url("/api/auth/password"))
            .json(&json!({ "currentPassword": "guess", "newPassword": "a new long password" }))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(guess().await.unwrap().status(), 422);
    }
    let limited = guess().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED");
}

/// The `cap_access` cookie of a fresh login, ready for a `Cookie` header.
async fn access_cookie(app: &TestApp, login: &str, password: &str) -> String {
    let response = post_login(
        app,
        json!({ "login": login, "password": password })
            .to_string()
            .into(),
    )
    .await;
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.starts_with("cap_access=")))
        .expect("access cookie")
        .to_owned()
}

type ConsoleSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a server's console with `cookie`: the socket, or the refusal's status and body.
async fn open_console(
    app: &TestApp,
    cookie: &str,
    server_id: &str,
) -> Result<ConsoleSocket, (u16, Value)> {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Error};
    let url = format!("ws://{}/api/servers/{server_id}/console", app.addr);
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            Err((
                response.status().as_u16(),
                serde_json::from_slice(body).unwrap_or(Value::Null),
            ))
        }
        Err(other) => panic!("console connection failed: {other}"),
    }
}

#[tokio::test]
async fn console_sockets_are_capped_per_user_and_per_address() {
    use cap_panel::repo;

    let app = TestApp::spawn_with(|config| {
        config.console_sockets_per_user = 2;
        config.console_sockets_per_ip = 3;
    })
    .await;
    // Servers on a node that is not running: the console opens and reports that.
    let w = crate::support::world(&app.db, "caps").await;
    let bob = app.create_user("bob").await;
    let mut bobs = crate::support::new_server(&bob.id, Some(&w.node.id), &w.alt.id);
    bobs.name = "bobs".into();
    let bobs = repo::servers::create(&app.db, bobs).await.unwrap();
    let admin = access_cookie(&app, &app.admin.username, &app.admin.password).await;
    let bob = access_cookie(&app, "bob", "password-bob").await;

    let mut admins = Vec::new();
    for _ in 0..2 {
        admins.push(
            open_console(&app, &admin, &w.server.id)
                .await
                .expect("opens"),
        );
    }
    let (status, body) = open_console(&app, &admin, &w.server.id)
        .await
        .expect_err("a third console for one user");
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "RATE_LIMITED");
    assert!(
        body["error"].as_str().unwrap().contains("2 consoles open"),
        "{body}"
    );

    // Another user from the same address gets what is left of the address's share.
    let first_of_bob = open_console(&app, &bob, &bobs.id).await.expect("opens");
    let (status, body) = open_console(&app, &bob, &bobs.id)
        .await
        .expect_err("a fourth console from one address");
    assert_eq!(status, 429, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("from your address"),
        "{body}"
    );

    // Closing sockets gives their places back.
    drop(first_of_bob);
    for mut socket in admins {
        socket.close(None).await.ok();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open_console(&app, &bob, &bobs.id).await {
            Ok(_) => break,
            Err((429, _)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(refused) => panic!("still refused after the others closed: {refused:?}"),
        }
    }
    open_console(&app, &admin, &w.server.id)
        .await
        .expect("opens again");
}
