//! A cache of server-list pages (the dashboard's query), keyed by who asks and which page.
//! Every write to a table the list reads (servers, allocations, nodes, templates, users,
//! subusers) calls [`invalidate`]; entries also expire after [`TTL`], which bounds how
//! stale a page can be when another panel process shares the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

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

/// One page of the server list as the database returned it.
#[derive(Debug)]
pub struct CachedPage {
    pub rows: Vec<ServerListRow>,
    pub total: u64,
    pub allocations: Vec<allocation::Model>,
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
