//! `/api/auth`: login, refresh, logout, profile, password, API keys.

use axum::extract::{Path, State};
use axum::http::Method;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use chrono::{DateTime, Utc};
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::principal::{KeyFamily, Principal, ACCESS_COOKIE, REFRESH_COOKIE};
use crate::auth::service::{self, LoginOutcome};
use crate::auth::session::IssuedSession;
use crate::auth::tokens::{ACCESS_TTL, REFRESH_TTL};
use crate::auth::{Actor, Client};
use crate::db::entities::{api_key, user};
use crate::domain::Name;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::POST, "/auth/login", Access::Public, login)
        .add(Method::POST, "/auth/refresh", Access::Public, refresh)
        .add(Method::POST, "/auth/logout", Access::Public, logout)
        .add(Method::GET, "/auth/me", Access::Authenticated, me)
        .add(
            Method::POST,
            "/auth/password",
            Access::Authenticated,
            change_password,
        )
        .add(
            Method::GET,
            "/auth/api-keys",
            Access::Authenticated,
            list_api_keys,
        )
        .add(
            Method::POST,
            "/auth/api-keys",
            Access::Authenticated,
            create_api_key,
        )
        .add(
            Method::DELETE,
            "/auth/api-keys/{key_id}",
            Access::Authenticated,
            delete_api_key,
        )
}

/// A user as the API shows it (never the password hash).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<user::Model> for UserView {
    fn from(u: user::Model) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            role: u.role,
            disabled: u.disabled,
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    user: UserView,
    permissions: Vec<String>,
    /// The panel requires two-factor sign-in of this account and it is not on yet:
    /// nothing but the account's two-factor setup answers until it is.
    two_factor_setup_required: bool,
}

/// What a login answers: the signed-in user, or (with two-factor sign-in on) the token
/// for `POST /api/auth/login/two-factor`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum LoginAnswer {
    Signed(Me),
    SecondFactor(Checkpoint),
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// Always true here.
    two_factor_required: bool,
    checkpoint_token: String,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or e-mail.
    #[garde(length(min = 1, max = 191))]
    login: String,
    #[garde(length(min = 1, max = 256))]
    password: String,
}

/// Session cookies are `Secure` whenever browsers reach the panel over HTTPS.
pub(super) fn session_cookies(
    state: &AppState,
    jar: CookieJar,
    issued: &IssuedSession,
) -> CookieJar {
    let secure = state.config().browsers_use_https();
    let access = Cookie::build((ACCESS_COOKIE, issued.access_token.clone()))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(time_duration(ACCESS_TTL));
    let refresh = Cookie::build((REFRESH_COOKIE, issued.refresh_token.clone()))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/api/auth")
        .max_age(time_duration(REFRESH_TTL));
    jar.add(access).add(refresh)
}

fn time_duration(d: chrono::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.num_seconds())
}

fn cleared(state: &AppState, jar: CookieJar) -> CookieJar {
    let secure = state.config().browsers_use_https();
    jar.remove(Cookie::build(ACCESS_COOKIE).path("/").secure(secure))
        .remove(
            Cookie::build(REFRESH_COOKIE)
                .path("/api/auth")
                .secure(secure),
        )
}

pub(super) fn me_of(issued: IssuedSession) -> Me {
    Me {
        user: issued.user.into(),
        permissions: issued.permissions.into_iter().collect(),
        two_factor_setup_required: issued.two_factor_setup_required,
    }
}

async fn login(
    State(state): State<AppState>,
    client: Client,
    jar: CookieJar,
    ValidJson(body): ValidJson<LoginRequest>,
) -> Result<(CookieJar, Envelope<LoginAnswer>)> {
    match service::login(&state, &body.login, &body.password, &client).await? {
        LoginOutcome::Signed(issued) => Ok((
            session_cookies(&state, jar, &issued),
            Envelope::ok(LoginAnswer::Signed(me_of(*issued))),
        )),
        LoginOutcome::SecondFactor {
            checkpoint,
            expires_at,
        } => Ok((
            jar,
            Envelope::ok(LoginAnswer::SecondFactor(Checkpoint {
                two_factor_required: true,
                checkpoint_token: checkpoint,
                expires_at,
            }))
            .with_message("enter the code of your authenticator app"),
        )),
    }
}

