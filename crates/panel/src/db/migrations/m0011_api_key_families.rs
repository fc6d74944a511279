//! API key families: which API a key opens. Keys made before this are the panel's own
//! (`cap_…`); Pterodactyl-compatible client keys (`ptlc_…`) open only `/api/client`.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_api_key_families"
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Family,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .add_column(
                        ColumnDef::new(ApiKeys::Family)
                            .string_len(32)
                            .not_null()
                            .default("panel"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKeys::Table)
                    .drop_column(ApiKeys::Family)
                    .to_owned(),
            )
            .await
    }
}
