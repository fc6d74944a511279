//! Bearer-token authentication for every `/api` route.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AgentError;

/// The node token, kept only as its SHA-256 so comparisons take constant time whatever
/// the length of the presented token.
#[derive(Clone)]
pub struct TokenCheck {
    digest: Arc<[u8; 32]>,
}

impl TokenCheck {
    /// Wrap the node token.
    pub fn new(token: &str) -> Self {
        Self {
            digest: Arc::new(Sha256::digest(token.as_bytes()).into()),
        }
    }

    fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.as_slice().ct_eq(self.digest.as_slice()).into()
    }
}

/// Middleware: 401 unless `Authorization: Bearer <node token>` is present and right.
pub async fn require_token(
    State(check): State<TokenCheck>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if check.accepts(token) => next.run(request).await,
        _ => AgentError::Unauthorized.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::TokenCheck;

    #[test]
    fn only_the_exact_token_is_accepted() {
        let check = TokenCheck::new("secret-token");
        assert!(check.accepts("secret-token"));
        assert!(!check.accepts("secret-toke"));
        assert!(!check.accepts(""));
        assert!(!check.accepts("secret-token2"));
    }
}
