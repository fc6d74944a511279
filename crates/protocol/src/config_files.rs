//! Config-file edits the agent applies to a server's files before every start.
//!
//! The panel renders a template's config files for one server
//! ([`cap_templates::render_config_files`]) and sends them in
//! [`ServerDefinition::config_files`](crate::server::ServerDefinition::config_files);
//! `From<RenderedConfigFile>` converts one. Before each start, restart and automatic
//! restart the agent reads every file (a missing file counts as empty), applies the edits
//! with [`cap_templates::edit_text`] and writes the result back atomically. Files are
//! reached only through the server directory's file jail: paths with `..`, absolute paths,
//! symlinks and anything leading outside the directory are refused. A file that cannot be
//! edited fails the start with a console line naming it (state `crashed`, desired state
//! `offline`, the message in `status.message`).

use cap_templates::{ConfigParser, Edit, RenderedConfigFile};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::FieldError;

/// Limits on [`ConfigFileEdits`].
pub mod bounds {
    /// Config files per definition.
    pub const MAX_CONFIG_FILES: usize = 32;
    /// Edits per file.
    pub const MAX_EDITS: usize = 256;
    /// Length of a path, a key or an `ifValue`, bytes.
    pub const MAX_KEY_BYTES: usize = 1024;
    /// Length of a text value, bytes.
    pub const MAX_VALUE_BYTES: usize = 16 * 1024;
}

/// One config file and the edits applied to it, in order.
///
/// ```json
/// {"path": "server.properties", "parser": "properties",
///  "edits": [{"key": "server-port", "value": 25565}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFileEdits {
    /// Path relative to the server directory, e.g. `config/paper-global.yml`.
    pub path: String,
    /// `file`, `properties`, `yaml`, `json`, `ini` or `xml`.
    pub parser: ConfigParser,
    /// The edits, applied in order.
    #[serde(default)]
    pub edits: Vec<ConfigEdit>,
}

/// One edit, placeholders already filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigEdit {
    /// Key path (`server-port`, `listeners[0].host`, `section.key`) or, for the `file`
    /// parser, the line prefix.
    pub key: String,
    /// New value: text, a number or a boolean.
    pub value: Value,
    /// Only apply when the current value equals this (with a `regex:` prefix: when it
    /// matches, replacing the matched part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_value: Option<String>,
}

impl From<RenderedConfigFile> for ConfigFileEdits {
    fn from(file: RenderedConfigFile) -> Self {
        Self {
            path: file.path,
            parser: file.parser,
            edits: file.edits.into_iter().map(ConfigEdit::from).collect(),
        }
    }
}

impl From<Edit> for ConfigEdit {
    fn from(edit: Edit) -> Self {
        Self {
            key: edit.key,
            value: edit.value,
            if_value: edit.if_value,
        }
    }
}

impl From<ConfigEdit> for Edit {
    fn from(edit: ConfigEdit) -> Self {
        Self {
            key: edit.key,
            value: edit.value,
            if_value: edit.if_value,
        }
    }
}

impl ConfigFileEdits {
    /// The edits in the form [`cap_templates::edit_text`] takes.
    pub fn template_edits(&self) -> Vec<Edit> {
        self.edits.iter().cloned().map(Edit::from).collect()
    }

    /// Problems with this entry (at index `index` of `configFiles`), appended to `errors`.
    pub fn check(&self, index: usize, errors: &mut Vec<FieldError>) {
        let field = format!("configFiles[{index}]");
        let mut fail = |suffix: &str, message: &str| {
            errors.push(FieldError {
                field: format!("{field}{suffix}"),
                message: message.to_owned(),
            })
        };
        if let Err(message) = check_path(&self.path) {
            fail(".path", message);
        }
        if self.edits.len() > bounds::MAX_EDITS {
            fail(".edits", "at most 256 edits per file");
        }
        for (i, edit) in self.edits.iter().enumerate() {
            if edit.key.is_empty() || edit.key.len() > bounds::MAX_KEY_BYTES {
                fail(&format!(".edits[{i}].key"), "must be 1 to 1024 bytes long");
            }
            let value_ok = match &edit.value {
                Value::String(text) => text.len() <= bounds::MAX_VALUE_BYTES,
                Value::Number(_) | Value::Bool(_) | Value::Null => true,
                Value::Array(_) | Value::Object(_) => false,
            };
            if !value_ok {
                fail(
                    &format!(".edits[{i}].value"),
                    "must be text of at most 16 KiB, a number or a boolean",
                );
            }
            if edit
                .if_value
                .as_ref()
                .is_some_and(|v| v.len() > bounds::MAX_KEY_BYTES)
            {
                fail(&format!(".edits[{i}].ifValue"), "at most 1024 bytes");
            }
        }
    }
}

/// A config-file path must stay inside the server directory: relative, no `..`, no NUL.
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() || path.len() > bounds::MAX_KEY_BYTES {
        return Err("must be 1 to 1024 bytes long");
    }
    if path.contains('\0') {
        return Err("must not contain NUL");
    }
    if path.starts_with('/') {
        return Err("must be relative to the server directory");
    }
    if path.split('/').any(|part| part == "..") {
        return Err("must not contain '..'");
    }
    if path.split('/').all(|part| part.is_empty() || part == ".") {
        return Err("must name a file");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wire_shape_is_camel_case_and_converts_from_rendered_files() {
        let rendered = RenderedConfigFile {
            path: "server.properties".into(),
            parser: ConfigParser::Properties,
            edits: vec![Edit {
                key: "motd".into(),
                value: json!("hi"),
                if_value: Some("old".into()),
            }],
            unresolved: vec!["{{x}}".into()],
        };
        let file = ConfigFileEdits::from(rendered);
        assert_eq!(
            serde_json::to_value(&file).unwrap(),
            json!({"path": "server.properties", "parser": "properties",
                   "edits": [{"key": "motd", "value": "hi", "ifValue": "old"}]})
        );
        assert_eq!(file.template_edits()[0].if_value.as_deref(), Some("old"));
    }

    #[test]
    fn paths_and_values_are_checked() {
        let file = |path: &str, value: Value| ConfigFileEdits {
            path: path.into(),
            parser: ConfigParser::Yaml,
            edits: vec![ConfigEdit {
                key: "a.b".into(),
                value,
                if_value: None,
            }],
        };
        let errors = |f: ConfigFileEdits| {
            let mut errors = Vec::new();
            f.check(2, &mut errors);
            errors
        };
        assert!(errors(file("config/a.yml", json!(3))).is_empty());
        assert!(errors(file("./a.yml", json!(true))).is_empty());
        for bad in ["", "/etc/x", "../x", "a/../../x", ".", "a\0b"] {
            let found = errors(file(bad, json!("v")));
            assert_eq!(found.len(), 1, "{bad:?}");
            assert_eq!(found[0].field, "configFiles[2].path");
        }
        let found = errors(file("a.yml", json!([1])));
        assert_eq!(found[0].field, "configFiles[2].edits[0].value");
    }
}
