//! Account SSH public keys, for SFTP logins to the nodes. A key (by its SHA-256
//! fingerprint) belongs to at most one account.

use sea_orm_migration::prelude::*;

use super::columns::{
    fk, id, index, name_column, reference, string, text, timestamp, timestamp_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_ssh_keys"
    }
}

#[derive(DeriveIden, Clone, Copy)]
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

#[derive(DeriveIden, Clone, Copy)]
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
                    .col(id(SshKeys::Id))
                    .col(reference(SshKeys::UserId))
                    .col(name_column(SshKeys::Name))
                    .col(string(SshKeys::Algorithm, 64))
                    .col(string(SshKeys::Fingerprint, 64))
                    .col(text(SshKeys::PublicKey))
                    .col(timestamp_null(SshKeys::LastUsedAt))
                    .col(timestamp(SshKeys::CreatedAt))
                    .foreign_key(&mut fk(
                        (SshKeys::Table, SshKeys::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ssh_keys_fingerprint",
                SshKeys::Table,
                &[SshKeys::Fingerprint],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "ssh_keys_user",
                SshKeys::Table,
                &[SshKeys::UserId],
                false,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SshKeys::Table).if_exists().to_owned())
            .await
    }
}
