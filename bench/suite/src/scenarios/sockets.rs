//! Sockets: console WebSockets held open against one panel, and its memory. First, with
//! the default caps, 3,000 console connections for one server from one session, 64
//! being opened at a time: how many the panel accepts and how many it refuses (429).
//! Then, with the caps lifted (`CAP_CONSOLE_SOCKETS_PER_*`), 2,000 sockets opened and
//! held, then closed: panel RSS at rest, with all open, and after closing them.

use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::panel_api::Console;
use crate::procs::{PanelOptions, Usage};
use crate::report::Report;
use crate::scenarios::logins::tally;
use crate::stack::{Ctx, Stack};
use crate::Result;

const S: &str = "sockets";
const OPENING: usize = 64;

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let stack = Stack::start(ctx, "sockets-capped", &PanelOptions::default(), "").await?;
    let result = capped(ctx, &stack, report).await;
    stack.stop().await;
    result?;
    let lifted = PanelOptions {
        env: vec![
            ("CAP_CONSOLE_SOCKETS_PER_USER", "1000000".into()),
            ("CAP_CONSOLE_SOCKETS_PER_IP", "1000000".into()),
        ],
        ..PanelOptions::default()
    };
    let stack = Stack::start(ctx, "sockets-lifted", &lifted, "").await?;
    let result = held(ctx, &stack, report).await;
    stack.stop().await;
    result
}

/// Opens `count` consoles of `server`, [`OPENING`] at a time; the open ones and the
/// status of each attempt (101 opened, 0 no answer).
async fn open_many(stack: &Stack, server: &str, count: usize) -> (Vec<Console>, Vec<u16>) {
    let url = format!(
        "{}/api/servers/{server}/console",
        stack.client.base.replacen("http", "ws", 1)
    );
    let attempts: Vec<std::result::Result<Console, u16>> = stream::iter(0..count)
        .map(|_| {
            let url = url.clone();
            async move {
                let mut request = url.into_client_request().map_err(|_| 0u16)?;
                let cookie = stack.client.cookie.parse().map_err(|_| 0u16)?;
                request.headers_mut().insert("cookie", cookie);
                match tokio_tungstenite::connect_async(request).await {
                    Ok((socket, _)) => Ok(Console::from(socket)),
                    Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                        Err(response.status().as_u16())
                    }
                    Err(_) => Err(0),
                }
            }
        })
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let statuses = attempts
        .iter()
        .map(|a| a.as_ref().map_or_else(|s| *s, |_| 101))
        .collect();
    (attempts.into_iter().flatten().collect(), statuses)
}

async fn capped(ctx: &Ctx, stack: &Stack, report: &mut Report) -> Result<()> {
    let server = stack.servers("capped", 1).await?.remove(0);
    let count = ctx.pick(3000, 300);
    let (open, statuses) = open_many(stack, &server, count).await;
    report
        .add(
            S,
            format!("consoles accepted of {count} from one session (default caps)"),
            open.len() as f64,
            "sockets",
        )
        .note(tally(&statuses));
    Ok(())
}

async fn held(ctx: &Ctx, stack: &Stack, report: &mut Report) -> Result<()> {
    let server = stack.servers("held", 1).await?.remove(0);
    let rest = Duration::from_secs(ctx.pick(5, 2));
    tokio::time::sleep(rest).await;
    let pid = stack.panel.daemon.pid;
    report.add(S, "panel RSS at rest", Usage::of(pid).rss_mib(), "MiB");
    let count = ctx.pick(2000, 200);
    let started = Instant::now();
    let (open, statuses) = open_many(stack, &server, count).await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    report
        .add(
            S,
            format!("panel RSS, {} consoles open", open.len()),
            Usage::of(pid).rss_mib(),
            "MiB",
        )
        .note(format!("{} in {took:.1?}", tally(&statuses)));
    for console in open {
        console.close().await;
    }
    tokio::time::sleep(rest).await;
    report.add(
        S,
        "panel RSS after closing them",
        Usage::of(pid).rss_mib(),
        "MiB",
    );
    Ok(())
}
