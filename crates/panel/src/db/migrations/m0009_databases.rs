//! Per-server databases: the MySQL/MariaDB and PostgreSQL hosts admins register (their
//! admin password encrypted with the panel key), the databases created on them for
//! servers, and how many databases each server may have (0 until an admin allows more).
//! A server database keeps its server's id without a foreign key: when a server is
//! deleted while its host is unreachable, the record stays, marked orphaned, until an
//! admin retries the drop.

use sea_orm_migration::prelude::*;

use super::columns::{
    add_columns, drop_columns, fk, id, index, int, name_column, reference, reference_null, string,
    text, timestamp, timestamp_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_databases"
    }
}

#[derive(DeriveIden, Clone, Copy)]
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

#[derive(DeriveIden, Clone, Copy)]
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

#[derive(DeriveIden, Clone, Copy)]
enum Nodes {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Servers {
    Table,
    DatabaseLimit,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DatabaseHosts::Table)
                    .col(id(DatabaseHosts::Id))
                    .col(name_column(DatabaseHosts::Name))
                    .col(string(DatabaseHosts::Engine, 16))
                    .col(string(DatabaseHosts::Address, 255))
                    .col(int(DatabaseHosts::Port))
                    .col(string(DatabaseHosts::Username, 64))
                    .col(text(DatabaseHosts::PasswordCiphertext))
                    .col(reference_null(DatabaseHosts::NodeId))
                    .col(int(DatabaseHosts::MaxDatabases))
                    .col(timestamp(DatabaseHosts::CreatedAt))
                    .col(timestamp(DatabaseHosts::UpdatedAt))
                    .foreign_key(&mut fk(
                        (DatabaseHosts::Table, DatabaseHosts::NodeId),
                        (Nodes::Table, Nodes::Id),
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_database_hosts_name",
                DatabaseHosts::Table,
                &[DatabaseHosts::Name],
                true,
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServerDatabases::Table)
                    .col(id(ServerDatabases::Id))
                    .col(reference(ServerDatabases::ServerId))
                    .col(reference(ServerDatabases::HostId))
                    .col(string(ServerDatabases::DatabaseName, 64))
                    .col(string(ServerDatabases::Username, 64))
                    .col(text(ServerDatabases::PasswordCiphertext))
                    .col(string(ServerDatabases::Remote, 255))
                    .col(int(ServerDatabases::MaxConnections))
                    .col(timestamp_null(ServerDatabases::OrphanedAt))
                    .col(timestamp(ServerDatabases::CreatedAt))
                    .foreign_key(&mut fk(
                        (ServerDatabases::Table, ServerDatabases::HostId),
                        (DatabaseHosts::Table, DatabaseHosts::Id),
                        ForeignKeyAction::Restrict,
                    ))
                    .to_owned(),
            )
            .await?;
        for index in [
            index(
                "ux_server_databases_host_database",
                ServerDatabases::Table,
                &[ServerDatabases::HostId, ServerDatabases::DatabaseName],
                true,
            ),
            index(
                "ux_server_databases_host_username",
                ServerDatabases::Table,
                &[ServerDatabases::HostId, ServerDatabases::Username],
                true,
            ),
            index(
                "ix_server_databases_server",
                ServerDatabases::Table,
                &[ServerDatabases::ServerId],
                false,
            ),
        ] {
            manager.create_index(index).await?;
        }
        add_columns(
            manager,
            Servers::Table,
            [int(Servers::DatabaseLimit).default(0).to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, Servers::Table, [Servers::DatabaseLimit]).await?;
        manager
            .drop_table(Table::drop().table(ServerDatabases::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DatabaseHosts::Table).to_owned())
            .await
    }
}
