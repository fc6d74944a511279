//! Routes of the `nodes` domain.

use crate::http::access::ApiRoutes;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api
}
