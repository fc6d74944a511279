//! Config-file editing: pure functions from the current file text and a list of
//! rendered [`Edit`]s to the new text.
//!
//! The agent reads the file (or passes `None` when it does not exist), calls
//! [`edit_text`], and writes the result back; file I/O and path jailing stay with the
//! caller. Behaviour follows Pterodactyl's daemon, keeping more of the file:
//!
//! | parser | keys | keeps |
//! |---|---|---|
//! | `file` | a line starting with the key is replaced by the value | everything else |
//! | `properties` | `key` | comments, order, spacing, unrelated keys |
//! | `ini` | `key` (no section) or `section.key`; `[a.b].key` for dotted sections | comments, order, spacing |
//! | `json` | dotted paths, `list[0].x`, `map.*.x` wildcards | key order, indentation width |
//! | `yaml` | as `json` | key order (comments are not kept) |
//! | `xml` | `Root.child.leaf`, `*` wildcards; value `[attr='v']` sets an attribute | comments, layout |
//!
//! Missing keys are added (except for `file`, which only replaces existing lines).
//! An edit with `if_value` only applies where the key exists with exactly that value;
//! `if_value: "regex:PATTERN"` applies where the current value matches, replacing the
//! matched part.

mod file;
mod ini;
mod properties;
mod tree;
mod xml;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::ConfigParser;
use crate::render::Edit;

/// Files larger than this are not edited.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024 * 1024;

/// Applies `edits` to a config file's text (`None`: the file does not exist yet) and
/// returns the new text.
pub fn edit_text(parser: ConfigParser, current: Option<&str>, edits: &[Edit]) -> Result<String> {
    let text = current.unwrap_or("");
    if text.len() > MAX_CONFIG_BYTES {
        return Err(Error::edit(
            parser,
            format!(
                "the file is {} bytes; at most {MAX_CONFIG_BYTES} are edited",
                text.len()
            ),
        ));
    }
    match parser {
        ConfigParser::File => Ok(file::edit(text, edits)),
        ConfigParser::Properties => Ok(properties::edit(text, edits)),
        ConfigParser::Ini => Ok(ini::edit(text, edits)),
        ConfigParser::Json => tree::edit_json(text, edits),
        ConfigParser::Yaml => tree::edit_yaml(text, edits),
        ConfigParser::Xml => xml::edit(text, edits),
    }
}

/// An edit value as text (numbers and booleans as written in JSON).
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// What an edit writes given the current value (`None`: the key is absent), or `None`
/// to leave it alone.
pub(crate) fn decide(edit: &Edit, current: Option<&str>) -> Option<String> {
    let new = value_text(&edit.value);
    match (&edit.if_value, current) {
        (None, _) => Some(new),
        (Some(_), None) => None,
        (Some(condition), Some(current)) => match condition.strip_prefix("regex:") {
            Some(pattern) => {
                let re = regex::Regex::new(pattern).ok()?;
                re.is_match(current)
                    .then(|| re.replace_all(current, new.as_str()).into_owned())
            }
            None => (condition == current).then_some(new),
        },
    }
}

/// The line ending a file uses, so added lines match it.
pub(crate) fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edit(value: Value, if_value: Option<&str>) -> Edit {
        Edit {
            key: "k".into(),
            value,
            if_value: if_value.map(str::to_owned),
        }
    }

    #[test]
    fn conditions() {
        assert_eq!(decide(&edit(json!(5), None), None).as_deref(), Some("5"));
        assert_eq!(
            decide(&edit(json!("n"), Some("o")), Some("o")).as_deref(),
            Some("n")
        );
        assert_eq!(decide(&edit(json!("n"), Some("o")), Some("x")), None);
        assert_eq!(decide(&edit(json!("n"), Some("o")), None), None);
        assert_eq!(
            decide(
                &edit(json!("0.0.0.0:$1"), Some(r"regex:^[\d.]+:(\d+)$")),
                Some("127.0.0.1:25577")
            )
            .as_deref(),
            Some("0.0.0.0:25577")
        );
    }
}
