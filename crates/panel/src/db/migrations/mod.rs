//! Schema migrations: one set for SQLite and PostgreSQL, built with sea-query so every
//! statement is rendered for the backend in use.

use sea_orm_migration::prelude::*;

mod columns;
mod m0001_initial;
mod m0002_case_insensitive_accounts;
mod m0003_node_capacity;
mod m0004_allocations;
mod m0005_server_crash_policy;
mod m0006_backups;
mod m0007_schedules;
mod m0008_ssh_keys;
mod m0009_databases;
mod m0010_two_factor;
mod m0011_api_key_families;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_initial::Migration),
            Box::new(m0002_case_insensitive_accounts::Migration),
            Box::new(m0003_node_capacity::Migration),
            Box::new(m0004_allocations::Migration),
            Box::new(m0005_server_crash_policy::Migration),
            Box::new(m0006_backups::Migration),
            Box::new(m0007_schedules::Migration),
            Box::new(m0008_ssh_keys::Migration),
            Box::new(m0009_databases::Migration),
            Box::new(m0010_two_factor::Migration),
            Box::new(m0011_api_key_families::Migration),
        ]
    }
}
