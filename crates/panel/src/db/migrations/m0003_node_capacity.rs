//! Node capacity: how far a node's declared memory and disk may be overcommitted by the
//! limits of its servers, in percent (0 = exactly the declared capacity, 50 = one and a
//! half times it, -1 = no check). Existing nodes start at 0.

use sea_orm_migration::prelude::*;

use super::columns::{add_columns, drop_columns, int};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_node_capacity"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Nodes {
    Table,
    OverallocatePercent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Nodes::Table,
            [int(Nodes::OverallocatePercent).default(0).to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, Nodes::Table, [Nodes::OverallocatePercent]).await
    }
}
