//! Rate limits: strict ones for password attempts (logins, refreshes, password changes)
//! and a general one per client address. Keys live in memory; limits reset with the
//! process.
//!
//! Password attempts are counted three ways, `n` being `login_attempts_per_minute`:
//! - per account and client address: `n` a minute, so a guesser at one address is
//!   slowed down without touching the owner anywhere else;
//! - per account over all addresses: a ceiling of [`ACCOUNT_CEILING_FACTOR`]` × n`,
//!   against guessing spread over many addresses. The caller may waive it for an
//!   address the account has signed in from before, so the owner is never locked out;
//! - per client address over all accounts: [`CLIENT_FACTOR`]` × n` (logins and
//!   refreshes), against one address trying many accounts.
//!
//! Accounts are keyed on who they resolve to, not on what was typed.
//!
//! Console WebSockets are not rate-limited but counted: at most
//! `console_sockets_per_user` open per user and `console_sockets_per_ip` per address.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::error::{Error, Result};

/// An account's attempts over all addresses, as a multiple of the per-address allowance.
pub const ACCOUNT_CEILING_FACTOR: u32 = 5;
/// One client address's attempts over all accounts, as a multiple of the allowance.
pub const CLIENT_FACTOR: u32 = 3;

#[derive(Clone)]
pub struct RateLimits {
    by_client: Arc<DefaultKeyedRateLimiter<String>>,
    by_account_and_client: Arc<DefaultKeyedRateLimiter<(String, String)>>,
    by_account: Arc<DefaultKeyedRateLimiter<String>>,
    general: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    consoles: Arc<OpenConsoles>,
}

/// Console sockets open now, by user and by client address.
struct OpenConsoles {
    per_user: usize,
    per_ip: usize,
    open: Mutex<HashMap<Holder, usize>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Holder {
    User(String),
    Address(String),
}

/// One open console socket; dropping it (the socket closed) frees its place.
pub struct ConsoleSlot {
    consoles: Arc<OpenConsoles>,
    holders: [Holder; 2],
}

impl Drop for ConsoleSlot {
    fn drop(&mut self) {
        let mut open = self.consoles.open.lock().unwrap_or_else(|e| e.into_inner());
        for holder in &self.holders {
            if let Some(count) = open.get_mut(holder) {
                *count -= 1;
                if *count == 0 {
                    open.remove(holder);
                }
            }
        }
    }
}

fn per_minute(count: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    /// The general per-client limit (none when it is switched off).
    pub fn check_general(&self, ip: String) -> Result<()> {
        match &self.general {
            Some(limiter) => check(limiter, ip),
            None => Ok(()),
        }
    }

    /// The limits `config` sets: `login_attempts_per_minute` password attempts per
    /// account and address (see the module docs for the others), `requests_per_second`
    /// per client address (0 disables the general limit, e.g. for benchmarks), and the
    /// console socket caps.
    pub fn new(config: &Config) -> RateLimits {
        let login_per_minute = config.login_attempts_per_minute;
        let general = NonZeroU32::new(config.requests_per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN));
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        let scaled = |factor: u32| per_minute(login_per_minute.saturating_mul(factor));
        RateLimits {
            by_client: Arc::new(RateLimiter::keyed(scaled(CLIENT_FACTOR))),
            by_account_and_client: Arc::new(RateLimiter::keyed(per_minute(login_per_minute))),
            by_account: Arc::new(RateLimiter::keyed(scaled(ACCOUNT_CEILING_FACTOR))),
            general,
            consoles: Arc::new(OpenConsoles {
                per_user: config.console_sockets_per_user,
                per_ip: config.console_sockets_per_ip,
                open: Mutex::default(),
            }),
        }
    }

    /// A place for one more console socket of `user_id` from `ip`, or 429 when either
    /// already has as many open as allowed.
    pub fn console_slot(&self, user_id: &str, ip: &str) -> Result<ConsoleSlot> {
        let consoles = &self.consoles;
        let user = Holder::User(user_id.to_owned());
        let address = Holder::Address(ip.to_owned());
        let mut open = consoles.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = |holder: &Holder| open.get(holder).copied().unwrap_or(0);
        let refusal = if count(&user) >= consoles.per_user {
            Some(format!(
                "you have {} consoles open, the most allowed: close one first",
                consoles.per_user
            ))
        } else if count(&address) >= consoles.per_ip {
            Some(format!(
                "{} consoles are open from your address, the most allowed: close one first",
                consoles.per_ip
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            return Err(Error::TooMany {
                message,
                retry_after_secs: 5,
            });
        }
        for holder in [&user, &address] {
            *open.entry(holder.clone()).or_insert(0) += 1;
        }
        drop(open);
        Ok(ConsoleSlot {
            consoles: Arc::clone(consoles),
            holders: [user, address],
        })
    }

    /// Counts one login, refresh or password change from `ip`, whatever the account.
    pub fn check_client(&self, ip: &str) -> Result<()> {
        check(&self.by_client, ip.to_owned())
    }

    /// Counts one password attempt on `account` from `ip`.
    pub fn check_account(&self, account: &str, ip: &str) -> Result<()> {
        check(
            &self.by_account_and_client,
            (account.to_owned(), ip.to_owned()),
        )
    }

    /// Counts one password attempt on `account` against its ceiling over all addresses.
    pub fn check_account_ceiling(&self, account: &str) -> Result<()> {
        check(&self.by_account, account.to_owned())
    }
}

fn check<K: Clone + Hash + Eq>(limiter: &DefaultKeyedRateLimiter<K>, key: K) -> Result<()> {
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Error::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}
