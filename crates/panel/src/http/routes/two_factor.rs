//! Two-factor sign-in: the second login step, the account's own setup, and what admins
//! do about it (reset a user's, require it of admins).

use axum::extract::{Path, State};
use axum::http::Method;
use axum_extra::extract::CookieJar;
use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::auth::{me_of, session_cookies, Me};
use crate::auth::policy;
use crate::auth::two_factor::{self, SecondFactor};
use crate::auth::{Actor, Client};
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::ValidJson;
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::POST,
        "/auth/login/two-factor",
        Access::Public,
        complete_login,
    )
    .add(
        Method::GET,
        "/auth/two-factor",
        Access::Authenticated,
        status,
    )
    .add(
        Method::POST,
        "/auth/two-factor/setup",
        Access::Authenticated,
        setup,
    )
    .add(
        Method::POST,
        "/auth/two-factor/enable",
        Access::Authenticated,
        enable,
    )
    .add(
        Method::POST,
        "/auth/two-factor/disable",
        Access::Authenticated,
        disable,
    )
    .add(
        Method::GET,
        "/users/{user_id}/two-factor",
        Access::Permission("user:view"),
        user_status,
    )
    .add(
        Method::DELETE,
        "/users/{user_id}/two-factor",
        Access::Permission("user:update"),
        reset,
    )
    .add(
        Method::GET,
        "/settings/two-factor",
        Access::Permission("admin:settings"),
        settings,
    )
    .add(
        Method::PUT,
        "/settings/two-factor",
        Access::Permission("admin:settings"),
        update_settings,
    )
}

/// A code from the authenticator app or a recovery code: exactly one of the two.
fn second_factor(code: Option<String>, recovery_code: Option<String>) -> Result<SecondFactor> {
    match (code, recovery_code) {
        (Some(code), None) => Ok(SecondFactor::Code(code)),
        (None, Some(code)) => Ok(SecondFactor::RecoveryCode(code)),
        _ => Err(Error::validation(
            "code",
            "give either the code of your authenticator app or a recovery code",
        )),
    }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CompleteLogin {
    /// The token the password step answered.
    #[garde(length(min = 1, max = 2048))]
    checkpoint_token: String,
    /// The six digits the app shows now…
    #[garde(inner(length(min = 1, max = 16)))]
    code: Option<String>,
    /// …or one of the recovery codes shown when two-factor sign-in was turned on.
    #[garde(inner(length(min = 1, max = 32)))]
    recovery_code: Option<String>,
}

async fn complete_login(
    State(state): State<AppState>,
    client: Client,
    jar: CookieJar,
    ValidJson(body): ValidJson<CompleteLogin>,
) -> Result<(CookieJar, Envelope<Me>)> {
    let factor = second_factor(body.code, body.recovery_code)?;
    let issued =
        two_factor::complete_login(&state, &body.checkpoint_token, &factor, &client).await?;
    Ok((
        session_cookies(&state, jar, &issued),
        Envelope::ok(me_of(issued)),
    ))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    enabled: bool,
    recovery_codes_left: u64,
    /// The panel requires two-factor sign-in of this account and it is not on yet.
    setup_required: bool,
}

async fn status(State(state): State<AppState>, actor: Actor) -> Result<Envelope<StatusView>> {
    let status = two_factor::status(&state, &actor).await?;
    Ok(Envelope::ok(StatusView {
        enabled: status.enabled,
        recovery_codes_left: status.recovery_codes_left,
        setup_required: status.setup_required,
    }))
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupView {
    /// The secret in base32, for typing into an app.
    secret: String,
    /// The `otpauth://` URI the QR code holds.
    otpauth_uri: String,
    /// The QR code, an SVG document.
    qr_svg: String,
}

async fn setup(State(state): State<AppState>, actor: Actor) -> Result<Envelope<SetupView>> {
    let setup = two_factor::setup(&state, &actor).await?;
    Ok(Envelope::ok(SetupView {
        secret: setup.secret,
        otpauth_uri: setup.otpauth_uri,
        qr_svg: setup.qr_svg,
    })
    .with_message("scan the code with your authenticator app, then confirm with a code"))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableRequest {
    #[garde(length(min = 1, max = 256))]
    password: String,
    /// A current code from the app, proving it holds the secret.
    #[garde(length(min = 1, max = 16))]
    code: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodesView {
    /// Single-use codes for when the app is not at hand; shown only now.
    recovery_codes: Vec<String>,
}

async fn enable(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<EnableRequest>,
) -> Result<Envelope<RecoveryCodesView>> {
    let recovery_codes = two_factor::enable(&state, &actor, &body.password, &body.code).await?;
    Ok(
        Envelope::ok(RecoveryCodesView { recovery_codes }).with_message(
            "two-factor sign-in is on: store the recovery codes now, they are not shown again",
        ),
    )
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisableRequest {
    #[garde(length(min = 1, max = 256))]
    password: String,
    /// A current code from the app…
    #[garde(inner(length(min = 1, max = 16)))]
    code: Option<String>,
    /// …or a recovery code.
    #[garde(inner(length(min = 1, max = 32)))]
    recovery_code: Option<String>,
}

async fn disable(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<DisableRequest>,
) -> Result<Envelope<()>> {
    let factor = second_factor(body.code, body.recovery_code)?;
    two_factor::disable(&state, &actor, &body.password, &factor).await?;
    Ok(Envelope::ok(()).with_message("two-factor sign-in is off"))
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct UserStatusView {
    enabled: bool,
}

async fn user_status(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Envelope<UserStatusView>> {
    let enabled = two_factor::enabled_for(&state, &user_id).await?;
    Ok(Envelope::ok(UserStatusView { enabled }))
}

async fn reset(
    State(state): State<AppState>,
    actor: Actor,
    Path(user_id): Path<String>,
) -> Result<Envelope<()>> {
    two_factor::reset(&state, &actor, &user_id).await?;
    Ok(Envelope::ok(())
        .with_message("two-factor sign-in reset: the user signs in with the password alone"))
}

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TwoFactorSettings {
    /// Accounts with the admin role must turn on two-factor sign-in before using the panel.
    #[garde(skip)]
    required_for_admins: bool,
}

async fn settings(State(state): State<AppState>) -> Result<Envelope<TwoFactorSettings>> {
    let required_for_admins = policy::required_for_admins(state.db()).await?;
    Ok(Envelope::ok(TwoFactorSettings {
        required_for_admins,
    }))
}

async fn update_settings(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<TwoFactorSettings>,
) -> Result<Envelope<TwoFactorSettings>> {
    two_factor::set_required_for_admins(&state, &actor, body.required_for_admins).await?;
    Ok(Envelope::ok(body))
}
