//! Every API route is declared with the access it requires, in one registry. The same
//! registry builds the router, lists the routes for the RBAC matrix test (so a route
//! cannot exist without a declared permission) and feeds the OpenAPI document.

use axum::extract::DefaultBodyLimit;
use axum::extract::{RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use schemars::SchemaGenerator;

use crate::auth::principal::{self, Principal};
use crate::error::{Error, Result};
use crate::http::openapi::describe::{self, DocInputs, DocOutput, Documented, Note, OperationDoc};
use crate::services::server_access;
use crate::state::AppState;

/// What a route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, e.g. login.
    Public,
    /// Any logged-in user, e.g. their own profile.
    Authenticated,
    /// A global permission key.
    Permission(&'static str),
    /// A permission on the server named by the `{id}` path parameter: admins need the key,
    /// owners need the key, subusers need it in their grant for that server; anyone else
    /// gets 404, as if the server did not exist.
    Server(&'static str),
}

/// One declared route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: String,
    pub access: Access,
    pub doc: RouteDoc,
}

/// What the OpenAPI document says about a route besides its method, path and access.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// The handler's path (`cap_panel::http::routes::servers::list`): the route module
    /// becomes the tag, the function name the operation id.
    pub handler: &'static str,
    /// Describes the handler's inputs and output.
    pub describe: fn(&mut SchemaGenerator) -> OperationDoc,
    /// What the handler's types cannot tell.
    pub notes: Vec<Note>,
}

impl RouteDoc {
    fn of<H, T, I, O>() -> RouteDoc
    where
        H: Handler<T, AppState> + Documented<I, O>,
        T: 'static,
        I: DocInputs,
        O: DocOutput,
    {
        RouteDoc {
            handler: std::any::type_name::<H>(),
            describe: describe::describe::<I, O>,
            notes: Vec::new(),
        }
    }
}

/// `handler` for one method.
fn on_method<H, T>(method: &Method, path: &str, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| panic!("unsupported method {method} for {path}"));
    on(filter, handler)
}

pub use crate::services::server_access::ServerScope;

/// Server routes are documented as such.
impl describe::DocInput for ServerScope {
    fn describe(op: &mut OperationDoc, _: &mut SchemaGenerator) {
        op.server_scoped = true;
    }
}

impl axum::extract::FromRequestParts<AppState> for ServerScope {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &AppState,
    ) -> Result<Self> {
        parts
            .extensions
            .get::<ServerScope>()
            .cloned()
            .ok_or_else(|| Error::internal("server scope requested on a route without one"))
    }
}

/// Collects routes with their access rules.
pub struct ApiRoutes {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl ApiRoutes {
    pub fn new(state: AppState) -> Self {
        ApiRoutes {
            state,
            router: Router::new(),
            specs: Vec::new(),
        }
    }

    /// Adds `method path` served by `handler`, guarded by `access`. `path` is relative to
    /// `/api`. The handler's extractors and return type document the route.
    pub fn add<H, T, I, O>(self, method: Method, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState> + Documented<I, O>,
        T: 'static,
        I: DocInputs,
        O: DocOutput,
    {
        let route = on_method(&method, path, handler);
        self.add_route(method, path, access, route, RouteDoc::of::<H, T, I, O>())
    }

    /// Like [`ApiRoutes::add`] for a route that streams its body: instead of the general
    /// limit for request bodies, it accepts up to `max_body_bytes`.
    pub fn add_streaming<H, T, I, O>(
        self,
        method: Method,
        path: &str,
        access: Access,
        handler: H,
        max_body_bytes: u64,
    ) -> Self
    where
        H: Handler<T, AppState> + Documented<I, O>,
        T: 'static,
        I: DocInputs,
        O: DocOutput,
    {
        let limit = usize::try_from(max_body_bytes).unwrap_or(usize::MAX);
        let route = on_method(&method, path, handler).layer(DefaultBodyLimit::max(limit));
        self.add_route(method, path, access, route, RouteDoc::of::<H, T, I, O>())
    }

    fn add_route(
        mut self,
        method: Method,
        path: &str,
        access: Access,
        route: MethodRouter<AppState>,
        doc: RouteDoc,
    ) -> Self {
        let guard = Guard {
            access,
            open_before_two_factor: reachable_before_two_factor(path),
        };
        let guarded = route.route_layer(middleware::from_fn_with_state(
            (self.state.clone(), guard),
            authorize,
        ));
        self.router = self.router.route(path, guarded);
        self.specs.push(RouteSpec {
            method,
            path: format!("/api{path}"),
            access,
            doc,
        });
        self
    }

    /// Documents what the handler's types of the route added last cannot tell.
    pub fn note(mut self, note: Note) -> Self {
        if let Some(spec) = self.specs.last_mut() {
            spec.doc.notes.push(note);
        }
        self
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}

/// authenticate → authorize, then the handler runs with `Principal` (and `ServerScope`)
/// in the request extensions.
async fn authorize(
    State((
        state,
        Guard {
            access,
            open_before_two_factor,
        },
    )): State<(AppState, Guard)>,
    mut request: Request,
    next: Next,
) -> Result<Response> {
    if access == Access::Public {
        return Ok(next.run(request).await);
    }
    let principal = principal::resolve(&state, request.headers())
        .await?
        .ok_or_else(|| Error::Unauthorized("authentication required".into()))?;
    if principal.two_factor_setup_required && !open_before_two_factor {
        return Err(Error::Forbidden(
            "administrators must turn on two-factor sign-in first (Account page)".into(),
        ));
    }
    match access {
        Access::Public | Access::Authenticated => {}
        Access::Permission(key) => require(&principal, key)?,
        Access::Server(key) => {
            let id = server_id(&mut request).await?;
            let scope = server_scope(&state, &principal, &id, key).await?;
            request.extensions_mut().insert(scope);
        }
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// What the access layer checks of one route.
#[derive(Debug, Clone, Copy)]
struct Guard {
    access: Access,
    /// Reachable by a session that still has to turn on a required two-factor sign-in.
    open_before_two_factor: bool,
}

/// What a session that still has to turn on a required two-factor sign-in may reach: its
/// profile and the two-factor setup (not API keys, which would bypass it).
fn reachable_before_two_factor(path: &str) -> bool {
    path == "/auth/me" || path.starts_with("/auth/two-factor")
}

fn require(principal: &Principal, key: &str) -> Result<()> {
    if principal.has(key) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("missing permission {key}")))
    }
}

async fn server_id(request: &mut Request) -> Result<String> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let params = axum::RequestPartsExt::extract::<RawPathParams>(&mut parts).await;
    *request = Request::from_parts(parts, body);
    params
        .ok()
        .and_then(|params| {
            params
                .iter()
                .find(|(name, _)| *name == "id")
                .map(|(_, value)| value.to_owned())
        })
        .ok_or_else(|| Error::internal("server route without an {id} parameter"))
}

async fn server_scope(
    state: &AppState,
    principal: &Principal,
    id: &str,
    key: &str,
) -> Result<ServerScope> {
    let scope = server_access::resolve(state, principal, id).await?;
    if !scope.permissions.contains(key) {
        return Err(Error::Forbidden(format!(
            "missing permission {key} on this server"
        )));
    }
    Ok(scope)
}
