use cap_protocol::server::CrashPolicy;
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
    /// Last state reported by the agent.
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
    /// Crash policy sent to the node: restart automatically after a crash, at most
    /// `crash_max_restarts` times inside `crash_window_seconds`, waiting from
    /// `crash_backoff_ms` up to `crash_max_backoff_ms` between attempts.
    pub crash_auto_restart: bool,
    pub crash_max_restarts: i32,
    pub crash_window_seconds: i64,
    pub crash_backoff_ms: i64,
    pub crash_max_backoff_ms: i64,
    /// How many backups the server may keep, set by admins (0 = none).
    pub backup_limit: i32,
    /// Retention: keep only the newest N completed backups / those younger than D days
    /// (locked backups are always kept).
    pub backup_keep_last: Option<i32>,
    pub backup_keep_days: Option<i32>,
    /// How many databases the server may have, set by admins (0: none).
    pub database_limit: i32,
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

/// A crash policy from its stored columns (auto restart, max restarts, window seconds,
/// back-off and back-off ceiling in milliseconds); the API keeps them in range.
pub fn crash_policy_from(columns: (bool, i32, i64, i64, i64)) -> CrashPolicy {
    let (auto_restart, max_restarts, window_seconds, backoff_ms, max_backoff_ms) = columns;
    let wide = |v: i64| u64::try_from(v).unwrap_or_default();
    CrashPolicy {
        auto_restart,
        max_restarts: u32::try_from(max_restarts).unwrap_or_default(),
        window_seconds: wide(window_seconds),
        backoff_ms: wide(backoff_ms),
        max_backoff_ms: wide(max_backoff_ms),
    }
}

impl Model {
    /// The stored crash policy as the node takes it.
    pub fn crash_policy(&self) -> CrashPolicy {
        crash_policy_from((
            self.crash_auto_restart,
            self.crash_max_restarts,
            self.crash_window_seconds,
            self.crash_backoff_ms,
            self.crash_max_backoff_ms,
        ))
    }

    /// Replaces the crash policy (values beyond the columns' range saturate).
    pub fn set_crash_policy(&mut self, policy: &CrashPolicy) {
        let wide = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.crash_auto_restart = policy.auto_restart;
        self.crash_max_restarts = i32::try_from(policy.max_restarts).unwrap_or(i32::MAX);
        self.crash_window_seconds = wide(policy.window_seconds);
        self.crash_backoff_ms = wide(policy.backoff_ms);
        self.crash_max_backoff_ms = wide(policy.max_backoff_ms);
    }
}

/// A server with the names of its owner, node and template, for lists.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ServerListRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub owner_username: String,
    pub node_id: Option<String>,
    pub node_name: Option<String>,
    pub node_status: Option<String>,
    pub node_address: Option<String>,
    pub alt_id: String,
    pub alt_name: String,
    pub state: String,
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
    pub image: Option<String>,
    pub suspended: bool,
    pub crash_auto_restart: bool,
    pub crash_max_restarts: i32,
    pub crash_window_seconds: i64,
    pub crash_backoff_ms: i64,
    pub crash_max_backoff_ms: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ServerListRow {
    pub fn crash_policy(&self) -> CrashPolicy {
        crash_policy_from((
            self.crash_auto_restart,
            self.crash_max_restarts,
            self.crash_window_seconds,
            self.crash_backoff_ms,
            self.crash_max_backoff_ms,
        ))
    }
}
