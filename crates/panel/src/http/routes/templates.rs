//! Routes of the `templates` domain.

use crate::http::access::ApiRoutes;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api
}
