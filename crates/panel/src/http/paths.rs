//! Route extractors percent-decode path segments into text. A path whose decoded bytes
//! are not UTF-8 can name nothing here, so it is refused once, for every route, with a
//! 400 envelope instead of reaching an extractor that would fail on it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::error::{Error, Result};

pub async fn utf8_only(request: Request, next: Next) -> Result<Response> {
    if percent_decode_str(request.uri().path())
        .decode_utf8()
        .is_err()
    {
        return Err(Error::BadRequest(
            "the address is not valid UTF-8 once percent-decoded".into(),
        ));
    }
    Ok(next.run(request).await)
}
