//! The Pterodactyl-compatible client API under `/api/client`, for the scripts, bots and
//! libraries (pydactyl and others) written against Pterodactyl: its shapes (`object` +
//! `attributes`, lists with `meta.pagination`, `{"errors": [...]}`), its permission names
//! and its addressing of servers by an eight-character identifier or the full uuid.
//!
//! Only `ptlc_…` keys open it (`POST /api/auth/api-keys` with `family:
//! "pterodactyl_client"`), and they open nothing else. Every handler is an adapter: it
//! parses the Pterodactyl request, calls the same service function the panel's own route
//! calls (same permission checks, same audit rows), and renders the answer Pterodactyl's
//! way. The permission table is in [`permissions`].

mod account;
mod backups;
mod databases;
mod file_actions;
mod files;
mod network;
pub mod permissions;
mod schedule_tasks;
mod schedules;
mod servers;
mod shapes;
mod startup;
mod users;
mod websocket;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

use crate::auth::principal;
use crate::error::Error;
use crate::http::envelope::{public_message, retry_after};
use crate::state::AppState;

/// An error as Pterodactyl sends it: `{"errors": [{code, status, detail}]}`.
pub struct ClientError(pub Error);

impl<E: Into<Error>> From<E> for ClientError {
    fn from(err: E) -> Self {
        ClientError(err.into())
    }
}

pub type ClientResult<T> = std::result::Result<T, ClientError>;

/// One of the panel's extractors whose refusal (a bad body, a missing permission) is
/// answered in Pterodactyl's error shape rather than the panel's envelope.
pub struct Compat<T>(pub T);

impl<S, T> FromRequestParts<S> for Compat<T>
where
    S: Send + Sync,
    T: FromRequestParts<S>,
    T::Rejection: Into<Error>,
{
    type Rejection = ClientError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ClientError> {
        T::from_request_parts(parts, state)
            .await
            .map(Compat)
            .map_err(|e| ClientError(e.into()))
    }
}

impl<S, T> FromRequest<S> for Compat<T>
where
    S: Send + Sync,
    T: FromRequest<S>,
    T::Rejection: Into<Error>,
{
    type Rejection = ClientError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ClientError> {
        T::from_request(request, state)
            .await
            .map(Compat)
            .map_err(|e| ClientError(e.into()))
    }
}

/// Pterodactyl's exception names, which its clients switch on.
fn exception(error: &Error) -> &'static str {
    match error {
        Error::Validation { .. } | Error::BadRequest(_) => "ValidationException",
        Error::PayloadTooLarge(_) => "PayloadTooLargeHttpException",
        Error::Unauthorized(_) => "AuthenticationException",
        Error::Forbidden(_) => "AccessDeniedHttpException",
        Error::NotFound(_) => "NotFoundHttpException",
        Error::Conflict(_) => "ConflictHttpException",
        Error::RateLimited { .. } | Error::TooMany { .. } => "TooManyRequestsHttpException",
        Error::AgentUnavailable(_) => "HttpException",
        Error::Timeout | Error::Internal(_) | Error::Startup(_) => "HttpException",
    }
}

impl IntoResponse for ClientError {
    fn into_response(self) -> Response {
        let error = self.0;
        let (status, _) = error.status_and_code();
        let code = exception(&error);
        let detail = public_message(&error);
        let errors: Vec<serde_json::Value> = match &error {
            Error::Validation { details, .. } if !details.is_empty() => details
                .iter()
                .flat_map(|(field, messages)| {
                    messages.iter().map(move |message| {
                        json!({
                            "code": code,
                            "status": status.as_u16().to_string(),
                            "detail": format!("The {field} field {message}."),
                            "meta": { "source_field": field, "rule": "invalid" },
                        })
                    })
                })
                .collect(),
            _ => vec![json!({
                "code": code,
                "status": status.as_u16().to_string(),
                "detail": detail,
            })],
        };
        let mut response = (status, Json(json!({ "errors": errors }))).into_response();
        retry_after(&error, &mut response);
        response
    }
}

