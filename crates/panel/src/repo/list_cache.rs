//! A cache of server-list pages (the dashboard's query), keyed by who asks and which page.
//! Every write to a table the list reads (servers, allocations, nodes, templates, users,
//! subusers) calls [`invalidate`]; entries also expire after [`TTL`], which bounds how
//! stale a page can be when another panel process shares the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use super::servers::ServerListRow;
use crate::db::entities::allocation;

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 1_000;

static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Forgets every cached page.
pub fn invalidate() {
    EPOCH.fetch_add(1, Ordering::SeqCst);
}

pub fn epoch() -> u64 {
    EPOCH.load(Ordering::SeqCst)
}

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
                r.caller == caller
                    && r.live_epoch == live_epoch
                    && r.auth_epoch == crate::auth::cache::epoch()
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
pub struct ListCache {
    pages: RwLock<HashMap<String, Entry>>,
}

impl ListCache {
    pub fn get(&self, key: &str) -> Option<Arc<CachedPage>> {
        let pages = self.pages.read().unwrap_or_else(|e| e.into_inner());
        let (at_epoch, cached_at, page) = pages.get(key)?;
        (*at_epoch == epoch() && cached_at.elapsed() < TTL).then(|| page.clone())
    }

    /// Stores a page read while the epoch was `read_at_epoch`, unless a write happened since.
    pub fn put(&self, key: String, page: Arc<CachedPage>, read_at_epoch: u64) {
        if read_at_epoch != epoch() {
            return;
        }
        let mut pages = self.pages.write().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= MAX_ENTRIES {
            pages.clear();
        }
        pages.insert(key, (read_at_epoch, Instant::now(), page));
    }
}
