//! Browser-facing protections: security headers on every response and CSRF checks on
//! cookie-authenticated writes.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::principal::ACCESS_COOKIE;
use crate::config::Config;
use crate::error::Error;
use crate::state::AppState;

/// Fit for the bundled single-page app: everything from our own origin, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

const HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// Sent only when browsers reach the panel over HTTPS: once a browser has seen it, it
/// refuses plain HTTP to this host for a year.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds `Strict-Transport-Security` to every response when browsers reach the panel over
/// HTTPS (served here or by a proxy at an `https://` public URL); plain HTTP never gets it.
pub fn transport_security(router: Router, config: &Config) -> Router {
    if !config.browsers_use_https() {
        return router;
    }
    router.layer(SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
    ))
}

pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Refuses state-changing requests that carry the session cookie but come from another
/// site. Browsers send `Sec-Fetch-Site`; older ones at least send `Origin`. API-key
/// requests (no cookie) are not affected.
pub async fn csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if is_write(request.method())
        && carries_session_cookie(request.headers())
        && !from_our_site(&state, request.headers())
    {
        return Error::Forbidden("cross-site request refused".into()).into_response();
    }
    next.run(request).await
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn carries_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(';')
                .any(|c| c.trim_start().starts_with(ACCESS_COOKIE))
        })
}

/// Whether a browser request comes from the panel's own site: its host, its public URL or
/// an origin on the CORS allow-list. Used for cookie-authenticated writes and the console
/// WebSocket.
pub fn from_our_site(state: &AppState, headers: &HeaderMap) -> bool {
    let config = state.config();
    let mut allowed = config.cors_origins.clone();
    // Validated at start-up, so an error here cannot happen.
    allowed.extend(config.public_origin().ok().flatten());
    same_site(headers, &allowed)
}

fn same_site(headers: &HeaderMap, allowed_origins: &[String]) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        if matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    let Some(origin) = text(header::ORIGIN) else {
        // No browser cross-site signal at all: not a browser-driven forgery.
        return !headers.contains_key("sec-fetch-site");
    };
    let host = text(header::HOST).unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    origin_host == host || allowed_origins.iter().any(|allowed| allowed == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn same_site_rules() {
        let allowed = ["https://ui.example.com".to_owned()];
        assert!(same_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            &allowed
        ));
        assert!(!same_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            &allowed
        ));
        assert!(same_site(
            &headers(&[
                ("origin", "http://panel.local:8080"),
                ("host", "panel.local:8080")
            ]),
            &allowed
        ));
        assert!(!same_site(
            &headers(&[
                ("origin", "http://evil.example"),
                ("host", "panel.local:8080")
            ]),
            &allowed
        ));
        assert!(same_site(
            &headers(&[
                ("origin", "https://ui.example.com"),
                ("host", "panel.local")
            ]),
            &allowed
        ));
        assert!(same_site(&headers(&[]), &allowed));
    }
}
