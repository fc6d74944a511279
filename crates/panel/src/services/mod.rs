//! Business logic that spans repositories.

pub mod allocations;
pub mod audit;
pub mod backups;
pub mod capacity;
pub mod ctrls;
pub mod databases;
pub mod files;
pub mod health;
pub mod network;
pub mod nodes;
pub mod schedules;
pub mod server_access;
pub mod servers;
pub mod sftp;
pub mod ssh_keys;
pub mod subusers;
pub mod templates;
pub mod users;
