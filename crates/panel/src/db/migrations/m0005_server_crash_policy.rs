//! Per-server crash policy: whether the node restarts a crashed server, how many times
//! inside a window, and the back-off between attempts. Existing servers keep the policy
//! every server had before (restart up to 3 times in 10 minutes, 2 s to 60 s back-off).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_server_crash_policy"
    }
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    CrashAutoRestart,
    CrashMaxRestarts,
    CrashWindowSeconds,
    CrashBackoffMs,
    CrashMaxBackoffMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            ColumnDef::new(Servers::CrashAutoRestart)
                .boolean()
                .not_null()
                .default(true)
                .to_owned(),
            ColumnDef::new(Servers::CrashMaxRestarts)
                .integer()
                .not_null()
                .default(3)
                .to_owned(),
            ColumnDef::new(Servers::CrashWindowSeconds)
                .big_integer()
                .not_null()
                .default(600)
                .to_owned(),
            ColumnDef::new(Servers::CrashBackoffMs)
                .big_integer()
                .not_null()
                .default(2_000)
                .to_owned(),
            ColumnDef::new(Servers::CrashMaxBackoffMs)
                .big_integer()
                .not_null()
                .default(60_000)
                .to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Servers::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Servers::CrashAutoRestart,
            Servers::CrashMaxRestarts,
            Servers::CrashWindowSeconds,
            Servers::CrashBackoffMs,
            Servers::CrashMaxBackoffMs,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Servers::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
