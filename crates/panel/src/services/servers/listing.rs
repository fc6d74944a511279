//! The dashboard's server list: pages read from the database and kept a short while,
//! keyed by who asks and which page. Every repository write to a table the list reads
//! bumps `repo::epochs::server_list`, which drops every kept page; pages also expire
//! after [`TTL`], which bounds how stale a page can be when another panel process shares
//! the database. A page also keeps the last body rendered from it, for one caller at one
//! live epoch.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use crate::auth::Principal;
use crate::db::entities::server::ServerListRow;
use crate::db::entities::{allocation, subuser};
use crate::domain::ShortId;
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::repo::{self, epochs};
use crate::state::AppState;

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 1_000;

/// One page of the server list as the database returned it, plus the last response
/// body rendered from it (for one caller, at one live epoch).
#[derive(Debug)]
pub struct CachedPage {
    pub rows: Vec<ServerListRow>,
    pub total: u64,
    pub allocations: Vec<allocation::Model>,
    rendered: RwLock<Option<Rendered>>,
}

#[derive(Debug)]
struct Rendered {
    caller: String,
    auth_epoch: u64,
    live_epoch: u64,
    body: Arc<RawValue>,
}

impl CachedPage {
    pub fn new(rows: Vec<ServerListRow>, total: u64, allocations: Vec<allocation::Model>) -> Self {
        CachedPage {
            rows,
            total,
            allocations,
            rendered: RwLock::new(None),
        }
    }

    /// The body rendered for `caller` when neither their permissions nor any live data
    /// changed since.
    pub fn rendered(&self, caller: &str, live_epoch: u64) -> Option<Arc<RawValue>> {
        let rendered = self.rendered.read().unwrap_or_else(|e| e.into_inner());
        rendered
            .as_ref()
            .filter(|r| {
                r.caller == caller && r.live_epoch == live_epoch && r.auth_epoch == epochs::access()
            })
            .map(|r| r.body.clone())
    }

    /// Keeps a body rendered at `live_epoch` / `auth_epoch` (read before rendering).
    pub fn keep_rendered(
        &self,
        caller: &str,
        live_epoch: u64,
        auth_epoch: u64,
        body: Arc<RawValue>,
    ) {
        *self.rendered.write().unwrap_or_else(|e| e.into_inner()) = Some(Rendered {
            caller: caller.to_owned(),
            auth_epoch,
            live_epoch,
            body,
        });
    }
}

/// A page with the epoch it was read at and when.
type Entry = (u64, Instant, Arc<CachedPage>);

#[derive(Default)]
pub struct ServerPages {
    pages: RwLock<HashMap<String, Entry>>,
}

impl ServerPages {
    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        let (at_epoch, cached_at, page) = pages.get(key)?;
        (*at_epoch == epochs::server_list() && cached_at.elapsed() < TTL).then(|| page.clone())
    }

    /// Stores a page read while the epoch was `read_at_epoch`, unless a write happened since.
    pub fn put(&self, key: String, page: Arc<CachedPage>, read_at_epoch: u64) {
        if read_at_epoch != epochs::server_list() {
            return;
        }
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_ENTRIES {
            pages.clear();
        }
        pages.insert(key, (read_at_epoch, Instant::now(), page));
    }
}

/// What one page asks for.
pub struct PageRequest<'a> {
    pub name: Option<&'a str>,
    pub page: u64,
    pub per_page: u64,
}

/// A page of the servers `principal` can see, from `pages` when nothing changed since it
/// was read.
pub async fn page(
    state: &AppState,
    pages: &ServerPages,
    principal: &Principal,
    request: &PageRequest<'_>,
) -> Result<Arc<CachedPage>> {
    let visibility = if principal.is_admin() {
        Visibility::All
    } else {
        Visibility::UserCanSee(principal.id())
    };
    let key = format!(
        "{}|{}|{}|{}",
        if principal.is_admin() {
            "*"
        } else {
            principal.id()
        },
        request.name.unwrap_or_default(),
        request.page,
        request.per_page
    );
    if let Some(page) = pages.get(&key) {
        return Ok(page);
    }
    let epoch = epochs::server_list();
    let page = Arc::new(page_of(state, visibility, request).await?);
    pages.put(key, page.clone(), epoch);
    Ok(page)
}

/// A page of the servers `visibility` selects, read now (the Pterodactyl-compatible list,
/// whose filters the dashboard's cache does not know).
pub async fn page_of(
    state: &AppState,
    visibility: Visibility<'_>,
    request: &PageRequest<'_>,
) -> Result<CachedPage> {
    let (rows, total) = repo::servers::list(
        state.db(),
        visibility,
        request.name,
        request.page,
        request.per_page,
    )
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let allocations = repo::allocations::primary_for(state.db(), &ids).await?;
    Ok(CachedPage::new(rows, total, allocations))
}

/// The server a Pterodactyl-style identifier names: its full id, or the last eight hex
/// digits of it (the ids are time-ordered, so their first digits are shared by servers
/// created together). An ambiguous short id names no server.
pub async fn by_identifier(state: &AppState, identifier: &str) -> Result<String> {
    let not_found = || Error::not_found("server");
    let identifier = identifier.to_ascii_lowercase();
    if identifier.len() == 36 {
        return Ok(identifier);
    }
    let short = ShortId::parse(&identifier).map_err(|_| not_found())?;
    let mut found = repo::servers::by_short_id(state.db(), &short, None).await?;
    match (found.pop(), found.is_empty()) {
        (Some(server), true) => Ok(server.id),
        _ => Err(not_found()),
    }
}

/// One server's list row and primary allocation.
pub async fn one(state: &AppState, id: &str) -> Result<(ServerListRow, Vec<allocation::Model>)> {
    let row = repo::servers::list_row(state.db(), id)
        .await?
        .ok_or_else(|| Error::not_found("server"))?;
    let allocations =
        repo::allocations::primary_for(state.db(), std::slice::from_ref(&row.id)).await?;
    Ok((row, allocations))
}

/// The servers `principal` was invited to, with their grants (none for administrators,
/// who see everything with their own keys).
pub async fn shared_with(state: &AppState, principal: &Principal) -> Result<Vec<subuser::Model>> {
    if principal.is_admin() {
        return Ok(Vec::new());
    }
    repo::subusers::for_user(state.db(), principal.id()).await
}

/// The auth epoch a rendered body is kept under (read before rendering).
pub fn access_epoch() -> u64 {
    epochs::access()
}
