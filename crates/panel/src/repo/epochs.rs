//! Write counters kept by the storage layer, for caches above it. Every repository write
//! that can change what a cache holds bumps the matching counter; a cache compares the
//! counter it read with the current one and drops what is older.

use std::sync::atomic::{AtomicU64, Ordering};

static SERVER_LIST: AtomicU64 = AtomicU64::new(0);
static ACCESS: AtomicU64 = AtomicU64::new(0);

/// Something the server list shows changed (servers, allocations, nodes, templates,
/// users, subusers).
pub fn server_list_changed() {
    SERVER_LIST.fetch_add(1, Ordering::SeqCst);
}

pub fn server_list() -> u64 {
    SERVER_LIST.load(Ordering::SeqCst)
}

/// Something that decides who a caller is or what they may do changed (password, role,
/// disabled flag, permission grants, session or API-key revocation).
pub fn access_changed() {
    ACCESS.fetch_add(1, Ordering::SeqCst);
}

pub fn access() -> u64 {
    ACCESS.load(Ordering::SeqCst)
}
