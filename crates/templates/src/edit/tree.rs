//! JSON and YAML files, edited as ordered trees.
//!
//! Paths are dotted (`a.b.c`); `name[2]` indexes a list; `*` applies the rest of the
//! path to every child (`servers.*.address`). `~1` stands for a literal dot in a key
//! and `~0` for `~`. Missing mappings along the path are created.
//!
//! A text value replacing an existing number or boolean is written as a number or
//! boolean when it reads as one; a text value for a new key that reads as a whole
//! number is written as a number (as Pterodactyl does, so `"{{server.build.default.port}}"`
//! becomes `25565`); existing text stays text.

use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::ConfigParser;
use crate::node::{parse_json, parse_yaml, Node};
use crate::render::Edit;

use super::decide;

pub(super) fn edit_json(text: &str, edits: &[Edit]) -> Result<String> {
    let parser = ConfigParser::Json;
    let mut root = if text.trim().is_empty() {
        Node::Map(IndexMap::new())
    } else {
        parse_json(text)
            .map_err(|e| Error::edit(parser, format!("the file is not valid JSON: {e}")))?
    };
    apply_all(&mut root, edits, parser)?;
    let indent = detect_indent(text).unwrap_or_else(|| "    ".to_owned());
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&root, &mut serializer)
        .map_err(|e| Error::edit(parser, e.to_string()))?;
    let mut out = String::from_utf8(out).map_err(|e| Error::edit(parser, e.to_string()))?;
    out.push('\n');
    Ok(out)
}

pub(super) fn edit_yaml(text: &str, edits: &[Edit]) -> Result<String> {
    let parser = ConfigParser::Yaml;
    let mut root = match parse_yaml(text) {
        Ok(Node::Null) => Node::Map(IndexMap::new()),
        Ok(node) => node,
        Err(_) if text.trim().is_empty() => Node::Map(IndexMap::new()),
        Err(e) => {
            return Err(Error::edit(
                parser,
                format!("the file is not valid YAML: {e}"),
            ))
        }
    };
    apply_all(&mut root, edits, parser)?;
    yaml_serde::to_string(&root).map_err(|e| Error::edit(parser, e.to_string()))
}

/// The indentation of the first indented line, if the file has one.
fn detect_indent(text: &str) -> Option<String> {
    text.lines()
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .find(|ws| !ws.is_empty())
        .map(str::to_owned)
}

fn apply_all(root: &mut Node, edits: &[Edit], parser: ConfigParser) -> Result<()> {
    for edit in edits {
        let segments = segments(&edit.key);
        set(root, &segments, edit)
            .map_err(|m| Error::edit(parser, format!("{}: {m}", edit.key)))?;
    }
    Ok(())
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(String, usize),
    Wildcard,
}

fn segments(path: &str) -> Vec<Segment> {
    path.split('.')
        .map(|part| {
            let part = part.replace("~1", ".").replace("~0", "~");
            if part == "*" {
                return Segment::Wildcard;
            }
            if let Some(open) = part.find('[') {
                if let Some(index) = part[open + 1..]
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    return Segment::Index(part[..open].to_owned(), index);
                }
            }
            Segment::Key(part)
        })
        .collect()
}

fn set(node: &mut Node, path: &[Segment], edit: &Edit) -> std::result::Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        let current = match &*node {
            Node::Null => None,
            other => other.scalar_text(),
        };
        if let Some(value) = decide(edit, current.as_deref()) {
            *node = typed(&edit.value, value, node);
        }
        return Ok(());
    };
    // Conditional edits never create anything.
    let may_create = edit.if_value.is_none();
    match first {
        Segment::Wildcard => {
            let children: Vec<&mut Node> = match node {
                Node::Map(map) => map.values_mut().collect(),
                Node::List(items) => items.iter_mut().collect(),
                _ => Vec::new(),
            };
            for child in children {
                if rest.is_empty() || matches!(child, Node::Map(_) | Node::List(_)) {
                    set(child, rest, edit)?;
                }
            }
            Ok(())
        }
        Segment::Key(key) => {
            let map = as_map(node, key, may_create)?;
            let Some(map) = map else { return Ok(()) };
            if !map.contains_key(key) {
                if !may_create {
                    return Ok(());
                }
                map.insert(key.clone(), Node::Null);
            }
            match map.get_mut(key) {
                Some(child) => set(child, rest, edit),
                None => Ok(()),
            }
        }
        Segment::Index(key, index) => {
            let Some(map) = as_map(node, key, may_create)? else {
                return Ok(());
            };
            let list = map.entry(key.clone()).or_insert(Node::Null);
            if matches!(list, Node::Null) && may_create {
                *list = Node::List(Vec::new());
            }
            let Node::List(items) = list else {
                return Err(format!("{key} is {}, not a list", list.kind()));
            };
            if *index == items.len() && may_create {
                items.push(Node::Null);
            }
            match items.get_mut(*index) {
                Some(child) => set(child, rest, edit),
                None if may_create => {
                    Err(format!("{key} has no item {index} and it cannot be added"))
                }
                None => Ok(()),
            }
        }
    }
}

/// The node as a mapping, turning null into an empty mapping when allowed.
fn as_map<'a>(
    node: &'a mut Node,
    key: &str,
    may_create: bool,
) -> std::result::Result<Option<&'a mut IndexMap<String, Node>>, String> {
    if matches!(node, Node::Null) {
        if !may_create {
            return Ok(None);
        }
        *node = Node::Map(IndexMap::new());
    }
    match node {
        Node::Map(map) => Ok(Some(map)),
        other => Err(format!("cannot set {key} inside {}", other.kind())),
    }
}

/// The node to write: see the module docs for how text becomes a number or boolean.
fn typed(original: &Value, text: String, existing: &Node) -> Node {
    match original {
        Value::Bool(_) | Value::Number(_) if text == super::value_text(original) => {
            return Node::from_json(original)
        }
        _ => {}
    }
    match existing {
        Node::String(_) => Node::String(text),
        Node::Bool(_) => match text.as_str() {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            _ => Node::String(text),
        },
        Node::Number(_) => match serde_json::from_str::<serde_json::Number>(text.trim()) {
            Ok(n) => Node::Number(n),
            Err(_) => Node::String(text),
        },
        _ => match text.parse::<i64>() {
            Ok(n) if n.to_string() == text => Node::Number(n.into()),
            _ => Node::String(text),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments() {
        assert_eq!(
            segments("listeners[0].host"),
            [
                Segment::Index("listeners".into(), 0),
                Segment::Key("host".into())
            ]
        );
        assert_eq!(
            segments("servers.*.address"),
            [
                Segment::Key("servers".into()),
                Segment::Wildcard,
                Segment::Key("address".into())
            ]
        );
        assert_eq!(segments("a~1b"), [Segment::Key("a.b".into())]);
    }
}
