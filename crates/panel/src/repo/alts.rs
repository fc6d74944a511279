//! Server templates and their variables (rows only; `services::templates` turns them into
//! `cap_templates::Alt`s).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::Value;

use crate::db::entities::{alt, alt_variable, server};
use crate::error::Result;

/// The columns of an `alts` row.
#[derive(Debug, Clone)]
pub struct AltRow {
    pub ctrl_id: String,
    pub name: String,
    pub description: String,
    pub author: String,
    pub uuid: Option<String>,
    pub definition: Value,
}

pub async fn insert(db: &impl ConnectionTrait, row: AltRow) -> Result<alt::Model> {
    let now = Utc::now();
    let model = alt::ActiveModel {
        id: Set(super::new_id()),
        ctrl_id: Set(row.ctrl_id),
        name: Set(row.name),
        description: Set(row.description),
        author: Set(row.author),
        uuid: Set(row.uuid),
        definition: Set(row.definition),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn update(
    db: &impl ConnectionTrait,
    existing: alt::Model,
    row: AltRow,
) -> Result<alt::Model> {
    super::epochs::server_list_changed();
    let mut model: alt::ActiveModel = existing.into();
    model.name = Set(row.name);
    model.description = Set(row.description);
    model.author = Set(row.author);
    model.uuid = Set(row.uuid);
    model.definition = Set(row.definition);
    model.updated_at = Set(Utc::now());
    Ok(model.update(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<alt::Model>> {
    Ok(alt::Entity::find_by_id(id).one(db).await?)
}

pub async fn find_by_uuid(db: &impl ConnectionTrait, uuid: &str) -> Result<Option<alt::Model>> {
    Ok(alt::Entity::find()
        .filter(alt::Column::Uuid.eq(uuid))
        .one(db)
        .await?)
}

/// The template of this name in a category (names are unique per category).
pub async fn find_by_name(
    db: &impl ConnectionTrait,
    ctrl_id: &str,
    name: &str,
) -> Result<Option<alt::Model>> {
    Ok(alt::Entity::find()
        .filter(alt::Column::CtrlId.eq(ctrl_id))
        .filter(alt::Column::Name.eq(name))
        .one(db)
        .await?)
}

/// A page of templates, optionally of one ctrl and/or matching a name fragment.
pub async fn list(
    db: &impl ConnectionTrait,
    ctrl_id: Option<&str>,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<alt::Model>, u64)> {
    let mut query = alt::Entity::find().order_by_asc(alt::Column::Name);
    if let Some(ctrl_id) = ctrl_id {
        query = query.filter(alt::Column::CtrlId.eq(ctrl_id));
    }
    if let Some(name) = name {
        query = query.filter(super::name_contains(alt::Column::Name, name));
    }
    super::fetch_page(db, query, page, per_page).await
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    super::epochs::server_list_changed();
    alt::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn servers_using(db: &impl ConnectionTrait, alt_id: &str) -> Result<u64> {
    Ok(server::Entity::find()
        .filter(server::Column::AltId.eq(alt_id))
        .count(db)
        .await?)
}

pub async fn variables(
    db: &impl ConnectionTrait,
    alt_id: &str,
) -> Result<Vec<alt_variable::Model>> {
    Ok(alt_variable::Entity::find()
        .filter(alt_variable::Column::AltId.eq(alt_id))
        .order_by_asc(alt_variable::Column::SortOrder)
        .all(db)
        .await?)
}

pub async fn insert_variable(
    db: &impl ConnectionTrait,
    alt_id: &str,
    env_variable: &str,
    sort_order: i32,
    definition: Value,
) -> Result<alt_variable::Model> {
    let model = alt_variable::ActiveModel {
        id: Set(super::new_id()),
        alt_id: Set(alt_id.to_owned()),
        env_variable: Set(env_variable.to_owned()),
        sort_order: Set(sort_order),
        definition: Set(definition),
    };
    Ok(model.insert(db).await?)
}

pub async fn update_variable(
    db: &impl ConnectionTrait,
    existing: alt_variable::Model,
    sort_order: i32,
    definition: Value,
) -> Result<()> {
    let mut model: alt_variable::ActiveModel = existing.into();
    model.sort_order = Set(sort_order);
    model.definition = Set(definition);
    model.update(db).await?;
    Ok(())
}

pub async fn delete_variable(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    alt_variable::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}
