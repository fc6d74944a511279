//! Allocations as owners and admins manage them: a note on each allocation, and the
//! number of allocations a server may hold (set by admins; 1 = only its primary).

use sea_orm_migration::prelude::*;

use super::columns::{add_columns, drop_columns, int, string};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_allocations"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Allocations {
    Table,
    Notes,
}

#[derive(DeriveIden, Clone, Copy)]
enum Servers {
    Table,
    AllocationLimit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Allocations::Table,
            [string(Allocations::Notes, 191).default("").to_owned()],
        )
        .await?;
        add_columns(
            manager,
            Servers::Table,
            [int(Servers::AllocationLimit).default(1).to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, Servers::Table, [Servers::AllocationLimit]).await?;
        drop_columns(manager, Allocations::Table, [Allocations::Notes]).await
    }
}
