//! Two-factor sign-in (TOTP): one row per user who set it up (the secret encrypted with
//! the panel key, when it was confirmed, the last time step a code was accepted for, so a
//! code cannot be used twice) and the user's single-use recovery codes, stored hashed.

use sea_orm_migration::prelude::*;

use super::columns::{
    big_int_null, fk, id, index, reference, string, text, timestamp, timestamp_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_two_factor"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserTwoFactor {
    Table,
    UserId,
    Secret,
    EnabledAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserTwoFactor::Table)
                    .col(id(UserTwoFactor::UserId))
                    .col(text(UserTwoFactor::Secret))
                    .col(timestamp_null(UserTwoFactor::EnabledAt))
                    .col(big_int_null(UserTwoFactor::LastStep))
                    .col(timestamp(UserTwoFactor::CreatedAt))
                    .foreign_key(&mut fk(
                        (UserTwoFactor::Table, UserTwoFactor::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(id(RecoveryCodes::Id))
                    .col(reference(RecoveryCodes::UserId))
                    .col(string(RecoveryCodes::CodeHash, 64))
                    .col(timestamp_null(RecoveryCodes::UsedAt))
                    .col(timestamp(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut fk(
                        (RecoveryCodes::Table, RecoveryCodes::UserId),
                        (Users::Table, Users::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_recovery_codes_user_hash",
                RecoveryCodes::Table,
                &[RecoveryCodes::UserId, RecoveryCodes::CodeHash],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RecoveryCodes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(UserTwoFactor::Table).to_owned())
            .await
    }
}
