//! `GET /api/permissions`: the catalogue of the 36 keys, the roles and the keys a subuser
//! may hold.

use axum::http::Method;
use schemars::JsonSchema;
use serde::Serialize;

use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::permissions::{self, ALL, ROLES, SERVER_SCOPED};

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/permissions",
        Access::Authenticated,
        catalogue,
    )
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Catalogue {
    categories: Vec<Category>,
    roles: Vec<RoleView>,
    server_scoped: Vec<&'static str>,
}

#[derive(Serialize, JsonSchema)]
pub struct Category {
    name: &'static str,
    permissions: Vec<PermissionView>,
}

#[derive(Serialize, JsonSchema)]
pub struct PermissionView {
    key: &'static str,
    description: &'static str,
}

#[derive(Serialize, JsonSchema)]
pub struct RoleView {
    name: &'static str,
    description: &'static str,
    permissions: Vec<&'static str>,
}

async fn catalogue() -> Envelope<Catalogue> {
    let mut categories: Vec<Category> = Vec::new();
    for p in ALL {
        let view = PermissionView {
            key: p.key,
            description: p.description,
        };
        match categories.last_mut() {
            Some(category) if category.name == p.category => category.permissions.push(view),
            _ => categories.push(Category {
                name: p.category,
                permissions: vec![view],
            }),
        }
    }
    Envelope::ok(Catalogue {
        categories,
        roles: ROLES
            .iter()
            .map(|role: &permissions::Role| RoleView {
                name: role.name,
                description: role.description,
                permissions: role.keys(),
            })
            .collect(),
        server_scoped: SERVER_SCOPED.to_vec(),
    })
}
