use sea_orm::entity::prelude::*;

/// The record of one run of a schedule, as the agent reported it (`seq` is its position
/// in the agent's record stream; a newer version of the same run has a greater one).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "schedule_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub server_id: String,
    pub schedule_id: String,
    pub seq: i64,
    pub trigger: String,
    pub outcome: String,
    pub error: Option<String>,
    pub tasks: Json,
    pub started_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
