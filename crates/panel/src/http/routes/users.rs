//! `/api/users`: user administration and per-user permissions.

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use garde::Validate;
use schemars::JsonSchema;
use serde::Deserialize;

use super::auth::UserView;
use crate::auth::Actor;
use crate::domain::{Email, Password, Username};
use crate::error::{Error, FieldErrors, Result};
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidJson, ValidQuery};
use crate::http::openapi::describe::Note;
use crate::services::users::{self, AccountChanges, NewAccount, PermissionSet};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/users", Access::Permission("user:view"), list)
        .add(
            Method::POST,
            "/users",
            Access::Permission("user:create"),
            create,
        )
        .note(Note::Status(201))
        .add(
            Method::GET,
            "/users/{user_id}",
            Access::Permission("user:view"),
            show,
        )
        .add(
            Method::PATCH,
            "/users/{user_id}",
            Access::Permission("user:update"),
            update,
        )
        .add(
            Method::DELETE,
            "/users/{user_id}",
            Access::Permission("user:delete"),
            delete,
        )
        .add(
            Method::GET,
            "/users/{user_id}/permissions",
            Access::Permission("admin:permissions"),
            permissions,
        )
        .add(
            Method::PUT,
            "/users/{user_id}/permissions",
            Access::Permission("admin:permissions"),
            set_permissions,
        )
}

async fn list(
    State(state): State<AppState>,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> Result<Envelope<Page<UserView>>> {
    let (page, per_page) = (query.page(), query.per_page());
    let (users, total) = users::list(state.db(), query.name_filter(), page, per_page).await?;
    Ok(Envelope::ok(Page {
        items: users.into_iter().map(UserView::from).collect(),
        total,
        page,
        per_page,
    }))
}

/// A validation error naming every field that failed to parse, so one response
/// reports them all.
fn invalid<'a>(fields: impl IntoIterator<Item = (&'a str, Option<String>)>) -> Error {
    let details: FieldErrors = fields
        .into_iter()
        .filter_map(|(field, error)| Some((field.to_owned(), vec![error?])))
        .collect();
    let names: Vec<&str> = details.keys().map(String::as_str).collect();
    let message = format!("invalid {}", names.join(", "));
    Error::Validation { message, details }
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[garde(skip)]
    username: String,
    #[garde(skip)]
    email: String,
    #[garde(skip)]
    password: String,
    /// Defaults to `user`.
    #[garde(length(min = 1, max = 64))]
    role: Option<String>,
}

impl CreateUser {
    fn into_account(self) -> Result<NewAccount> {
        let username = Username::parse(&self.username);
        let email = Email::parse(&self.email);
        let password = Password::parse(&self.password);
        match (username, email, password) {
            (Ok(username), Ok(email), Ok(password)) => Ok(NewAccount {
                username,
                email,
                password,
                role: self.role.unwrap_or_else(|| users::DEFAULT_ROLE.to_owned()),
            }),
            (username, email, password) => Err(invalid([
                ("username", username.err()),
                ("email", email.err()),
                ("password", password.err()),
            ])),
        }
    }
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    ValidJson(body): ValidJson<CreateUser>,
) -> Result<(StatusCode, Envelope<UserView>)> {
    let user = users::create(state.db(), &actor, body.into_account()?).await?;
    Ok((
        StatusCode::CREATED,
        Envelope::ok(UserView::from(user)).with_message("user created"),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Envelope<UserView>> {
    let user = users::find(state.db(), &user_id).await?;
    Ok(Envelope::ok(user.into()))
}

#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[garde(skip)]
    email: Option<String>,
    #[garde(length(min = 1, max = 64))]
    role: Option<String>,
    #[garde(skip)]
    disabled: Option<bool>,
    #[garde(skip)]
    password: Option<String>,
}

impl UpdateUser {
    fn into_changes(self) -> Result<AccountChanges> {
        let email = self.email.as_deref().map(Email::parse).transpose();
        let password = self.password.as_deref().map(Password::parse).transpose();
        match (email, password) {
            (Ok(email), Ok(password)) => Ok(AccountChanges {
                email,
                role: self.role,
                disabled: self.disabled,
                password,
            }),
            (email, password) => Err(invalid([
                ("email", email.err()),
                ("password", password.err()),
            ])),
        }
    }
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(user_id): Path<String>,
    ValidJson(body): ValidJson<UpdateUser>,
) -> Result<Envelope<UserView>> {
    let changes = body.into_changes()?;
    let user = users::update(state.db(), &actor, &user_id, changes).await?;
    Ok(Envelope::ok(UserView::from(user)).with_message("user updated"))
}

async fn delete(
    State(state): State<AppState>,
    actor: Actor,
    Path(user_id): Path<String>,
) -> Result<Envelope<()>> {
    users::delete(state.db(), &actor, &user_id).await?;
    Ok(Envelope::ok(()).with_message("user deleted"))
}

async fn permissions(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Envelope<PermissionSet>> {
    Ok(Envelope::ok(
        users::permissions(state.db(), &user_id).await?,
    ))
}

/// The complete set of a user's own grants and revocations; it replaces the old one.
#[derive(Debug, Deserialize, Validate, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPermissions {
    #[garde(length(max = 36), inner(length(max = 64)))]
    grants: Vec<String>,
    #[garde(length(max = 36), inner(length(max = 64)))]
    revocations: Vec<String>,
}

async fn set_permissions(
    State(state): State<AppState>,
    actor: Actor,
    Path(user_id): Path<String>,
    ValidJson(body): ValidJson<SetPermissions>,
) -> Result<Envelope<PermissionSet>> {
    let overrides = users::Overrides {
        grants: body.grants.into_iter().collect(),
        revocations: body.revocations.into_iter().collect(),
    };
    let set = users::set_permissions(state.db(), &actor, &user_id, overrides).await?;
    Ok(Envelope::ok(set).with_message("permissions updated"))
}
