//! Repositories: the only place that talks SQL (through SeaORM). Database errors are
//! mapped by `From<DbErr> for Error`: unique → Conflict, foreign key → Validation.

pub mod alts;
pub mod api_keys;
pub mod ctrls;
pub mod nodes;
pub mod permissions;
pub mod servers;
pub mod sessions;
pub mod subusers;
pub mod users;

/// A new time-ordered id for a row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
