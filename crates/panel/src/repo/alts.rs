//! Server templates and their variables.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::json;

use crate::db::entities::{alt, alt_variable};
use crate::error::Result;

/// The parts of a template every server needs; structured extras default to empty.
#[derive(Debug, Clone, Default)]
pub struct NewAlt {
    pub ctrl_id: String,
    pub name: String,
    pub description: String,
    pub author: String,
    pub startup: String,
    pub stop_command: String,
    pub done_patterns: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewVariable {
    pub name: String,
    pub description: String,
    pub env_variable: String,
    pub default_value: String,
    pub rules: String,
    pub user_viewable: bool,
    pub user_editable: bool,
    pub sort_order: i32,
}

pub async fn create(db: &impl ConnectionTrait, new: NewAlt) -> Result<alt::Model> {
    let now = Utc::now();
    let model = alt::ActiveModel {
        id: Set(super::new_id()),
        ctrl_id: Set(new.ctrl_id),
        name: Set(new.name),
        description: Set(new.description),
        author: Set(new.author),
        startup: Set(new.startup),
        stop_command: Set(new.stop_command),
        done_patterns: Set(json!(new.done_patterns)),
        config_files: Set(json!([])),
        install_script: Set(String::new()),
        install_interpreter: Set("bash".to_owned()),
        install_image: Set(String::new()),
        docker_images: Set(json!({})),
        file_denylist: Set(json!([])),
        features: Set(json!([])),
        extra: Set(json!({})),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(db).await?)
}

pub async fn add_variable(
    db: &impl ConnectionTrait,
    alt_id: &str,
    new: NewVariable,
) -> Result<alt_variable::Model> {
    let model = alt_variable::ActiveModel {
        id: Set(super::new_id()),
        alt_id: Set(alt_id.to_owned()),
        name: Set(new.name),
        description: Set(new.description),
        env_variable: Set(new.env_variable),
        default_value: Set(new.default_value),
        rules: Set(new.rules),
        user_viewable: Set(new.user_viewable),
        user_editable: Set(new.user_editable),
        sort_order: Set(new.sort_order),
    };
    Ok(model.insert(db).await?)
}
