//! Allocations as owners and admins manage them: a note on each allocation, and the
//! number of allocations a server may hold (set by admins; 1 = only its primary).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_allocations"
    }
}

#[derive(DeriveIden)]
enum Allocations {
    Table,
    Notes,
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    AllocationLimit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds columns one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Allocations::Table)
                    .add_column(
                        ColumnDef::new(Allocations::Notes)
                            .string_len(191)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Servers::Table)
                    .add_column(
                        ColumnDef::new(Servers::AllocationLimit)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Servers::Table)
                    .drop_column(Servers::AllocationLimit)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Allocations::Table)
                    .drop_column(Allocations::Notes)
                    .to_owned(),
            )
            .await
    }
}
