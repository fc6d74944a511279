use sea_orm::entity::prelude::*;

/// A user's TOTP secret (encrypted with the panel key). `enabled_at` is empty while the
/// setup waits for its first code; `last_step` is the 30-second step of the last code
/// accepted, so no code is accepted twice.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_two_factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub secret: String,
    pub enabled_at: Option<DateTimeUtc>,
    pub last_step: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
