//! API key families: which API a key opens. Keys made before this are the panel's own
//! (`cap_…`); Pterodactyl-compatible client keys (`ptlc_…`) open only `/api/client`.

use sea_orm_migration::prelude::*;

use super::columns::{add_columns, drop_columns, string};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_api_key_families"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Family,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            ApiKeys::Table,
            [string(ApiKeys::Family, 32).default("panel").to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, ApiKeys::Table, [ApiKeys::Family]).await
    }
}
