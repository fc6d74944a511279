//! Backups of servers: one row per archive (on its node or in the S3 bucket), and per
//! server the number of backups it may keep (set by admins) and its retention policy
//! (keep the newest N, keep for D days; locked backups are kept whatever the policy).
//! Existing servers may keep 3 backups and have no retention.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_backups"
    }
}

#[derive(DeriveIden)]
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

#[derive(DeriveIden)]
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
                    .col(
                        ColumnDef::new(Backups::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Backups::ServerId).string_len(36).not_null())
                    .col(ColumnDef::new(Backups::Name).string_len(191).not_null())
                    .col(ColumnDef::new(Backups::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Backups::Adapter).string_len(16).not_null())
                    .col(ColumnDef::new(Backups::Format).string_len(16).not_null())
                    .col(ColumnDef::new(Backups::Size).big_integer().null())
                    .col(ColumnDef::new(Backups::Checksum).string_len(64).null())
                    .col(ColumnDef::new(Backups::Ignored).json().not_null())
                    .col(
                        ColumnDef::new(Backups::Locked)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Backups::Bytes)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Backups::Files)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Backups::Error).text().null())
                    .col(ColumnDef::new(Backups::CreatedBy).string_len(36).null())
                    .col(
                        ColumnDef::new(Backups::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Backups::CompletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Backups::Table, Backups::ServerId)
                            .to(Servers::Table, Servers::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_backups_server_created")
                    .table(Backups::Table)
                    .col(Backups::ServerId)
                    .col(Backups::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite adds a single column per ALTER TABLE.
        let columns = [
            ColumnDef::new(Servers::BackupLimit)
                .integer()
                .not_null()
                .default(3)
                .to_owned(),
            ColumnDef::new(Servers::BackupKeepLast)
                .integer()
                .null()
                .to_owned(),
            ColumnDef::new(Servers::BackupKeepDays)
                .integer()
                .null()
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
            Servers::BackupLimit,
            Servers::BackupKeepLast,
            Servers::BackupKeepDays,
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
        manager
            .drop_table(Table::drop().table(Backups::Table).to_owned())
            .await
    }
}
