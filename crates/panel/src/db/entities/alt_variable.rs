use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alt_variables")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub alt_id: String,
    pub name: String,
    pub description: String,
    pub env_variable: String,
    pub default_value: String,
    /// Laravel-style rule string, e.g. `required|string|max:20`.
    pub rules: String,
    pub user_viewable: bool,
    pub user_editable: bool,
    pub sort_order: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
