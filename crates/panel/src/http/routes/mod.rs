//! Route modules by domain (docs/architecture.md, "The panel, layer by layer"). Each exposes `routes(ApiRoutes) -> ApiRoutes`.

pub mod allocations;
pub mod audit;
pub mod auth;
pub mod backups;
pub mod console;
pub mod database_hosts;
pub mod databases;
pub mod docs;
pub mod files;
pub mod monitoring;
pub mod nodes;
pub mod permissions;
pub mod schedules;
pub mod server_variables;
pub mod server_views;
pub mod servers;
pub mod sftp;
pub mod ssh_keys;
pub mod subusers;
pub mod templates;
pub mod two_factor;
pub mod users;
