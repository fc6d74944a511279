use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "nodes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub description: String,
    pub address: String,
    pub port: i32,
    /// `https` (pinned self-signed certificate) or `http` (loopback development only).
    pub scheme: String,
    /// The node token, encrypted with the panel's key.
    pub token_ciphertext: String,
    /// SHA-256 of the one-time join token; cleared when the agent joins.
    pub join_token_hash: Option<String>,
    pub cert_fingerprint: Option<String>,
    pub memory_mb: i64,
    pub disk_mb: i64,
    /// How far servers' limits may exceed memory_mb and disk_mb, in percent; -1: no check.
    pub overallocate_percent: i32,
    pub port_range_start: i32,
    pub port_range_end: i32,
    /// `unknown`, `online`, `offline` or `degraded`.
    pub status: String,
    pub last_seen_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
