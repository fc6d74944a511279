//! Logins: a storm of password hashing against one panel, and its memory before, during
//! and after. 480 wrong-password logins for `admin`, 64 in flight, from 60 loopback
//! addresses; then 300 wrong `currentPassword` guesses on `POST /api/auth/password`
//! with the admin's session, 64 in flight. Resident memory at rest, the peak of each
//! storm, and after a short rest; the answers by status.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use serde_json::json;

use crate::panel_api::PanelClient;
use crate::procs::{with_peak_rss, Panel, PanelOptions, Usage};
use crate::report::Report;
use crate::stack::Ctx;
use crate::Result;

const S: &str = "logins";
const IN_FLIGHT: usize = 64;
const ADDRESSES: u8 = 60;

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let panel = Panel::start(&ctx.bins, &ctx.scratch.join(S), &PanelOptions::default()).await?;
    let result = measure(ctx, &panel, report).await;
    panel.daemon.stop().await;
    result
}

async fn measure(ctx: &Ctx, panel: &Panel, report: &mut Report) -> Result<()> {
    let admin = PanelClient::login(&panel.daemon.url, &panel.admin_password().await?).await?;
    let rest = Duration::from_secs(ctx.pick(5, 2));
    tokio::time::sleep(rest).await;
    let pid = panel.daemon.pid;
    report.add(S, "panel RSS at rest", Usage::of(pid).rss_mib(), "MiB");

    let clients = (0..ADDRESSES)
        .map(|i| {
            reqwest::Client::builder()
                .local_address(IpAddr::from([127, 0, 0, 2 + i]))
                .timeout(Duration::from_secs(60))
                .build()
        })
        .collect::<reqwest::Result<Vec<_>>>()?;
    let logins = ctx.pick(480, 96);
    let url = format!("{}/api/auth/login", panel.daemon.url);
    let started = Instant::now();
    let (statuses, peak) = with_peak_rss(
        pid,
        storm(logins, |i| {
            clients[i % clients.len()]
                .post(&url)
                .json(&json!({ "login": "admin", "password": format!("wrong-{i}") }))
        }),
    )
    .await;
    let took = started.elapsed();
    report
        .add(S, format!("panel RSS peak, {logins} logins"), peak, "MiB")
        .note(format!("{} in {took:.1?}", tally(&statuses)));
    tokio::time::sleep(rest).await;
    report.add(
        S,
        "panel RSS after the login storm",
        Usage::of(pid).rss_mib(),
        "MiB",
    );

    let guesses = ctx.pick(300, 60);
    let url = format!("{}/api/auth/password", panel.daemon.url);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let started = Instant::now();
    let (statuses, peak) = with_peak_rss(
        pid,
        storm(guesses, |i| {
            http.post(&url)
                .header("cookie", &admin.cookie)
                .json(&json!({
                    "currentPassword": format!("wrong-{i}"),
                    "newPassword": "a new long password",
                }))
        }),
    )
    .await;
    let took = started.elapsed();
    report
        .add(
            S,
            format!("panel RSS peak, {guesses} password-change guesses"),
            peak,
            "MiB",
        )
        .note(format!("{} in {took:.1?}", tally(&statuses)));
    tokio::time::sleep(rest).await;
    report.add(
        S,
        "panel RSS after both storms",
        Usage::of(pid).rss_mib(),
        "MiB",
    );
    Ok(())
}

/// Sends `count` requests, [`IN_FLIGHT`] at a time; returns each one's status (0: no
/// answer).
async fn storm(count: usize, request: impl Fn(usize) -> reqwest::RequestBuilder) -> Vec<u16> {
    stream::iter(0..count)
        .map(|i| {
            let sent = request(i).send();
            async move { sent.await.map_or(0, |r| r.status().as_u16()) }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await
}

/// "401×400, 429×80".
pub fn tally(statuses: &[u16]) -> String {
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(*status).or_insert(0) += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{status}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
