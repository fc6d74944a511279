//! The initial schema and the permission/role seed.

use sea_orm_migration::prelude::*;

use super::columns::{
    big_int, fk, flag, id, index, int, json, name_column, reference, reference_null, string,
    string_null, text, text_null, timestamp, timestamp_null,
};
use crate::permissions;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_initial"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Permissions {
    Table,
    Id,
    Category,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum Roles {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum RolePermissions {
    Table,
    Role,
    PermissionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    PasswordHash,
    Role,
    Disabled,
    LastLoginAt,
    PasswordChangedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserPermissions {
    Table,
    Id,
    UserId,
    PermissionId,
    Granted,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Ctrls {
    Table,
    Id,
    Name,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Alts {
    Table,
    Id,
    CtrlId,
    Name,
    Description,
    Author,
    Uuid,
    Definition,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AltVariables {
    Table,
    Id,
    AltId,
    EnvVariable,
    SortOrder,
    Definition,
}

#[derive(DeriveIden, Clone, Copy)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Nodes {
    Table,
    Id,
    Name,
    Description,
    Address,
    Port,
    Scheme,
    TokenCiphertext,
    JoinTokenHash,
    CertFingerprint,
    MemoryMb,
    DiskMb,
    PortRangeStart,
    PortRangeEnd,
    Status,
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Servers {
    Table,
    Id,
    Name,
    Description,
    OwnerId,
    NodeId,
    AltId,
    State,
    MemoryMb,
    CpuPercent,
    DiskMb,
    StartupOverride,
    Image,
    Suspended,
    InstalledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Allocations {
    Table,
    Id,
    NodeId,
    Ip,
    Port,
    ServerId,
    IsPrimary,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ServerVariables {
    Table,
    Id,
    ServerId,
    VariableId,
    Value,
}

#[derive(DeriveIden, Clone, Copy)]
enum Subusers {
    Table,
    Id,
    ServerId,
    UserId,
    Permissions,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    Id,
    UserId,
    FamilyId,
    TokenHash,
    ExpiresAt,
    RevokedAt,
    UserAgent,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    Name,
    Prefix,
    SecretHash,
    Permissions,
    LastUsedAt,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    UserId,
    Action,
    TargetType,
    TargetId,
    Details,
    Ip,
    RequestId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        seed(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 17] = [
            AuditLog::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Sessions::Table.into_iden(),
            Subusers::Table.into_iden(),
            ServerVariables::Table.into_iden(),
            Allocations::Table.into_iden(),
            Servers::Table.into_iden(),
            Nodes::Table.into_iden(),
            AltVariables::Table.into_iden(),
            Settings::Table.into_iden(),
            Alts::Table.into_iden(),
            Ctrls::Table.into_iden(),
            UserPermissions::Table.into_iden(),
            Users::Table.into_iden(),
            RolePermissions::Table.into_iden(),
            Roles::Table.into_iden(),
            Permissions::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

fn tables() -> Vec<TableCreateStatement> {
    use ForeignKeyAction::{Cascade, Restrict, SetNull};
    vec![
        Table::create()
            .table(Permissions::Table)
            .col(string(Permissions::Id, 64).primary_key())
            .col(string(Permissions::Category, 32))
            .col(text(Permissions::Description))
            .to_owned(),
        Table::create()
            .table(Roles::Table)
            .col(string(Roles::Name, 64).primary_key())
            .col(text(Roles::Description))
            .to_owned(),
        Table::create()
            .table(RolePermissions::Table)
            .col(string(RolePermissions::Role, 64))
            .col(string(RolePermissions::PermissionId, 64))
            .primary_key(
                Index::create()
                    .col(RolePermissions::Role)
                    .col(RolePermissions::PermissionId),
            )
            .foreign_key(&mut fk(
                (RolePermissions::Table, RolePermissions::Role),
                (Roles::Table, Roles::Name),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (RolePermissions::Table, RolePermissions::PermissionId),
                (Permissions::Table, Permissions::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Users::Table)
            .col(id(Users::Id))
            .col(name_column(Users::Username))
            .col(name_column(Users::Email))
            .col(text(Users::PasswordHash))
            .col(string(Users::Role, 64))
            .col(flag(Users::Disabled, false))
            .col(timestamp_null(Users::LastLoginAt))
            .col(timestamp(Users::PasswordChangedAt))
            .col(timestamp(Users::CreatedAt))
            .col(timestamp(Users::UpdatedAt))
            // A role in use cannot disappear from under its users.
            .foreign_key(&mut fk(
                (Users::Table, Users::Role),
                (Roles::Table, Roles::Name),
                Restrict,
            ))
            .to_owned(),
        Table::create()
            .table(UserPermissions::Table)
            .col(id(UserPermissions::Id))
            .col(reference(UserPermissions::UserId))
            .col(string(UserPermissions::PermissionId, 64))
            .col(flag(UserPermissions::Granted, true))
            .col(timestamp(UserPermissions::CreatedAt))
            .foreign_key(&mut fk(
                (UserPermissions::Table, UserPermissions::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (UserPermissions::Table, UserPermissions::PermissionId),
                (Permissions::Table, Permissions::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Ctrls::Table)
            .col(id(Ctrls::Id))
            .col(name_column(Ctrls::Name))
            .col(text(Ctrls::Description))
            .col(timestamp(Ctrls::CreatedAt))
            .col(timestamp(Ctrls::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(Alts::Table)
            .col(id(Alts::Id))
            .col(reference(Alts::CtrlId))
            .col(name_column(Alts::Name))
            .col(text(Alts::Description))
            .col(text(Alts::Author))
            .col(string_null(Alts::Uuid, 36))
            // The whole template (cap_templates::Alt) except its variables.
            .col(json(Alts::Definition))
            .col(timestamp(Alts::CreatedAt))
            .col(timestamp(Alts::UpdatedAt))
            .foreign_key(&mut fk(
                (Alts::Table, Alts::CtrlId),
                (Ctrls::Table, Ctrls::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(AltVariables::Table)
            .col(id(AltVariables::Id))
            .col(reference(AltVariables::AltId))
            .col(name_column(AltVariables::EnvVariable))
            .col(int(AltVariables::SortOrder))
            // The variable (cap_templates::Variable): name, rules, flags, default, ...
            .col(json(AltVariables::Definition))
            .foreign_key(&mut fk(
                (AltVariables::Table, AltVariables::AltId),
                (Alts::Table, Alts::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Settings::Table)
            .col(string(Settings::Key, 64).primary_key())
            .col(json(Settings::Value))
            .col(timestamp(Settings::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(Nodes::Table)
            .col(id(Nodes::Id))
            .col(name_column(Nodes::Name))
            .col(text(Nodes::Description))
            .col(string(Nodes::Address, 255))
            .col(int(Nodes::Port))
            .col(string(Nodes::Scheme, 8))
            .col(text(Nodes::TokenCiphertext))
            // SHA-256 of the one-time join token, until the agent has joined.
            .col(string_null(Nodes::JoinTokenHash, 64))
            .col(string_null(Nodes::CertFingerprint, 128))
            .col(big_int(Nodes::MemoryMb))
            .col(big_int(Nodes::DiskMb))
            .col(int(Nodes::PortRangeStart))
            .col(int(Nodes::PortRangeEnd))
            .col(string(Nodes::Status, 16))
            .col(timestamp_null(Nodes::LastSeenAt))
            .col(timestamp(Nodes::CreatedAt))
            .col(timestamp(Nodes::UpdatedAt))
            .to_owned(),
        Table::create()
            .table(Servers::Table)
            .col(id(Servers::Id))
            .col(name_column(Servers::Name))
            .col(text(Servers::Description))
            .col(reference(Servers::OwnerId))
            .col(reference_null(Servers::NodeId))
            .col(reference(Servers::AltId))
            .col(string(Servers::State, 16))
            .col(big_int(Servers::MemoryMb))
            .col(int(Servers::CpuPercent))
            .col(big_int(Servers::DiskMb))
            .col(text_null(Servers::StartupOverride))
            .col(text_null(Servers::Image))
            .col(flag(Servers::Suspended, false))
            .col(timestamp_null(Servers::InstalledAt))
            .col(timestamp(Servers::CreatedAt))
            .col(timestamp(Servers::UpdatedAt))
            .foreign_key(&mut fk(
                (Servers::Table, Servers::OwnerId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (Servers::Table, Servers::NodeId),
                (Nodes::Table, Nodes::Id),
                SetNull,
            ))
            .foreign_key(&mut fk(
                (Servers::Table, Servers::AltId),
                (Alts::Table, Alts::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Allocations::Table)
            .col(id(Allocations::Id))
            .col(reference(Allocations::NodeId))
            .col(string(Allocations::Ip, 64))
            .col(int(Allocations::Port))
            .col(reference_null(Allocations::ServerId))
            .col(flag(Allocations::IsPrimary, false))
            .col(timestamp(Allocations::CreatedAt))
            .foreign_key(&mut fk(
                (Allocations::Table, Allocations::NodeId),
                (Nodes::Table, Nodes::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (Allocations::Table, Allocations::ServerId),
                (Servers::Table, Servers::Id),
                SetNull,
            ))
            .to_owned(),
        Table::create()
            .table(ServerVariables::Table)
            .col(id(ServerVariables::Id))
            .col(reference(ServerVariables::ServerId))
            .col(reference(ServerVariables::VariableId))
            .col(text(ServerVariables::Value))
            .foreign_key(&mut fk(
                (ServerVariables::Table, ServerVariables::ServerId),
                (Servers::Table, Servers::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (ServerVariables::Table, ServerVariables::VariableId),
                (AltVariables::Table, AltVariables::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Subusers::Table)
            .col(id(Subusers::Id))
            .col(reference(Subusers::ServerId))
            .col(reference(Subusers::UserId))
            .col(json(Subusers::Permissions))
            .col(timestamp(Subusers::CreatedAt))
            .foreign_key(&mut fk(
                (Subusers::Table, Subusers::ServerId),
                (Servers::Table, Servers::Id),
                Cascade,
            ))
            .foreign_key(&mut fk(
                (Subusers::Table, Subusers::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(Sessions::Table)
            .col(id(Sessions::Id))
            .col(reference(Sessions::UserId))
            .col(reference(Sessions::FamilyId))
            .col(string(Sessions::TokenHash, 64))
            .col(timestamp(Sessions::ExpiresAt))
            .col(timestamp_null(Sessions::RevokedAt))
            .col(text(Sessions::UserAgent))
            .col(string(Sessions::Ip, 64))
            .col(timestamp(Sessions::CreatedAt))
            .foreign_key(&mut fk(
                (Sessions::Table, Sessions::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(ApiKeys::Table)
            .col(id(ApiKeys::Id))
            .col(reference(ApiKeys::UserId))
            .col(name_column(ApiKeys::Name))
            .col(string(ApiKeys::Prefix, 32))
            .col(string(ApiKeys::SecretHash, 64))
            .col(json(ApiKeys::Permissions))
            .col(timestamp_null(ApiKeys::LastUsedAt))
            .col(timestamp_null(ApiKeys::ExpiresAt))
            .col(timestamp(ApiKeys::CreatedAt))
            .foreign_key(&mut fk(
                (ApiKeys::Table, ApiKeys::UserId),
                (Users::Table, Users::Id),
                Cascade,
            ))
            .to_owned(),
        Table::create()
            .table(AuditLog::Table)
            .col(id(AuditLog::Id))
            .col(reference_null(AuditLog::UserId))
            .col(string(AuditLog::Action, 64))
            .col(string(AuditLog::TargetType, 32))
            .col(string_null(AuditLog::TargetId, 64))
            .col(json(AuditLog::Details))
            .col(string(AuditLog::Ip, 64))
            .col(string(AuditLog::RequestId, 64))
            .col(timestamp(AuditLog::CreatedAt))
            .foreign_key(&mut fk(
                (AuditLog::Table, AuditLog::UserId),
                (Users::Table, Users::Id),
                SetNull,
            ))
            .to_owned(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index("ux_users_username", Users::Table, &[Users::Username], true),
        index("ux_users_email", Users::Table, &[Users::Email], true),
        index(
            "ux_user_permissions_user_permission",
            UserPermissions::Table,
            &[UserPermissions::UserId, UserPermissions::PermissionId],
            true,
        ),
        index(
            "ix_user_permissions_permission",
            UserPermissions::Table,
            &[UserPermissions::PermissionId],
            false,
        ),
        index("ux_ctrls_name", Ctrls::Table, &[Ctrls::Name], true),
        index(
            "ux_alts_ctrl_name",
            Alts::Table,
            &[Alts::CtrlId, Alts::Name],
            true,
        ),
        index(
            "ux_alt_variables_alt_env",
            AltVariables::Table,
            &[AltVariables::AltId, AltVariables::EnvVariable],
            true,
        ),
        index("ux_nodes_name", Nodes::Table, &[Nodes::Name], true),
        index(
            "ix_servers_owner",
            Servers::Table,
            &[Servers::OwnerId],
            false,
        ),
        index("ix_servers_node", Servers::Table, &[Servers::NodeId], false),
        index("ix_servers_alt", Servers::Table, &[Servers::AltId], false),
        index("ix_servers_name", Servers::Table, &[Servers::Name], false),
        index(
            "ux_allocations_node_ip_port",
            Allocations::Table,
            &[Allocations::NodeId, Allocations::Ip, Allocations::Port],
            true,
        ),
        index(
            "ix_allocations_server",
            Allocations::Table,
            &[Allocations::ServerId],
            false,
        ),
        index(
            "ux_server_variables_server_variable",
            ServerVariables::Table,
            &[ServerVariables::ServerId, ServerVariables::VariableId],
            true,
        ),
        index(
            "ux_subusers_server_user",
            Subusers::Table,
            &[Subusers::ServerId, Subusers::UserId],
            true,
        ),
        index(
            "ix_subusers_user",
            Subusers::Table,
            &[Subusers::UserId],
            false,
        ),
        index(
            "ux_sessions_token_hash",
            Sessions::Table,
            &[Sessions::TokenHash],
            true,
        ),
        index(
            "ix_sessions_family",
            Sessions::Table,
            &[Sessions::FamilyId],
            false,
        ),
        index(
            "ix_sessions_user",
            Sessions::Table,
            &[Sessions::UserId],
            false,
        ),
        index(
            "ux_api_keys_prefix",
            ApiKeys::Table,
            &[ApiKeys::Prefix],
            true,
        ),
        index(
            "ix_api_keys_user",
            ApiKeys::Table,
            &[ApiKeys::UserId],
            false,
        ),
        index(
            "ix_audit_log_created",
            AuditLog::Table,
            &[AuditLog::CreatedAt],
            false,
        ),
        index(
            "ix_audit_log_user",
            AuditLog::Table,
            &[AuditLog::UserId],
            false,
        ),
    ]
}

async fn seed(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut insert = Query::insert();
    insert.into_table(Permissions::Table).columns([
        Permissions::Id,
        Permissions::Category,
        Permissions::Description,
    ]);
    for p in permissions::ALL {
        insert.values_panic([p.key.into(), p.category.into(), p.description.into()]);
    }
    manager.exec_stmt(insert).await?;

    let mut roles = Query::insert();
    roles
        .into_table(Roles::Table)
        .columns([Roles::Name, Roles::Description]);
    let mut grants = Query::insert();
    grants
        .into_table(RolePermissions::Table)
        .columns([RolePermissions::Role, RolePermissions::PermissionId]);
    for role in permissions::ROLES {
        roles.values_panic([role.name.into(), role.description.into()]);
        for key in role.keys() {
            grants.values_panic([role.name.into(), key.into()]);
        }
    }
    manager.exec_stmt(roles).await?;
    manager.exec_stmt(grants).await
}
