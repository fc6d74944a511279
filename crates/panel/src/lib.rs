//! Ctrl-Alt-Play panel: HTTP API, database, authentication and the agent client.
//!
//! `main.rs` parses the command line and calls [`run`]; tests call
//! [`Application::build`] on port 0 and drive the returned application.

pub mod agents;
pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod data_lock;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod limits;
pub mod listener;
pub mod local_agent;
pub mod memory;
pub mod permissions;
pub mod repo;
pub mod request_id;
pub mod secrets;
pub mod services;
pub mod sql_hosts;
pub mod state;
pub mod tls;

use std::future::Future;

pub use app::Application;
pub use config::Config;
pub use error::{Error, Result};

/// Builds the panel and serves until `shutdown` completes. On the very first start it
/// prints the URL and the initial administrator's credentials, once.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let mut app = Application::build(config).await?;
    if let Some(admin) = app.take_initial_admin() {
        println!(
            "\n  Ctrl-Alt-Play is ready at {url}\n\n  First start: an administrator account was created.\n    \
             username: {user}\n    password: {pass}\n\n  Log in and change the password; it will not be shown again.\n  \
             (Lost it? `cap-panel user create --admin` makes another administrator.)\n",
            url = app.url(),
            user = admin.username,
            pass = admin.password,
        );
    }
    app.run_until_stopped(shutdown).await
}
