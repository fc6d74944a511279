//! Extractors whose rejections become enveloped `VALIDATION_ERROR`s.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::AgentError;

/// JSON body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AgentError))]
pub struct ApiJson<T>(pub T);

/// Query string.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AgentError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AgentError))]
pub struct ApiPath<T>(pub T);
