//! The `file` parser: a line that starts with the find text is replaced by the value.

use crate::render::Edit;

use super::value_text;

pub(super) fn edit(text: &str, edits: &[Edit]) -> String {
    text.split('\n')
        .map(|raw| {
            let (line, cr) = match raw.strip_suffix('\r') {
                Some(line) => (line, "\r"),
                None => (raw, ""),
            };
            // As in Pterodactyl, every edit is tested against the original line and the
            // last one that matches wins. An empty find text would match every line.
            match edits
                .iter()
                .rev()
                .find(|e| !e.key.is_empty() && line.starts_with(e.key.as_str()))
            {
                Some(edit) => format!("{}{cr}", value_text(&edit.value)),
                None => raw.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
