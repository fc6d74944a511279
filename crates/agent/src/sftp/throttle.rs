//! Failed-login throttling (per client address and per username) and session counts
//! (per user and per node).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys tracked before the oldest windows are dropped.
const MAX_TRACKED: usize = 10_000;

/// Failures counted per key within a fixed window.
pub struct Failures {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Failures {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has used up its failures in the current window.
    pub fn blocked(&self, key: &str) -> bool {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(key)
            .is_some_and(|(since, count)| since.elapsed() < self.window && *count >= self.limit)
    }

    /// Count one failure of `key`.
    pub fn fail(&self, key: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_TRACKED {
            let window = self.window;
            seen.retain(|_, (since, _)| since.elapsed() < window);
        }
        let entry = seen.entry(key.to_owned()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

/// Open sessions per user and in total.
pub struct Sessions {
    per_user: usize,
    total: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// One counted session; dropping it frees the place.
pub struct SessionSlot {
    sessions: Arc<Sessions>,
    user_id: String,
}

impl Sessions {
    pub fn new(per_user: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_user: per_user.max(1),
            total: total.max(1),
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for one more session of `user_id`, or why there is none.
    pub fn claim(self: &Arc<Self>, user_id: &str) -> Result<SessionSlot, &'static str> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.total {
            return Err("this node has as many SFTP sessions open as it allows");
        }
        let mine = open.1.entry(user_id.to_owned()).or_insert(0);
        if *mine >= self.per_user {
            return Err("this user has as many SFTP sessions open as allowed");
        }
        *mine += 1;
        open.0 += 1;
        Ok(SessionSlot {
            sessions: self.clone(),
            user_id: user_id.to_owned(),
        })
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut open = self.sessions.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(mine) = open.1.get_mut(&self.user_id) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.1.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_after_the_limit_until_the_window_ends() {
        let failures = Failures::new(2, Duration::from_millis(50));
        failures.fail("a");
        assert!(!failures.blocked("a"));
        failures.fail("a");
        assert!(failures.blocked("a"));
        assert!(!failures.blocked("b"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!failures.blocked("a"));
    }

    #[test]
    fn session_places_are_freed_when_dropped() {
        let sessions = Sessions::new(1, 2);
        let first = sessions.claim("u").unwrap();
        assert!(sessions.claim("u").is_err());
        let other = sessions.claim("v").unwrap();
        assert!(sessions.claim("w").is_err());
        drop(first);
        drop(other);
        assert!(sessions.claim("u").is_ok());
    }
}
