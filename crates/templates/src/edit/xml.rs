//! XML files, edited as a tree that keeps comments and layout.
//!
//! `Root.child.leaf` addresses elements from the document element down (`*` matches
//! any element). The value replaces the element's text, or, written as
//! `[name='value']`, sets an attribute. Missing elements on a path without wildcards
//! are created.

use xot::{Node, Xot};

use crate::error::{Error, Result};
use crate::model::ConfigParser;
use crate::render::Edit;

use super::{decide, value_text};

const DECLARATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

pub(super) fn edit(text: &str, edits: &[Edit]) -> Result<String> {
    let fail = |m: String| Error::edit(ConfigParser::Xml, m);
    let mut xot = Xot::new();
    let trimmed = text.trim_start_matches('\u{feff}');
    let declaration = if trimmed.trim().is_empty() {
        Some(DECLARATION.to_owned())
    } else {
        trimmed.trim_start().strip_prefix("<?xml").and_then(|rest| {
            rest.find("?>")
                .map(|end| format!("<?xml{}?>", &rest[..end]))
        })
    };
    let doc = if trimmed.trim().is_empty() {
        let root_name = edits
            .first()
            .and_then(|e| e.key.split('.').next())
            .filter(|n| !n.is_empty() && *n != "*")
            .unwrap_or("root");
        let name = xot.add_name(root_name);
        let root = xot.new_element(name);
        xot.new_document_with_element(root)
            .map_err(|e| fail(e.to_string()))?
    } else {
        xot.parse(trimmed)
            .map_err(|e| fail(format!("the file is not valid XML: {e}")))?
    };
    let root = xot.document_element(doc).map_err(|e| fail(e.to_string()))?;

    for edit in edits {
        let parts: Vec<&str> = edit.key.split('.').collect();
        if !parts.contains(&"*") && edit.if_value.is_none() {
            create_path(&mut xot, root, &parts).map_err(fail)?;
        }
        for element in find(&xot, root, &parts) {
            apply(&mut xot, element, edit).map_err(fail)?;
        }
    }

    let body = xot.to_string(doc).map_err(|e| fail(e.to_string()))?;
    let mut out = match declaration {
        Some(declaration) => format!("{declaration}\n{}", body.trim_start()),
        None => body,
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

fn local_name(xot: &Xot, node: Node) -> Option<&str> {
    xot.element(node).map(|e| xot.local_name_str(e.name()))
}

fn child_elements(xot: &Xot, node: Node, name: &str) -> Vec<Node> {
    xot.children(node)
        .filter(|&c| local_name(xot, c).is_some_and(|n| name == "*" || n == name))
        .collect()
}

fn find(xot: &Xot, root: Node, parts: &[&str]) -> Vec<Node> {
    let Some((first, rest)) = parts.split_first() else {
        return Vec::new();
    };
    if !local_name(xot, root).is_some_and(|n| *first == "*" || n == *first) {
        return Vec::new();
    }
    rest.iter().fold(vec![root], |current, part| {
        current
            .into_iter()
            .flat_map(|node| child_elements(xot, node, part))
            .collect()
    })
}

fn create_path(xot: &mut Xot, root: Node, parts: &[&str]) -> std::result::Result<(), String> {
    if parts
        .first()
        .is_some_and(|first| local_name(xot, root) != Some(*first))
    {
        return Ok(());
    }
    let mut node = root;
    for part in parts.iter().skip(1) {
        node = match child_elements(xot, node, part).first() {
            Some(&existing) => existing,
            None => {
                let name = xot.add_name(part);
                let element = xot.new_element(name);
                xot.append(node, element).map_err(|e| e.to_string())?;
                element
            }
        };
    }
    Ok(())
}

/// `[name='value']` sets an attribute rather than the text.
fn attribute_form(value: &str) -> Option<(&str, &str)> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    let (name, quoted) = inner.split_once('=')?;
    let literal = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some((name, literal))
}

fn apply(xot: &mut Xot, element: Node, edit: &Edit) -> std::result::Result<(), String> {
    let raw = value_text(&edit.value);
    if let Some((attr, literal)) = attribute_form(&raw) {
        let name = xot.add_name(attr);
        let current = xot.get_attribute(element, name).map(str::to_owned);
        let literal_edit = Edit {
            value: serde_json::Value::String(literal.to_owned()),
            ..edit.clone()
        };
        if let Some(value) = decide(&literal_edit, current.as_deref()) {
            xot.set_attribute(element, name, value);
        }
        return Ok(());
    }
    let current = xot
        .text_content_str(element)
        .map(str::to_owned)
        .unwrap_or_default();
    let Some(value) = decide(edit, Some(&current)) else {
        return Ok(());
    };
    let children: Vec<Node> = xot.children(element).collect();
    for child in children {
        xot.remove(child).map_err(|e| e.to_string())?;
    }
    if !value.is_empty() {
        xot.append_text(element, &value)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
