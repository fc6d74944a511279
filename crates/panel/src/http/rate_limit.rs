//! Rate limits: strict ones for login/refresh (per IP and per account) and a general one
//! per client address. Keys live in memory; limits reset with the process.

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

#[derive(Clone)]
pub struct RateLimits {
    login_by_ip: Arc<DefaultKeyedRateLimiter<String>>,
    login_by_account: Arc<DefaultKeyedRateLimiter<String>>,
    general: Option<Arc<DefaultKeyedRateLimiter<String>>>,
}

impl RateLimits {
    /// `login_per_minute` attempts per IP and per account; `general_per_second` requests
    /// per client address (0 disables the general limit, e.g. for benchmarks).
    pub fn new(login_per_minute: u32, general_per_second: u32) -> RateLimits {
        let login =
            Quota::per_minute(NonZeroU32::new(login_per_minute.max(1)).unwrap_or(NonZeroU32::MIN));
        let general = NonZeroU32::new(general_per_second).map(|rate| {
            let burst = rate.saturating_mul(NonZeroU32::new(4).unwrap_or(NonZeroU32::MIN));
            Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        RateLimits {
            login_by_ip: Arc::new(RateLimiter::keyed(login)),
            login_by_account: Arc::new(RateLimiter::keyed(login)),
            general,
        }
    }

    /// Counts one login (or refresh) attempt from `ip` for `account`.
    pub fn check_login(&self, ip: &str, account: Option<&str>) -> Result<()> {
        check(&self.login_by_ip, ip.to_owned())?;
        if let Some(account) = account {
            check(&self.login_by_account, account.trim().to_lowercase())?;
        }
        Ok(())
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: String) -> Result<()> {
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