/// No content, as Pterodactyl answers actions.
pub fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Authenticates the `ptlc_…` key and puts its principal in the request.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match principal::resolve_client_key(&state, request.headers()).await {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(error) => ClientError(error).into_response(),
    }
}

async fn not_found() -> ClientError {
    ClientError(Error::NotFound(
        "this route does not exist in the Pterodactyl-compatible API (see the README for what it offers)".into(),
    ))
}

/// The routes, mounted at `/api/client`.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(servers::list))
        .route("/permissions", get(permissions::system))
        .route("/account", get(account::show))
        .route("/servers/{server}", get(servers::show))
        .route("/servers/{server}/resources", get(servers::resources))
        .route("/servers/{server}/power", post(servers::power))
        .route("/servers/{server}/command", post(servers::command))
        .route("/servers/{server}/websocket", get(websocket::credentials))
        .route("/servers/{server}/files/list", get(files::list))
        .route("/servers/{server}/files/contents", get(files::contents))
        .route("/servers/{server}/files/write", post(files::write))
        .route("/servers/{server}/files/download", get(files::download))
        .route(
            "/servers/{server}/files/create-folder",
            post(files::create_folder),
        )
        .route("/servers/{server}/files/rename", put(files::rename))
        .route("/servers/{server}/files/delete", post(files::delete))
        .route("/servers/{server}/files/copy", post(file_actions::copy))
        .route(
            "/servers/{server}/files/compress",
            post(file_actions::compress),
        )
        .route(
            "/servers/{server}/files/decompress",
            post(file_actions::decompress),
        )
        .route("/servers/{server}/files/chmod", post(file_actions::chmod))
        .route("/servers/{server}/startup", get(startup::show))
        .route(
            "/servers/{server}/startup/variable",
            put(startup::set_variable),
        )
        .route("/servers/{server}/settings/rename", post(startup::rename))
        .route(
            "/servers/{server}/settings/reinstall",
            post(startup::reinstall),
        )
        .route(
            "/servers/{server}/users",
            get(users::index).post(users::create),
        )
        .route(
            "/servers/{server}/users/{user}",
            get(users::show).post(users::update).delete(users::delete),
        )
        .route(
            "/servers/{server}/network/allocations",
            get(network::index).post(network::assign),
        )
        .route(
            "/servers/{server}/network/allocations/{allocation}",
            post(network::notes).delete(network::delete),
        )
        .route(
            "/servers/{server}/network/allocations/{allocation}/primary",
            post(network::primary),
        )
        .route(
            "/servers/{server}/backups",
            get(backups::index).post(backups::create),
        )
        .route(
            "/servers/{server}/backups/{backup}",
            get(backups::show).delete(backups::delete),
        )
        .route(
            "/servers/{server}/backups/{backup}/lock",
            post(backups::lock),
        )
        .route(
            "/servers/{server}/backups/{backup}/restore",
            post(backups::restore),
        )
        .route(
            "/servers/{server}/databases",
            get(databases::index).post(databases::create),
        )
        .route(
            "/servers/{server}/databases/{database}",
            axum::routing::delete(databases::delete),
        )
        .route(
            "/servers/{server}/databases/{database}/rotate-password",
            post(databases::rotate),
        )
        .route("/servers/{server}/schedules", get(schedules::index))
        .route(
            "/servers/{server}/schedules/{schedule}",
            get(schedules::show)
                .post(schedules::update)
                .delete(schedules::delete),
        )
        .route(
            "/servers/{server}/schedules/{schedule}/execute",
            post(schedules::execute),
        )
        .route(
            "/servers/{server}/schedules/{schedule}/tasks",
            post(schedules::create_task),
        )
        .route(
            "/servers/{server}/schedules/{schedule}/tasks/{task}",
            post(schedules::update_task).delete(schedules::delete_task),
        )
        .fallback(not_found)
        .route_layer(middleware::from_fn_with_state(state, authenticate))
        // A download link and a console ticket are their own credentials.
        .route("/download/file", get(files::redeem))
        .route("/servers/{server}/ws", get(websocket::socket))
}
