//! Who makes a request: where it came from ([`Client`]) and, once signed in, who they
//! are ([`Actor`]). Services take these to authorise, to write the audit log and to tag
//! commands; the HTTP layer extracts them (`http::extract`).

use super::Principal;

/// Where a request came from, for sessions and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
    /// The id of the request (logged, echoed to the caller, kept in the audit log).
    pub request_id: String,
}

/// A signed-in caller: the principal and the request it makes.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub client: Client,
}

impl std::ops::Deref for Actor {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}
