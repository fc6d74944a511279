//! Config-file edits applied to a server's files before every start
//! (see `cap_protocol::config_files`). Blocking; run on the blocking pool.

use std::path::Path;

use cap_protocol::config_files::ConfigFileEdits;
use cap_std::fs::Dir;
use cap_templates::{edit_text, MAX_CONFIG_BYTES};

use crate::error::{AgentError, AgentResult};
use crate::files::{self, jail};

/// Apply every file's edits inside `server_dir`, in order; stops at the first file that
/// cannot be edited, with a message naming it. Returns how many files changed.
pub fn apply(server_dir: &Path, config_files: &[ConfigFileEdits]) -> Result<usize, String> {
    if config_files.is_empty() {
        return Ok(0);
    }
    let root = jail::open_root(server_dir).map_err(|e| format!("server directory: {e}"))?;
    let mut changed = 0;
    for file in config_files {
        if apply_one(&root, file).map_err(|e| format!("config file {}: {e}", file.path))? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Edit one file; `false` when its text was already as wanted (nothing is written).
fn apply_one(root: &Dir, file: &ConfigFileEdits) -> AgentResult<bool> {
    let rel = jail::relative_non_root(&file.path)?;
    let current = files::read_text(root, &rel, MAX_CONFIG_BYTES as u64)?;
    let edited = edit_text(file.parser, current.as_deref(), &file.template_edits())
        .map_err(|e| AgentError::Validation(e.to_string()))?;
    if current.as_deref() == Some(edited.as_str()) {
        return Ok(false);
    }
    files::replace(root, &rel, edited.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use cap_protocol::config_files::ConfigEdit;
    use cap_templates::ConfigParser;
    use serde_json::json;

    use super::*;

    fn edits(path: &str, key: &str, value: serde_json::Value) -> ConfigFileEdits {
        ConfigFileEdits {
            path: path.into(),
            parser: ConfigParser::Properties,
            edits: vec![ConfigEdit {
                key: key.into(),
                value,
                if_value: None,
            }],
        }
    }

    #[test]
    fn unchanged_files_are_not_rewritten_and_modes_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.properties");
        std::fs::write(&path, "a=1\nb=2\n").unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .unwrap();
        let same = [edits("server.properties", "b", json!(2))];
        assert_eq!(apply(dir.path(), &same), Ok(0));
        let changed = [edits("server.properties", "b", json!(3))];
        assert_eq!(apply(dir.path(), &changed), Ok(1));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a=1\nb=3\n");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary file left behind");
    }

    #[test]
    fn missing_files_and_parents_are_created_and_escapes_refused() {
        let dir = tempfile::tempdir().unwrap();
        let new = [edits("config/new.properties", "port", json!(25565))];
        assert_eq!(apply(dir.path(), &new), Ok(1));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config/new.properties")).unwrap(),
            "port=25565\n"
        );
        let escape = [edits("../x.properties", "a", json!(1))];
        let message = apply(dir.path(), &escape).unwrap_err();
        assert!(message.contains("config file ../x.properties"), "{message}");
    }
}
