//! `GET /api/client/account`: the key's user.

use axum::Json;
use serde_json::{json, Value};

use super::shapes::item;
use crate::auth::Principal;

pub async fn show(principal: Principal) -> Json<Value> {
    let user = &principal.user;
    Json(item(
        "user",
        json!({
            "id": user.id,
            "admin": principal.is_admin(),
            "username": user.username,
            "email": user.email,
            "first_name": user.username,
            "last_name": "",
            "language": "en",
        }),
    ))
}
