use sea_orm::entity::prelude::*;

/// A MySQL/MariaDB or PostgreSQL server on which the panel creates servers' databases,
/// reached with an admin account whose password is encrypted with the panel's key.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "database_hosts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// `mysql` (MySQL and MariaDB) or `postgres`.
    pub engine: String,
    pub address: String,
    pub port: i32,
    pub username: String,
    pub password_ciphertext: String,
    /// The node whose servers this host serves first, if any.
    pub node_id: Option<String>,
    pub max_databases: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
