use sea_orm::entity::prelude::*;

/// A schedule of a server; its agent runs it (the trigger and tasks are stored as the
/// protocol's JSON).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub server_id: String,
    pub name: String,
    pub active: bool,
    pub trigger: Json,
    pub only_when_online: bool,
    pub tasks: Json,
    pub deadline_seconds: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
