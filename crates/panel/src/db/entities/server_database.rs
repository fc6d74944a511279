use sea_orm::entity::prelude::*;

/// A database created for a server on a database host, with the one user that may use
/// it (its password encrypted with the panel's key).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_databases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The server's id; kept after the server is deleted while the record is orphaned.
    pub server_id: String,
    pub host_id: String,
    pub database_name: String,
    pub username: String,
    pub password_ciphertext: String,
    /// Where the user may connect from (a MySQL host pattern; `%` on PostgreSQL hosts).
    pub remote: String,
    /// 0: as many as the host allows.
    pub max_connections: i32,
    /// Set when the server was deleted but the host could not be reached to drop it.
    pub orphaned_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
