use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "servers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub node_id: Option<String>,
    pub alt_id: String,
    /// Last state reported by the agent (design §8).
    pub state: String,
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
    pub startup_override: Option<String>,
    pub image: Option<String>,
    pub suspended: bool,
    pub installed_at: Option<DateTimeUtc>,
    /// How many allocations the server may hold, set by admins (the ports its template
    /// needs are always allowed).
    pub allocation_limit: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::OwnerId",
        to = "super::user::Column::Id"
    )]
    Owner,
    #[sea_orm(
        belongs_to = "super::node::Entity",
        from = "Column::NodeId",
        to = "super::node::Column::Id"
    )]
    Node,
    #[sea_orm(
        belongs_to = "super::alt::Entity",
        from = "Column::AltId",
        to = "super::alt::Column::Id"
    )]
    Alt,
}

impl ActiveModelBehavior for ActiveModel {}
