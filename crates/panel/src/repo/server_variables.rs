//! Values a server gives its template's variables.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db::entities::server_variable;
use crate::error::Result;

pub async fn for_server(
    db: &impl ConnectionTrait,
    server_id: &str,
) -> Result<Vec<server_variable::Model>> {
    Ok(server_variable::Entity::find()
        .filter(server_variable::Column::ServerId.eq(server_id))
        .all(db)
        .await?)
}

/// Sets a value, replacing the previous one.
pub async fn upsert(
    db: &impl ConnectionTrait,
    server_id: &str,
    variable_id: &str,
    value: &str,
) -> Result<()> {
    let model = server_variable::ActiveModel {
        id: Set(super::new_id()),
        server_id: Set(server_id.to_owned()),
        variable_id: Set(variable_id.to_owned()),
        value: Set(value.to_owned()),
    };
    server_variable::Entity::insert(model)
        .on_conflict(
            OnConflict::columns([
                server_variable::Column::ServerId,
                server_variable::Column::VariableId,
            ])
            .update_column(server_variable::Column::Value)
            .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}
