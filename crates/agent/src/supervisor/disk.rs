//! Cached size of a server directory: recomputed in the background when stale, never on
//! the hot path.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Size of one directory tree.
pub struct DiskUsage {
    dir: PathBuf,
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    bytes: AtomicU64,
    scanning: AtomicBool,
    scanned_at: Mutex<Option<Instant>>,
}

impl DiskUsage {
    /// Usage of `dir` (unknown until the first scan).
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            inner: Arc::default(),
        }
    }

    /// The last computed size; starts a background rescan when older than `max_age`.
    pub fn current(&self, max_age: Duration) -> u64 {
        let stale = self
            .inner
            .scanned_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none_or(|t| t.elapsed() >= max_age);
        if stale && !self.inner.scanning.swap(true, Ordering::SeqCst) {
            let inner = self.inner.clone();
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || {
                scan(&dir, &inner);
                inner.scanning.store(false, Ordering::SeqCst);
            });
        }
        self.inner.bytes.load(Ordering::Relaxed)
    }

    /// Measure now on the blocking pool and cache the result.
    pub async fn measure(&self) -> u64 {
        let (dir, inner) = (self.dir.clone(), self.inner.clone());
        tokio::task::spawn_blocking(move || scan(&dir, &inner))
            .await
            .unwrap_or_else(|_| self.inner.bytes.load(Ordering::Relaxed))
    }

    /// Count a change of known size (bytes written past the end of a file, a truncation,
    /// a removal) at once, so quota checks see it before the next scan corrects the sum.
    pub fn grew(&self, delta: i64) {
        let _ = self
            .inner
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bytes| {
                Some(bytes.saturating_add_signed(delta))
            });
    }

    /// Forget the cached age so the next [`Self::current`] rescans.
    pub fn invalidate(&self) {
        *self
            .inner
            .scanned_at
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Measure `dir` and cache the result in `inner`.
fn scan(dir: &std::path::Path, inner: &Inner) -> u64 {
    let bytes = measure(dir);
    inner.bytes.store(bytes, Ordering::Relaxed);
    *inner.scanned_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    bytes
}

/// Sum of file sizes below `dir`, not following symlinks.
fn measure(dir: &std::path::Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}
