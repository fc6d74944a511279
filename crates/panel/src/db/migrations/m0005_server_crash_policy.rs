//! Per-server crash policy: whether the node restarts a crashed server, how many times
//! inside a window, and the back-off between attempts. Existing servers keep the policy
//! every server had before (restart up to 3 times in 10 minutes, 2 s to 60 s back-off).

use sea_orm_migration::prelude::*;

use super::columns::{add_columns, big_int, drop_columns, flag, int};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_server_crash_policy"
    }
}

#[derive(DeriveIden, Clone, Copy)]
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
        add_columns(
            manager,
            Servers::Table,
            [
                flag(Servers::CrashAutoRestart, true),
                int(Servers::CrashMaxRestarts).default(3).to_owned(),
                big_int(Servers::CrashWindowSeconds).default(600).to_owned(),
                big_int(Servers::CrashBackoffMs).default(2_000).to_owned(),
                big_int(Servers::CrashMaxBackoffMs)
                    .default(60_000)
                    .to_owned(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Servers::Table,
            [
                Servers::CrashAutoRestart,
                Servers::CrashMaxRestarts,
                Servers::CrashWindowSeconds,
                Servers::CrashBackoffMs,
                Servers::CrashMaxBackoffMs,
            ],
        )
        .await
    }
}
