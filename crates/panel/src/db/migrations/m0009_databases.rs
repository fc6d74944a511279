//! Per-server databases: the MySQL/MariaDB and PostgreSQL hosts admins register (their
//! admin password encrypted with the panel key), the databases created on them for
//! servers, and how many databases each server may have (0 until an admin allows more).
//! A server database keeps its server's id without a foreign key: when a server is
//! deleted while its host is unreachable, the record stays, marked orphaned, until an
//! admin retries the drop.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_databases"
    }
}

#[derive(DeriveIden)]
enum DatabaseHosts {
    Table,
    Id,
    Name,
    Engine,
    Address,
    Port,
    Username,
    PasswordCiphertext,
    NodeId,
    MaxDatabases,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ServerDatabases {
    Table,
    Id,
    ServerId,
    HostId,
    DatabaseName,
    Username,
    PasswordCiphertext,
    Remote,
    MaxConnections,
    OrphanedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Nodes {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    DatabaseLimit,
}

fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DatabaseHosts::Table)
                    .col(
                        ColumnDef::new(DatabaseHosts::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DatabaseHosts::Name)
                            .string_len(191)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DatabaseHosts::Engine)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DatabaseHosts::Address)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DatabaseHosts::Port).integer().not_null())
                    .col(
                        ColumnDef::new(DatabaseHosts::Username)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DatabaseHosts::PasswordCiphertext)
                            .text()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DatabaseHosts::NodeId).string_len(36).null())
                    .col(
                        ColumnDef::new(DatabaseHosts::MaxDatabases)
                            .integer()
                            .not_null(),
                    )
                    .col(timestamp(DatabaseHosts::CreatedAt))
                    .col(timestamp(DatabaseHosts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DatabaseHosts::Table, DatabaseHosts::NodeId)
                            .to(Nodes::Table, Nodes::Id)
                            .on_delete(ForeignKeyAction::SetNull)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_database_hosts_name")
                    .table(DatabaseHosts::Table)
                    .col(DatabaseHosts::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServerDatabases::Table)
                    .col(
                        ColumnDef::new(ServerDatabases::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::ServerId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::HostId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::DatabaseName)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::Username)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::PasswordCiphertext)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::Remote)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::MaxConnections)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ServerDatabases::OrphanedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(timestamp(ServerDatabases::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ServerDatabases::Table, ServerDatabases::HostId)
                            .to(DatabaseHosts::Table, DatabaseHosts::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "ux_server_databases_host_database",
                ServerDatabases::DatabaseName,
            ),
            (
                "ux_server_databases_host_username",
                ServerDatabases::Username,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ServerDatabases::Table)
                        .col(ServerDatabases::HostId)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_server_databases_server")
                    .table(ServerDatabases::Table)
                    .col(ServerDatabases::ServerId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Servers::Table)
                    .add_column(
                        ColumnDef::new(Servers::DatabaseLimit)
                            .integer()
                            .not_null()
                            .default(0),
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
                    .drop_column(Servers::DatabaseLimit)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ServerDatabases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DatabaseHosts::Table).to_owned())
            .await
    }
}
