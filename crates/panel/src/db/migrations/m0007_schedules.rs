//! Schedules of a server (run by its agent) and the records of their runs, as the agents
//! report them.

use sea_orm_migration::prelude::*;

use super::m0001_initial::{id, reference, timestamp};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_schedules"
    }
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Schedules {
    Table,
    Id,
    ServerId,
    Name,
    Active,
    Trigger,
    OnlyWhenOnline,
    Tasks,
    DeadlineSeconds,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ScheduleRuns {
    Table,
    Id,
    ServerId,
    ScheduleId,
    Seq,
    Trigger,
    Outcome,
    Error,
    Tasks,
    StartedAt,
    EndedAt,
}

fn cascade_to_server<T: IntoIden + 'static, C: IntoIden + 'static>(
    table: T,
    column: C,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Servers::Table, Servers::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Schedules::Table)
                    .col(id(Schedules::Id))
                    .col(reference(Schedules::ServerId))
                    .col(ColumnDef::new(Schedules::Name).string_len(191).not_null())
                    .col(ColumnDef::new(Schedules::Active).boolean().not_null())
                    .col(ColumnDef::new(Schedules::Trigger).json().not_null())
                    .col(
                        ColumnDef::new(Schedules::OnlyWhenOnline)
                            .boolean()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Schedules::Tasks).json().not_null())
                    .col(
                        ColumnDef::new(Schedules::DeadlineSeconds)
                            .big_integer()
                            .not_null(),
                    )
                    .col(timestamp(Schedules::CreatedAt))
                    .col(timestamp(Schedules::UpdatedAt))
                    .foreign_key(&mut cascade_to_server(
                        Schedules::Table,
                        Schedules::ServerId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ScheduleRuns::Table)
                    .col(id(ScheduleRuns::Id))
                    .col(reference(ScheduleRuns::ServerId))
                    .col(reference(ScheduleRuns::ScheduleId))
                    .col(ColumnDef::new(ScheduleRuns::Seq).big_integer().not_null())
                    .col(
                        ColumnDef::new(ScheduleRuns::Trigger)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ScheduleRuns::Outcome)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ScheduleRuns::Error).text().null())
                    .col(ColumnDef::new(ScheduleRuns::Tasks).json().not_null())
                    .col(timestamp(ScheduleRuns::StartedAt))
                    .col(
                        ColumnDef::new(ScheduleRuns::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(&mut cascade_to_server(
                        ScheduleRuns::Table,
                        ScheduleRuns::ServerId,
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, table, columns) in [
            (
                "ix_schedules_server",
                Schedules::Table.into_iden(),
                vec![Schedules::ServerId.into_iden()],
            ),
            (
                "ix_schedule_runs_server_seq",
                ScheduleRuns::Table.into_iden(),
                vec![
                    ScheduleRuns::ServerId.into_iden(),
                    ScheduleRuns::Seq.into_iden(),
                ],
            ),
            (
                "ix_schedule_runs_schedule_started",
                ScheduleRuns::Table.into_iden(),
                vec![
                    ScheduleRuns::ScheduleId.into_iden(),
                    ScheduleRuns::StartedAt.into_iden(),
                ],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ScheduleRuns::Table.into_iden(),
            Schedules::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
