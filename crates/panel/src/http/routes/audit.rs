//! `GET /api/audit`: the audit log, newest first.

use axum::extract::State;
use axum::http::Method;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::db::entities::audit_log;
use crate::error::{Error, Result};
use crate::http::access::{Access, ApiRoutes};
use crate::http::envelope::Envelope;
use crate::http::extract::{Page, PageQuery, ValidQuery};
use crate::services::audit::{self, AuditFilter, Listed};
use crate::state::AppState;

pub fn routes(api: ApiRoutes) -> ApiRoutes {
    api.add(
        Method::GET,
        "/audit",
        Access::Permission("admin:audit"),
        list,
    )
}

/// `?userId=&action=` next to the page parameters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    user_id: Option<String>,
    /// An exact action name, e.g. `user.created`.
    action: Option<String>,
}

/// Longest accepted filter value (ids are 36 characters, actions at most 64).
const MAX_FILTER_LEN: usize = 64;

impl AuditQuery {
    fn into_filter(self) -> Result<AuditFilter> {
        for (field, value) in [("userId", &self.user_id), ("action", &self.action)] {
            if value.as_ref().is_some_and(|v| v.len() > MAX_FILTER_LEN) {
                return Err(Error::validation(
                    field,
                    format!("must be at most {MAX_FILTER_LEN} characters long"),
                ));
            }
        }
        let present = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        Ok(AuditFilter {
            user_id: present(self.user_id),
            action: present(self.action),
        })
    }
}

/// Who acted, when they still exist.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Actor {
    id: String,
    username: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    id: String,
    user: Option<Actor>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    details: serde_json::Value,
    ip: String,
    request_id: String,
    created_at: DateTime<Utc>,
}

async fn list(
    State(state): State<AppState>,
    ValidQuery(page): ValidQuery<PageQuery>,
    ValidQuery(query): ValidQuery<AuditQuery>,
) -> Result<Envelope<Page<AuditEntry>>> {
    let (number, per_page) = (page.page(), page.per_page());
    let Listed {
        rows,
        total,
        usernames: names,
    } = audit::list(state.db(), query.into_filter()?, number, per_page).await?;
    let items = rows
        .into_iter()
        .map(|row: audit_log::Model| AuditEntry {
            user: row.user_id.and_then(|id| {
                let username = names.get(&id).cloned()?;
                Some(Actor { id, username })
            }),
            id: row.id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            details: row.details,
            ip: row.ip,
            request_id: row.request_id,
            created_at: row.created_at,
        })
        .collect();
    Ok(Envelope::ok(Page {
        items,
        total,
        page: number,
        per_page,
    }))
}
