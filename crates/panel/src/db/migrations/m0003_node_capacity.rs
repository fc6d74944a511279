//! Node capacity: how far a node's declared memory and disk may be overcommitted by the
//! limits of its servers, in percent (0 = exactly the declared capacity, 50 = one and a
//! half times it, -1 = no check). Existing nodes start at 0.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_node_capacity"
    }
}

#[derive(DeriveIden)]
enum Nodes {
    Table,
    OverallocatePercent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Nodes::Table)
                    .add_column(
                        ColumnDef::new(Nodes::OverallocatePercent)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Nodes::Table)
                    .drop_column(Nodes::OverallocatePercent)
                    .to_owned(),
            )
            .await
    }
}
