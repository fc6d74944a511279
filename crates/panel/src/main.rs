use std::process::ExitCode;

use cap_panel::cli::{self, Cli, Command, UserCommand};
use cap_panel::config::{Config, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.config() {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    init_logging(&config);
    let outcome = match &cli.command {
        None | Some(Command::Serve) => cap_panel::run(config, shutdown_signal()).await,
        Some(Command::User(UserCommand::Create(args))) => {
            cli::create_user(&config, args, std::io::stdin().lock())
                .await
                .map(|id| println!("created user {} ({id})", args.username))
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(error: &cap_panel::Error) -> ExitCode {
    eprintln!("cap-panel: {error}");
    if let cap_panel::Error::Validation { details, .. } = error {
        for (field, messages) in details {
            eprintln!("  {field}: {}", messages.join("; "));
        }
    }
    ExitCode::FAILURE
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal that arrives while the panel is still
/// starting shuts it down cleanly instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let term = async {
            match term {
                Ok(mut signal) => drop(signal.recv().await),
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let interrupt = async {
            match interrupt {
                Ok(mut signal) => drop(signal.recv().await),
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = term => {},
            () = interrupt => {},
        }
        tracing::info!("shutting down");
    }
}
