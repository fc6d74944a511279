//! `cap-agent` binary: parse the command line; serve until SIGINT/SIGTERM, or join a
//! panel (`cap-agent join PANEL_URL JOIN_TOKEN [--run]`).

use cap_agent::config::{Command, JoinArgs};
use cap_agent::{AgentResult, Cli, Config};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Shim(args)) = &cli.command {
        // The shim runs its own small single-threaded runtime.
        return cap_agent::runtime::native::shim::main(&args.socket);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(agent(cli)),
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn agent(cli: Cli) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command.clone() {
        Some(Command::Join(args)) => join(cli, args).await,
        Some(Command::Shim(_)) | None => serve(cli).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> AgentResult<()> {
    cap_agent::run(Config::from_cli(cli)?, shutdown_signal()).await
}

/// Join, print what was done, and with `--run` serve on the panel's port.
async fn join(mut cli: Cli, args: JoinArgs) -> AgentResult<()> {
    let joined = cap_agent::join::join(&Config::from_cli(cli.clone())?, &args).await?;
    println!("{joined}");
    if !args.run {
        return Ok(());
    }
    cli.listen = Some(joined.listen);
    serve(cli).await
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal during start-up is a clean shutdown.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        match (term, interrupt) {
            (Ok(mut term), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
