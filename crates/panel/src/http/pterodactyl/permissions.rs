//! Pterodactyl's permission names and the keys of ours each stands for. A key of ours
//! may stand behind several of theirs (`control.start`, `control.stop` and
//! `control.restart` are all `server:power`); what a subuser may do is always decided by
//! our keys.

use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::Error;

/// `(Pterodactyl permission, our key, what it allows)`, grouped by Pterodactyl's prefix.
pub const TABLE: [(&str, &str, &str); 38] = [
    (
        "websocket.connect",
        "console:view",
        "Connect to the console websocket.",
    ),
    (
        "control.console",
        "console:command",
        "Send commands to the console.",
    ),
    ("control.start", "server:power", "Start the server."),
    ("control.stop", "server:power", "Stop the server."),
    ("control.restart", "server:power", "Restart the server."),
    ("user.create", "server:update", "Invite subusers."),
    ("user.read", "server:view", "See subusers."),
    (
        "user.update",
        "server:update",
        "Change subusers' permissions.",
    ),
    ("user.delete", "server:update", "Remove subusers."),
    ("file.create", "file:write", "Create files and folders."),
    ("file.read", "file:read", "List files and folders."),
    ("file.read-content", "file:read", "Read file contents."),
    ("file.update", "file:write", "Change files and folders."),
    ("file.delete", "file:delete", "Delete files and folders."),
    (
        "file.archive",
        "file:archive",
        "Compress and extract archives.",
    ),
    ("file.sftp", "file:sftp", "Connect over SFTP."),
    ("backup.create", "backup:create", "Create backups."),
    ("backup.read", "backup:view", "See backups."),
    ("backup.delete", "backup:delete", "Delete backups."),
    ("backup.download", "backup:view", "Download backups."),
    ("backup.restore", "backup:restore", "Restore backups."),
    ("allocation.read", "network:view", "See allocations."),
    ("allocation.create", "network:manage", "Assign allocations."),
    (
        "allocation.update",
        "network:manage",
        "Change allocation notes and the primary.",
    ),
    (
        "allocation.delete",
        "network:manage",
        "Release allocations.",
    ),
    (
        "startup.read",
        "server:view",
        "See the startup command and variables.",
    ),
    (
        "startup.update",
        "server:update",
        "Change startup variables.",
    ),
    (
        "startup.docker-image",
        "server:update",
        "Change the Docker image.",
    ),
    ("database.create", "database:create", "Create databases."),
    ("database.read", "database:view", "See databases."),
    (
        "database.update",
        "database:create",
        "Rotate database passwords.",
    ),
    ("database.delete", "database:delete", "Delete databases."),
    (
        "database.view_password",
        "database:view",
        "See database passwords.",
    ),
    ("schedule.create", "server:schedule", "Create schedules."),
    ("schedule.read", "server:schedule", "See schedules."),
    ("schedule.update", "server:schedule", "Change schedules."),
    ("schedule.delete", "server:schedule", "Delete schedules."),
    ("settings.rename", "server:update", "Rename the server."),
];

/// The Pterodactyl names a holder of `keys` has on a server (`*` for owners and admins,
/// as Pterodactyl says it).
pub fn names_for(keys: &[String], everything: bool) -> Vec<String> {
    if everything {
        return vec!["*".into()];
    }
    TABLE
        .iter()
        .filter(|(_, ours, _)| keys.iter().any(|k| k == ours))
        .map(|(theirs, _, _)| (*theirs).to_owned())
        .collect()
}

/// Our keys for Pterodactyl names (each once); an unknown name is a validation error.
pub fn keys_for(names: &[String]) -> Result<Vec<String>, Error> {
    let mut keys: Vec<String> = Vec::new();
    for name in names {
        let (_, ours, _) = TABLE
            .iter()
            .find(|(theirs, _, _)| theirs == name)
            .ok_or_else(|| {
                Error::validation("permissions", format!("{name} is not a permission"))
            })?;
        if !keys.iter().any(|k| k == ours) {
            keys.push((*ours).to_owned());
        }
    }
    Ok(keys)
}

/// `GET /api/client/permissions`: every permission by group, as Pterodactyl lists them.
pub async fn system() -> Json<Value> {
    let mut groups: Map<String, Value> = Map::new();
    for (name, _, description) in TABLE {
        let (group, key) = name.split_once('.').unwrap_or((name, name));
        let entry = groups
            .entry(group.to_owned())
            .or_insert_with(|| json!({ "description": "", "keys": {} }));
        entry["keys"][key] = json!(description);
    }
    Json(json!({
        "object": "system_permissions",
        "attributes": { "permissions": groups },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_our_keys_once() {
        let names = [
            "control.start".to_owned(),
            "control.stop".to_owned(),
            "file.read".to_owned(),
        ];
        assert_eq!(keys_for(&names).unwrap(), ["server:power", "file:read"]);
        assert!(keys_for(&["control.fly".to_owned()]).is_err());
    }

    #[test]
    fn every_name_maps_to_one_of_our_keys_once() {
        let names: std::collections::BTreeSet<_> = TABLE.iter().map(|(n, _, _)| n).collect();
        assert_eq!(names.len(), TABLE.len());
        for (name, ours, _) in TABLE {
            assert!(crate::permissions::is_known(ours), "{name} → {ours}");
        }
    }
}
