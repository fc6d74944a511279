//! The permission catalogue: 36 keys in 10 categories, and the three roles.
//!
//! The migration seeds the `permissions`, `roles` and `role_permissions` tables from these
//! constants; the RBAC layer checks against the same keys.

/// One permission: `category:action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub key: &'static str,
    pub category: &'static str,
    pub description: &'static str,
}

const fn p(key: &'static str, category: &'static str, description: &'static str) -> Permission {
    Permission {
        key,
        category,
        description,
    }
}

/// Every permission, grouped by category in display order.
pub const ALL: [Permission; 36] = [
    p("server:view", "SERVER", "See servers and their details"),
    p("server:create", "SERVER", "Create servers"),
    p(
        "server:update",
        "SERVER",
        "Change a server's name, limits and startup",
    ),
    p("server:delete", "SERVER", "Delete servers"),
    p(
        "server:power",
        "SERVER",
        "Start, stop, restart and kill servers",
    ),
    p("server:schedule", "SERVER", "Manage scheduled tasks"),
    p("user:view", "USER", "See user accounts"),
    p("user:create", "USER", "Create user accounts"),
    p("user:update", "USER", "Change user accounts"),
    p("user:delete", "USER", "Delete user accounts"),
    p("admin:nodes", "ADMIN", "Manage nodes and their agents"),
    p(
        "admin:templates",
        "ADMIN",
        "Manage ctrls and alts (templates)",
    ),
    p("admin:permissions", "ADMIN", "Grant and revoke permissions"),
    p("admin:settings", "ADMIN", "Change panel settings"),
    p("admin:audit", "ADMIN", "Read the audit log"),
    p("file:read", "FILE", "List and read server files"),
    p("file:write", "FILE", "Create, upload and edit server files"),
    p("file:delete", "FILE", "Delete server files"),
    p("file:archive", "FILE", "Compress and extract archives"),
    p("file:sftp", "FILE", "Connect over SFTP"),
    p("console:view", "CONSOLE", "Watch the live console"),
    p("console:command", "CONSOLE", "Send console commands"),
    p("backup:view", "BACKUP", "See backups"),
    p("backup:create", "BACKUP", "Create backups"),
    p("backup:restore", "BACKUP", "Restore backups"),
    p("backup:delete", "BACKUP", "Delete backups"),
    p("database:view", "DATABASE", "See server databases"),
    p("database:create", "DATABASE", "Create server databases"),
    p("database:delete", "DATABASE", "Delete server databases"),
    p("network:view", "NETWORK", "See allocations and ports"),
    p(
        "network:manage",
        "NETWORK",
        "Assign and release allocations",
    ),
    p(
        "monitoring:view",
        "MONITORING",
        "See health and resource use",
    ),
    p("monitoring:alerts", "MONITORING", "Manage alerts"),
    p("plugin:view", "PLUGIN", "See plugins"),
    p("plugin:install", "PLUGIN", "Install plugins"),
    p(
        "plugin:manage",
        "PLUGIN",
        "Enable, configure and remove plugins",
    ),
];

/// Keys a subuser may be granted on one server.
pub const SERVER_SCOPED: [&str; 18] = [
    "server:power",
    "server:schedule",
    "console:view",
    "console:command",
    "file:read",
    "file:write",
    "file:delete",
    "file:archive",
    "file:sftp",
    "backup:view",
    "backup:create",
    "backup:restore",
    "backup:delete",
    "database:view",
    "database:create",
    "database:delete",
    "network:view",
    "network:manage",
];

/// A named permission set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: &'static [&'static str],
}

pub const ADMIN_ROLE: &str = "admin";

const MODERATOR_PERMISSIONS: &[&str] = &[
    "server:view",
    "server:update",
    "server:power",
    "server:schedule",
    "user:view",
    "file:read",
    "file:write",
    "file:archive",
    "console:view",
    "console:command",
    "backup:view",
    "backup:create",
    "database:view",
    "network:view",
    "monitoring:view",
    "plugin:view",
];

const USER_PERMISSIONS: &[&str] = &[
    "server:view",
    "server:update",
    "server:power",
    "server:schedule",
    "file:read",
    "file:write",
    "file:delete",
    "file:archive",
    "file:sftp",
    "console:view",
    "console:command",
    "backup:view",
    "backup:create",
    "backup:restore",
    "backup:delete",
    "database:view",
    "database:create",
    "database:delete",
    "network:view",
];

/// The admin role holds every key; the list is filled from [`ALL`] at seeding time.
pub const ROLES: [Role; 3] = [
    Role {
        name: ADMIN_ROLE,
        description: "Full control of the panel",
        permissions: &[],
    },
    Role {
        name: "moderator",
        description: "Helps run servers and users without administering the panel",
        permissions: MODERATOR_PERMISSIONS,
    },
    Role {
        name: "user",
        description: "Runs the servers they own or are invited to",
        permissions: USER_PERMISSIONS,
    },
];

impl Role {
    /// The role's permission keys (all of them for admin).
    pub fn keys(&self) -> Vec<&'static str> {
        if self.name == ADMIN_ROLE {
            ALL.iter().map(|p| p.key).collect()
        } else {
            self.permissions.to_vec()
        }
    }
}

/// Whether `key` is one of the 36.
pub fn is_known(key: &str) -> bool {
    ALL.iter().any(|p| p.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn thirty_six_unique_keys_in_ten_categories() {
        let keys: HashSet<_> = ALL.iter().map(|p| p.key).collect();
        assert_eq!(keys.len(), 36);
        let categories: HashSet<_> = ALL.iter().map(|p| p.category).collect();
        assert_eq!(categories.len(), 10);
        for p in ALL {
            let (category, _) = p.key.split_once(':').expect("key has a colon");
            assert_eq!(category.to_uppercase(), p.category);
        }
    }

    #[test]
    fn roles_and_scopes_name_only_known_keys() {
        for role in ROLES {
            assert!(role.keys().iter().all(|k| is_known(k)), "{}", role.name);
        }
        assert!(SERVER_SCOPED.iter().all(|k| is_known(k)));
        assert_eq!(ROLES[0].keys().len(), 36);
    }
}
