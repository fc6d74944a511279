//! INI files, edited line by line so comments, order and spacing survive.
//!
//! A key without a dot is in the part before the first `[section]`; `section.key` is
//! `key` in `[section]`; a section name containing dots is bracketed: `[a.b].key`.

use crate::render::Edit;

use super::{decide, line_ending};

pub(super) fn edit(text: &str, edits: &[Edit]) -> String {
    let eol = line_ending(text);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for edit in edits {
        let (section, key) = split_path(&edit.key);
        apply(&mut lines, &section, &key, edit);
    }
    let mut out = lines.join(eol);
    if !out.is_empty() {
        out.push_str(eol);
    }
    out
}

/// Splits `section.key` the way Pterodactyl does: the first dot outside brackets
/// separates section from key, brackets are dropped.
fn split_path(path: &str) -> (String, String) {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 && parts.is_empty() => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    match parts.as_slice() {
        [section, key] => (section.clone(), key.clone()),
        _ => (String::new(), parts.concat()),
    }
}

fn section_header(line: &str) -> Option<&str> {
    let t = line.trim();
    t.strip_prefix('[')?.strip_suffix(']').map(str::trim)
}

fn key_of(line: &str) -> Option<(&str, usize)> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with([';', '#']) || section_header(line).is_some() {
        return None;
    }
    let at = line.find(['=', ':'])?;
    let mut value_at = at + 1;
    value_at += line[value_at..].len() - line[value_at..].trim_start().len();
    Some((line[..at].trim(), value_at))
}

fn apply(lines: &mut Vec<String>, section: &str, key: &str, edit: &Edit) {
    // The line range of the section's body: [start, end).
    let (start, end) = if section.is_empty() {
        (
            0,
            lines
                .iter()
                .position(|l| section_header(l).is_some())
                .unwrap_or(lines.len()),
        )
    } else {
        match lines
            .iter()
            .position(|l| section_header(l) == Some(section))
        {
            Some(header) => {
                let end = lines[header + 1..]
                    .iter()
                    .position(|l| section_header(l).is_some())
                    .map_or(lines.len(), |p| header + 1 + p);
                (header + 1, end)
            }
            None => {
                if let Some(value) = decide(edit, None) {
                    if lines.last().is_some_and(|l| !l.trim().is_empty()) {
                        lines.push(String::new());
                    }
                    lines.push(format!("[{section}]"));
                    lines.push(format!("{key}={value}"));
                }
                return;
            }
        }
    };
    let mut found = false;
    for line in &mut lines[start..end] {
        let Some((k, value_at)) = key_of(line) else {
            continue;
        };
        if k != key {
            continue;
        }
        found = true;
        let current = line[value_at..].trim_end();
        if let Some(value) = decide(edit, Some(current)) {
            *line = format!("{}{value}", &line[..value_at]);
        }
    }
    if !found {
        if let Some(value) = decide(edit, None) {
            // After the section's last non-blank line.
            let at = (start..end)
                .rev()
                .find(|&i| !lines[i].trim().is_empty())
                .map_or(start, |i| i + 1);
            lines.insert(at, format!("{key}={value}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(split_path("key"), (String::new(), "key".into()));
        assert_eq!(split_path("sec.key"), ("sec".into(), "key".into()));
        assert_eq!(
            split_path("sec.key.more"),
            ("sec".into(), "key.more".into())
        );
        assert_eq!(split_path("[a.b].key"), ("a.b".into(), "key".into()));
    }
}
