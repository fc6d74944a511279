//! Templates shipped with the panel, stored as PTDL_v2 eggs in `builtin/` and embedded
//! in the binary. Each has a fixed UUID so the panel can seed them once and recognise
//! them later.

use crate::egg::import_egg;
use crate::error::{Error, Result};
use crate::model::Alt;

const SOURCES: [(&str, &str); 5] = [
    ("test-game.json", include_str!("../builtin/test-game.json")),
    ("luanti.json", include_str!("../builtin/luanti.json")),
    ("paper.json", include_str!("../builtin/paper.json")),
    ("openarena.json", include_str!("../builtin/openarena.json")),
    ("teeworlds.json", include_str!("../builtin/teeworlds.json")),
];

/// The built-in templates: the test game (no downloads), Luanti/Minetest (Debian's
/// `minetest-server`, native), Minecraft Paper (downloads its jar at install), and
/// OpenArena and Teeworlds (Debian's `openarena-server` and `teeworlds-server`, native,
/// with their game queries).
pub fn builtins() -> Result<Vec<Alt>> {
    SOURCES
        .iter()
        .map(|(file, text)| {
            import_egg(text)
                .map(|imported| imported.alt)
                .map_err(|e| Error::field(format!("built-in template {file}"), e.to_string()))
        })
        .collect()
}
