//! Account SSH public keys, for SFTP logins to the nodes. A key (by its SHA-256
//! fingerprint) belongs to at most one account.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_ssh_keys"
    }
}

#[derive(DeriveIden)]
enum SshKeys {
    Table,
    Id,
    UserId,
    Name,
    Algorithm,
    Fingerprint,
    PublicKey,
    LastUsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SshKeys::Table)
                    .col(
                        ColumnDef::new(SshKeys::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SshKeys::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(SshKeys::Name).string_len(191).not_null())
                    .col(ColumnDef::new(SshKeys::Algorithm).string_len(64).not_null())
                    .col(
                        ColumnDef::new(SshKeys::Fingerprint)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(SshKeys::PublicKey).text().not_null())
                    .col(
                        ColumnDef::new(SshKeys::LastUsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SshKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SshKeys::Table, SshKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ssh_keys_fingerprint")
                    .table(SshKeys::Table)
                    .col(SshKeys::Fingerprint)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ssh_keys_user")
                    .table(SshKeys::Table)
                    .col(SshKeys::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SshKeys::Table).if_exists().to_owned())
            .await
    }
}
