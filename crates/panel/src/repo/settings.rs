//! Panel-wide key/value settings.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde_json::Value;

use crate::db::entities::setting;
use crate::error::Result;

pub async fn get(db: &impl ConnectionTrait, key: &str) -> Result<Option<Value>> {
    Ok(setting::Entity::find_by_id(key)
        .one(db)
        .await?
        .map(|s| s.value))
}

pub async fn set(db: &impl ConnectionTrait, key: &str, value: Value) -> Result<()> {
    let model = setting::ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value),
        updated_at: Set(Utc::now()),
    };
    setting::Entity::insert(model)
        .on_conflict(
            OnConflict::column(setting::Column::Key)
                .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
