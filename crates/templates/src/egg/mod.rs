//! Pterodactyl / Pelican egg import and export.
//!
//! Import reads PTDL_v1 and PTDL_v2 (Pterodactyl, JSON) and PLCN_v1..v3 (Pelican, JSON
//! or YAML) into an [`Alt`](crate::Alt). Export writes PTDL_v2 JSON, which both panels
//! and this one import. Import → export → import gives an equal `Alt`; exporting an
//! imported PTDL_v2 egg gives the same egg up to representation (`exported_at`, the
//! `_comment` banner, and the formatting of the JSON held in `config.*` strings).
//!
//! Things PTDL_v2 has no field for are written as extra top-level keys that Pterodactyl
//! ignores and this importer reads back: `uuid`, `tags`, `startup_commands` when a
//! template has more than one startup command, and `extra_port_offsets` (ports the game
//! uses besides its primary one, e.g. `[1]` for port+1), and `game_query` (see
//! [`crate::GameQuerySpec`]).

mod export;
mod import;
mod native;

pub use export::export_ptdl_v2;
pub use import::{import_egg, EggFormat, ImportWarning, Imported, MAX_EGG_BYTES};

/// Env names the runtime sets itself; a variable with one of these names is shadowed.
pub const RESERVED_ENV_NAMES: &[&str] = &[
    "SERVER_MEMORY",
    "SERVER_IP",
    "SERVER_PORT",
    "SERVER_PORTS",
    "SERVER_UUID",
    "P_SERVER_UUID",
    "P_SERVER_LOCATION",
    "P_SERVER_ALLOCATION_LIMIT",
    "STARTUP",
    "TZ",
    "HOME",
    "USER",
    "ENV",
    "UUID",
];

/// Env names are what Pterodactyl accepts: 1 to 191 word characters.
pub(crate) fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 191 {
        return Err("must be 1 to 191 characters".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "{name:?} may contain only letters, digits and underscores"
        ));
    }
    Ok(())
}