async fn refresh(
    State(state): State<AppState>,
    client: Client,
    jar: CookieJar,
) -> Result<(CookieJar, Envelope<Me>)> {
    state.limits().check_client(&client.ip)?;
    let token = jar
        .get(REFRESH_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| Error::Unauthorized("no session to refresh, please log in".into()))?;
    let issued = service::refresh(&state, &token, &client).await?;
    Ok((
        session_cookies(&state, jar, &issued),
        Envelope::ok(me_of(issued)),
    ))
}

async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<(CookieJar, Envelope<()>)> {
    let refresh = jar.get(REFRESH_COOKIE).map(|c| c.value().to_owned());
    // The access token names its family too, so logging out works even without the
    // refresh cookie (which is scoped to /api/auth).
    let family = jar
        .get(ACCESS_COOKIE)
        .and_then(|c| crate::auth::tokens::verify_access(state.secrets().jwt_key(), c.value()).ok())
        .map(|claims| claims.sid);
    service::logout(&state, refresh.as_deref(), family.as_deref()).await?;
    Ok((
        cleared(&state, jar),
        Envelope::ok(()).with_message("logged out"),
    ))
}

async fn me(principal: Principal) -> Envelope<Me> {
    Envelope::ok(Me {
        user: principal.user.clone().into(),
        permissions: principal.permissions.iter().cloned().collect(),
        two_factor_setup_required: principal.two_factor_setup_required,
    })
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangePassword {
    #[garde(length(min = 1, max = 256))]
    current_password: String,
    #[garde(skip)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    actor: Actor,
    jar: CookieJar,
    ValidJson(body): ValidJson<ChangePassword>,
) -> Result<(CookieJar, Envelope<Me>)> {
    let changed =
        service::change_password(&state, &actor, &body.current_password, &body.new_password)
            .await?;
    let message = format!(
        "password changed: your other sessions ended and your {} API key(s) were revoked",
        changed.api_keys_revoked
    );
    Ok((
        session_cookies(&state, jar, &changed.session),
        Envelope::ok(me_of(changed.session)).with_message(message),
    ))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    id: String,
    name: String,
    prefix: String,
    permissions: serde_json::Value,
    last_used_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    /// Which API the key opens.
    family: KeyFamily,
    /// Only in the response that creates the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl From<api_key::Model> for ApiKeyView {
    fn from(k: api_key::Model) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            permissions: k.permissions,
            last_used_at: k.last_used_at,
            created_at: k.created_at,
            family: KeyFamily::from_stored(&k.family).unwrap_or(KeyFamily::Panel),
            secret: None,
        }
    }
}

async fn list_api_keys(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Envelope<Vec<ApiKeyView>>> {
    let keys = service::api_keys(&state, &actor).await?;
    Ok(Envelope::ok(
        keys.into_iter().map(ApiKeyView::from).collect(),
    ))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[garde(skip)]
    name: Name<100>,
    #[garde(length(max = 36))]
    permissions: Option<Vec<String>>,
    /// Which API the key opens: `panel` (default, `cap_…`, this API) or
    /// `pterodactyl_client` (`ptlc_…`, the Pterodactyl-compatible `/api/client`).
    #[garde(skip)]
    family: Option<KeyFamily>,
}

async fn create_api_key(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<CreateApiKey>,
) -> Result<Envelope<ApiKeyView>> {
    let family = body.family.unwrap_or(KeyFamily::Panel);
    let (key, secret) =
        service::create_api_key(&state, &actor, body.name.into(), body.permissions, family).await?;
    let mut view = ApiKeyView::from(key);
    view.secret = Some(secret);
    Ok(Envelope::ok(view).with_message("store the secret now: it is not shown again"))
}

async fn delete_api_key(
    State(state): State<AppState>,
    actor: Actor,
    Path(key_id): Path<String>,
) -> Result<Envelope<()>> {
    service::delete_api_key(&state, &actor, &key_id).await?;
    Ok(Envelope::ok(()).with_message("API key revoked"))
}
