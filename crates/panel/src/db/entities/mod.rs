//! SeaORM entities, one module per table.

pub mod allocation;
pub mod alt;
pub mod alt_variable;
pub mod api_key;
pub mod audit_log;
pub mod backup;
pub mod ctrl;
pub mod database_host;
pub mod node;
pub mod permission;
pub mod recovery_code;
pub mod role;
pub mod role_permission;
pub mod schedule;
pub mod schedule_run;
pub mod server;
pub mod server_database;
pub mod server_variable;
pub mod session;
pub mod setting;
pub mod ssh_key;
pub mod subuser;
pub mod user;
pub mod user_permission;
pub mod user_two_factor;
