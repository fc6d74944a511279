//! Route modules by domain (design §5). Each exposes `routes(ApiRoutes) -> ApiRoutes`.

pub mod auth;
pub mod permissions;
