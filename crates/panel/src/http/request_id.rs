//! Request ids: taken from `X-Request-Id` when it is sane, generated otherwise; echoed in
//! the response header, the envelope (via [`crate::request_id`]) and the request's log span.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

fn is_acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path()
    );
    let mut response =
        crate::request_id::scope(id.clone(), next.run(request).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejects_ids_that_could_forge_log_lines() {
        assert!(super::is_acceptable("abc-123_x.y:z"));
        assert!(!super::is_acceptable(""));
        assert!(!super::is_acceptable("a\nb"));
        assert!(!super::is_acceptable("a b"));
        assert!(!super::is_acceptable(&"a".repeat(129)));
    }
}
