//! One module per scenario of bench/README.md.

mod api;
mod coldstart;
mod console;
mod footprint;
pub mod logins;
mod power;
mod scale;
mod sockets;

use crate::report::Report;
use crate::stack::Ctx;
use crate::Result;

pub async fn run(name: &str, ctx: &Ctx, report: &mut Report) -> Result<()> {
    match name {
        "footprint" => footprint::run(ctx, report).await,
        "power" => power::run(ctx, report).await,
        "console" => console::run(ctx, report).await,
        "api" => api::run(ctx, report).await,
        "coldstart" => coldstart::run(ctx, report).await,
        "scale" => scale::run(ctx, report).await,
        "logins" => logins::run(ctx, report).await,
        "sockets" => sockets::run(ctx, report).await,
        other => Err(format!("unknown scenario {other}").into()),
    }
}
