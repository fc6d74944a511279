//! Pterodactyl's response shapes: an item is `{object, attributes}`, a list
//! `{object: "list", data: [items], meta: {pagination}}`.

use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// `{"object": object, "attributes": attributes}`.
pub fn item(object: &str, attributes: impl Serialize) -> Value {
    json!({ "object": object, "attributes": attributes })
}

/// One page of a list, with Pterodactyl's pagination block. `path` is the route's own
/// path (`/api/client`), so the links work wherever the panel is reached.
pub struct Page<'a> {
    pub path: &'a str,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

impl Page<'_> {
    pub fn render(&self, data: Vec<Value>) -> Json<Value> {
        let total_pages = self.total.div_ceil(self.per_page).max(1);
        let mut links = serde_json::Map::new();
        let link = |page: u64| format!("{}?page={page}&per_page={}", self.path, self.per_page);
        if self.page < total_pages {
            links.insert("next".into(), link(self.page + 1).into());
        }
        if self.page > 1 {
            links.insert("previous".into(), link(self.page - 1).into());
        }
        Json(json!({
            "object": "list",
            "data": data.iter().collect::<Vec<_>>(),
            "meta": { "pagination": {
                "total": self.total,
                "count": data.len(),
                "per_page": self.per_page,
                "current_page": self.page,
                "total_pages": total_pages,
                "links": links,
            } },
        }))
    }
}

/// A list without paging (`{"object": "list", "data": [...]}`).
pub fn list(data: Vec<Value>) -> Json<Value> {
    Json(json!({ "object": "list", "data": data }))
}
