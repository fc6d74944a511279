use sea_orm::entity::prelude::*;

/// A backup of a server: an archive on the server's node (`local`) or in the S3 bucket.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub server_id: String,
    pub name: String,
    /// `pending`, `running`, `completed` or `failed`.
    pub status: String,
    /// `local` or `s3`.
    pub adapter: String,
    /// `tar_zstd` or `tar_gz`.
    pub format: String,
    /// Bytes of the archive (once completed).
    pub size: Option<i64>,
    /// SHA-256 of the archive, lowercase hex (once completed).
    pub checksum: Option<String>,
    /// JSON array of ignore patterns (gitignore syntax).
    pub ignored: Json,
    /// Locked backups are never removed by retention and cannot be deleted.
    pub locked: bool,
    /// Bytes of server files read so far.
    pub bytes: i64,
    /// Files archived so far.
    pub files: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// Who asked for it (none: made on the node, e.g. by a schedule).
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::server::Entity",
        from = "Column::ServerId",
        to = "super::server::Column::Id"
    )]
    Server,
}

impl ActiveModelBehavior for ActiveModel {}
