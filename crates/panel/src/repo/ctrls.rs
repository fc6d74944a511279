//! Template categories.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QuerySelect, RelationTrait, Set,
};

use crate::db::entities::{alt, ctrl, server};
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

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<ctrl::Model>> {
    Ok(ctrl::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> Result<Option<ctrl::Model>> {
    Ok(ctrl::Entity::find()
        .filter(ctrl::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn list(
    db: &impl ConnectionTrait,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ctrl::Model>, u64)> {
    super::page_by_name::<ctrl::Entity>(db, ctrl::Column::Name, name, page, per_page).await
}

pub async fn update(
    db: &impl ConnectionTrait,
    existing: ctrl::Model,
    name: Option<String>,
    description: Option<String>,
) -> Result<ctrl::Model> {
    let mut model: ctrl::ActiveModel = existing.into();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if let Some(description) = description {
        model.description = Set(description);
    }
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    ctrl::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// How many servers use a template of this category.
pub async fn servers_using(db: &impl ConnectionTrait, ctrl_id: &str) -> Result<u64> {
    Ok(server::Entity::find()
        .join(JoinType::InnerJoin, server::Relation::Alt.def())
        .filter(alt::Column::CtrlId.eq(ctrl_id))
        .count(db)
        .await?)
}
