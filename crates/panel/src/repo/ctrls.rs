//! Template categories.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::db::entities::ctrl;
use crate::error::Result;

pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    description: &str,
) -> Result<ctrl::Model> {
    let now = Utc::now();
    let model = ctrl::ActiveModel {
        id: Set(super::new_id()),
        name: Set(name.to_owned()),
        description: Set(description.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}
