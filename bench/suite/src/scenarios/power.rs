//! Power latency: `POST power start` → the console WebSocket shows `running`, and
//! `POST power stop` → `offline`, over many cycles of one test-game server.

use std::time::{Duration, Instant};

use crate::panel_api::PanelClient;
use crate::procs::PanelOptions;
use crate::report::{Report, Target};
use crate::stack::{Ctx, Stack};
use crate::stats::{millis, percentile};
use crate::Result;

const S: &str = "power";

/// Round trips of one power cycle.
#[derive(Default)]
pub struct Cycles {
    /// POST start sent → WebSocket `running`.
    pub start: Vec<Duration>,
    /// POST start sent → HTTP response.
    pub start_http: Vec<Duration>,
    /// POST stop sent → WebSocket `offline`.
    pub stop: Vec<Duration>,
}

impl Cycles {
    /// Runs `count` start/stop cycles of `server`, watching its console WebSocket.
    pub async fn run(client: &PanelClient, server: &str, count: usize) -> Result<Self> {
        let mut console = client.console(server).await?;
        let mut cycles = Self::default();
        let timeout = Duration::from_secs(30);
        for _ in 0..count {
            let sent = Instant::now();
            client.power(server, "start").await?;
            cycles.start_http.push(sent.elapsed());
            console.wait_state("running", timeout).await?;
            cycles.start.push(sent.elapsed());
            let sent = Instant::now();
            client.power(server, "stop").await?;
            console.wait_state("offline", timeout).await?;
            cycles.stop.push(sent.elapsed());
        }
        Ok(cycles)
    }

    /// Adds p50/p99 rows, with `label` telling the circumstances.
    /// The budget applies to the quiet case (`label` empty) only.
    pub fn report(&self, report: &mut Report, scenario: &str, label: &str) {
        let start = millis(&self.start);
        let http = millis(&self.start_http);
        let stop = millis(&self.stop);
        let n = self.start.len();
        let row = report
            .add(
                scenario,
                format!("start → running p50{label}"),
                percentile(&start, 0.5),
                "ms",
            )
            .note(format!("{n} cycles"));
        if label.is_empty() {
            row.target(Target::AtMost(20.0));
        }
        let rows = [
            ("start → running p99", &start, 0.99),
            ("POST start response p50", &http, 0.5),
            ("stop → offline p50", &stop, 0.5),
            ("stop → offline p99", &stop, 0.99),
        ];
        for (name, samples, p) in rows {
            report.add(
                scenario,
                format!("{name}{label}"),
                percentile(samples, p),
                "ms",
            );
        }
    }
}

pub async fn run(ctx: &Ctx, report: &mut Report) -> Result<()> {
    let stack = Stack::start(ctx, S, &PanelOptions::default(), "").await?;
    let result = async {
        let ids = stack.servers("power", 1).await?;
        let cycles = Cycles::run(&stack.client, &ids[0], ctx.pick(100, 10)).await?;
        cycles.report(report, S, "");
        Ok(())
    }
    .await;
    stack.stop().await;
    result
}
