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

use std::hash::Hash;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{Error, Result};
use crate::state::AppState;

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
}

fn per_minute(count: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(count.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    /// `login_per_minute` password attempts per account and address (see the module
    /// docs for the others); `general_per_second` requests per client address (0
    /// disables the general limit, e.g. for benchmarks).
    pub fn new(login_per_minute: u32, general_per_second: u32) -> RateLimits {
        let general = NonZeroU32::new(general_per_second).map(|rate| {
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
        }
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

/// The general per-client limit, as middleware.
pub async fn general(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(limiter) = &state.limits().general {
        let ip = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_default();
        if let Err(e) = check(limiter, ip) {
            return e.into_response();
        }
    }
    next.run(request).await
}
