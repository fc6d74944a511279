//! `GET /api/openapi.json`: the OpenAPI document of this API, built once at start-up.

use axum::http::Method;
use axum::Extension;

use crate::http::access::{Access, ApiRoutes};
use crate::http::openapi::OpenApiJson;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(Method::GET, "/openapi.json", Access::Public, openapi)
}

async fn openapi(Extension(document): Extension<OpenApiJson>) -> OpenApiJson {
    document
}
