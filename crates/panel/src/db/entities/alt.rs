use sea_orm::entity::prelude::*;

/// A server template (Pterodactyl "egg"). Structured parts are stored as JSON.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub ctrl_id: String,
    pub name: String,
    pub description: String,
    pub author: String,
    pub startup: String,
    pub stop_command: String,
    pub done_patterns: Json,
    pub config_files: Json,
    pub install_script: String,
    pub install_interpreter: String,
    pub install_image: String,
    pub docker_images: Json,
    pub file_denylist: Json,
    pub features: Json,
    /// Anything else an imported egg carried, kept so export loses nothing.
    pub extra: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
