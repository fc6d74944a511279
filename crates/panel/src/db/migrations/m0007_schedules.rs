//! Schedules of a server (run by its agent) and the records of their runs, as the agents
//! report them.

use sea_orm_migration::prelude::*;

use super::columns::{
    big_int, boolean, fk, id, index, json, name_column, reference, string, text_null, timestamp,
    timestamp_null,
};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_schedules"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Servers {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
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

#[derive(DeriveIden, Clone, Copy)]
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Schedules::Table)
                    .col(id(Schedules::Id))
                    .col(reference(Schedules::ServerId))
                    .col(name_column(Schedules::Name))
                    .col(boolean(Schedules::Active))
                    .col(json(Schedules::Trigger))
                    .col(boolean(Schedules::OnlyWhenOnline))
                    .col(json(Schedules::Tasks))
                    .col(big_int(Schedules::DeadlineSeconds))
                    .col(timestamp(Schedules::CreatedAt))
                    .col(timestamp(Schedules::UpdatedAt))
                    .foreign_key(&mut fk(
                        (Schedules::Table, Schedules::ServerId),
                        (Servers::Table, Servers::Id),
                        ForeignKeyAction::Cascade,
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
                    .col(big_int(ScheduleRuns::Seq))
                    .col(string(ScheduleRuns::Trigger, 32))
                    .col(string(ScheduleRuns::Outcome, 32))
                    .col(text_null(ScheduleRuns::Error))
                    .col(json(ScheduleRuns::Tasks))
                    .col(timestamp(ScheduleRuns::StartedAt))
                    .col(timestamp_null(ScheduleRuns::EndedAt))
                    .foreign_key(&mut fk(
                        (ScheduleRuns::Table, ScheduleRuns::ServerId),
                        (Servers::Table, Servers::Id),
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        for index in [
            index(
                "ix_schedules_server",
                Schedules::Table,
                &[Schedules::ServerId],
                false,
            ),
            index(
                "ix_schedule_runs_server_seq",
                ScheduleRuns::Table,
                &[ScheduleRuns::ServerId, ScheduleRuns::Seq],
                false,
            ),
            index(
                "ix_schedule_runs_schedule_started",
                ScheduleRuns::Table,
                &[ScheduleRuns::ScheduleId, ScheduleRuns::StartedAt],
                false,
            ),
        ] {
            manager.create_index(index).await?;
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
