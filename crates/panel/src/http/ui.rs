//! The web UI: the SPA built into `web/dist` is embedded in the binary (read from disk in
//! debug builds) and served at `/`. Hashed assets are cached for a year; everything else
//! that is not an API path falls back to `index.html` so client-side routes work. Without
//! a built UI a short page says how to build it.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
// Relative to this crate (rust-embed resolves it from CARGO_MANIFEST_DIR).
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Dist;

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Ctrl-Alt-Play</title></head><body style=\"font-family:sans-serif;background:#111;color:#eee;padding:2rem\">\
<h1>Ctrl-Alt-Play</h1><p>The panel is running, but its web UI was not built into this binary.</p>\
<p>Build it with <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> and rebuild \
<code>cap-panel</code> (<code>scripts/run</code> does both). The REST API is available under \
<code>/api</code>.</p></body></html>";

fn asset(path: &str) -> Option<Response> {
    let file = Dist::get(path)?;
    let mime = file.metadata.mimetype().to_owned();
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Some(response)
}

/// Serves a file of the UI, or `index.html` for client-side routes.
pub async fn serve(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if let Some(response) = asset(path) {
        return response;
    }
    // A missing hashed asset is a real 404, not a page.
    if path.starts_with("assets/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    asset("index.html").unwrap_or_else(|| Html(NOT_BUILT).into_response())
}
