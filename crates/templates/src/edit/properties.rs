//! Java-style `.properties` files, edited line by line so comments, blank lines,
//! order and spacing survive. Values are written with Java's escapes (non-ASCII as
//! `\uXXXX`, as Pterodactyl does, since Java reads these files as ISO-8859-1).

use crate::render::Edit;

use super::{decide, line_ending};

/// One logical line: a `key=value` entry may continue over several physical lines.
struct Entry {
    /// Index of the first physical line.
    first: usize,
    /// Number of physical lines.
    count: usize,
    key: String,
    /// Byte offset in the first line where the value starts.
    value_at: usize,
    value: String,
}

pub(super) fn edit(text: &str, edits: &[Edit]) -> String {
    let eol = line_ending(text);
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let trailing_newline = text.ends_with('\n');
    if trailing_newline || text.is_empty() {
        lines.pop();
    }
    for edit in edits {
        let entries = entries(&lines);
        let matching: Vec<&Entry> = entries.iter().filter(|e| e.key == edit.key).collect();
        if matching.is_empty() {
            if let Some(value) = decide(edit, None) {
                lines.push(format!(
                    "{}={}",
                    escape(&edit.key, true),
                    escape(&value, false)
                ));
            }
            continue;
        }
        // Replace from the bottom so earlier indices stay valid.
        for entry in matching.iter().rev() {
            let Some(value) = decide(edit, Some(&entry.value)) else {
                continue;
            };
            let first = &lines[entry.first];
            let cr =
                if first.ends_with('\r') || lines[entry.first + entry.count - 1].ends_with('\r') {
                    "\r"
                } else {
                    ""
                };
            let prefix = &first[..entry.value_at];
            let separator = if prefix.ends_with(['=', ':', ' ', '\t']) {
                ""
            } else {
                "="
            };
            let replaced = format!("{prefix}{separator}{}{cr}", escape(&value, false));
            lines.splice(entry.first..entry.first + entry.count, [replaced]);
        }
    }
    let mut out = lines.join("\n");
    if trailing_newline || (text.is_empty() && !out.is_empty()) {
        out.push('\n');
    }
    if eol == "\r\n" {
        // Lines added above have no CR; give them the file's line ending.
        out = out.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    out
}

fn entries(lines: &[String]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end_matches('\r');
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') || body.starts_with('!') {
            i += 1;
            continue;
        }
        let mut count = 1;
        let mut logical = line.to_owned();
        while continues(&logical) && i + count < lines.len() {
            logical.pop();
            logical.push_str(lines[i + count].trim_end_matches('\r').trim_start());
            count += 1;
        }
        let (key, value_at) = split_key(line);
        let (_, logical_value_at) = split_key(&logical);
        out.push(Entry {
            first: i,
            count,
            key,
            value_at,
            value: unescape(&logical[logical_value_at..]),
        });
        i += count;
    }
    out
}

/// A line continues when it ends in an odd number of backslashes.
fn continues(line: &str) -> bool {
    line.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1
}

/// The unescaped key and the byte offset where the value starts.
fn split_key(line: &str) -> (String, usize) {
    let start = line.len() - line.trim_start().len();
    let mut key_end = line.len();
    let mut escaped = false;
    for (i, c) in line[start..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '=' | ':' | ' ' | '\t' | '\u{c}') {
            key_end = start + i;
            break;
        }
    }
    let key = unescape(&line[start..key_end]);
    let rest = &line[key_end..];
    let mut value_at = key_end + (rest.len() - rest.trim_start_matches([' ', '\t', '\u{c}']).len());
    if line[value_at..].starts_with(['=', ':']) {
        value_at += 1;
        let rest = &line[value_at..];
        value_at += rest.len() - rest.trim_start_matches([' ', '\t', '\u{c}']).len();
    }
    (key, value_at)
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let unit = u16::from_str_radix(&hex, 16).ok();
                let mut units = vec![];
                units.extend(unit);
                // A character outside the BMP is written as two escapes (a surrogate pair).
                if unit.is_some_and(|u| (0xD800..0xDC00).contains(&u))
                    && chars.as_str().starts_with("\\u")
                {
                    let low: String = chars.as_str().chars().skip(2).take(4).collect();
                    if let Ok(low) = u16::from_str_radix(&low, 16) {
                        units.push(low);
                        chars.by_ref().take(6).for_each(drop);
                    }
                }
                match (unit, String::from_utf16(&units)) {
                    (Some(_), Ok(decoded)) => out.push_str(&decoded),
                    _ => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn escape(text: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '=' | ':' if is_key => {
                out.push('\\');
                out.push(c);
            }
            '#' | '!' if is_key && i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for s in ["plain", " lead", "a\\b", "§ motd", "tab\there", "😀"] {
            assert_eq!(unescape(&escape(s, false)), s);
            assert_eq!(unescape(&escape(s, true)), s);
        }
        assert_eq!(escape("§a", false), "\\u00A7a");
    }

    #[test]
    fn key_shapes() {
        assert_eq!(split_key("a=b"), ("a".to_owned(), 2));
        assert_eq!(split_key("  a : b"), ("a".to_owned(), 6));
        assert_eq!(split_key("a b"), ("a".to_owned(), 2));
        assert_eq!(split_key("a\\=x=b"), ("a=x".to_owned(), 5));
        assert_eq!(split_key("empty="), ("empty".to_owned(), 6));
    }
}
