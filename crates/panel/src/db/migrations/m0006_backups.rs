//! Backups of servers: one row per archive (on its node or in the S3 bucket), and per
//! server the number of backups it may keep (set by admins) and its retention policy
//! (keep the newest N, keep for D days; locked backups are kept whatever the policy).
//! Existing servers may keep 3 backups and have no retention.

use sea_orm_migration::prelude::*;

use super::columns::{
    add_columns, big_int, big_int_null, drop_columns, fk, flag, id, index, int, int_null, json,
    name_column, reference, reference_null, string, string_null, text_null, timestamp,
    timestamp_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_backups"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Backups {
    Table,
    Id,
    ServerId,
    Name,
    Status,
    Adapter,
    Format,
    Size,
    Checksum,
    Ignored,
    Locked,
    Bytes,
    Files,
    Error,
    CreatedBy,
    CreatedAt,
    CompletedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Servers {
    Table,
    Id,
    BackupLimit,
    BackupKeepLast,
    BackupKeepDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Backups::Table)
                    .col(id(Backups::Id))
                    .col(reference(Backups::ServerId))
                    .col(name_column(Backups::Name))
                    .col(string(Backups::Status, 16))
                    .col(string(Backups::Adapter, 16))
                    .col(string(Backups::Format, 16))
                    .col(big_int_null(Backups::Size))
                    .col(string_null(Backups::Checksum, 64))
                    .col(json(Backups::Ignored))
                    .col(flag(Backups::Locked, false))
                    .col(big_int(Backups::Bytes).default(0))
                    .col(big_int(Backups::Files).default(0))
                    .col(text_null(Backups::Error))
                    .col(reference_null(Backups::CreatedBy))
                    .col(timestamp(Backups::CreatedAt))
                    .col(timestamp_null(Backups::CompletedAt))
                    .foreign_key(&mut fk(
                        (Backups::Table, Backups::ServerId),
                        (Servers::Table, Servers::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_backups_server_created",
                Backups::Table,
                &[Backups::ServerId, Backups::CreatedAt],
                false,
            ))
            .await?;
        add_columns(
            manager,
            Servers::Table,
            [
                int(Servers::BackupLimit).default(3).to_owned(),
                int_null(Servers::BackupKeepLast),
                int_null(Servers::BackupKeepDays),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(
            manager,
            Servers::Table,
            [
                Servers::BackupLimit,
                Servers::BackupKeepLast,
                Servers::BackupKeepDays,
            ],
        )
        .await?;
        manager
            .drop_table(Table::drop().table(Backups::Table).to_owned())
            .await
    }
}
