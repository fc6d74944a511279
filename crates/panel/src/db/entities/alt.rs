use sea_orm::entity::prelude::*;

/// A server template (Pterodactyl "egg"). `definition` holds the whole
/// `cap_templates::Alt` except its variables (rows of `alt_variables`); name,
/// description, author and uuid are copied out of it for listing and uniqueness.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ctrl_id: String,
    pub name: String,
    pub description: String,
    pub author: String,
    pub uuid: Option<String>,
    pub definition: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
