//! An order-preserving document tree shared by the egg importer and the JSON/YAML
//! config-file editors.
//!
//! `serde_json::Value` sorts object keys (the workspace does not enable
//! `preserve_order`), but key order carries meaning in eggs (the first Docker image is
//! the default, `find` edits apply in order) and users expect their config files to keep
//! their layout, so both JSON and YAML are read into this type instead.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

/// A JSON/YAML value whose mappings keep their source order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Node>),
    Map(IndexMap<String, Node>),
}

impl Node {
    /// The name of this value's type, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::List(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// Scalars as the text a person would write; `None` for lists and mappings.
    pub(crate) fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Null => Some(String::new()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Number(n) => Some(n.to_string()),
            Node::String(s) => Some(s.clone()),
            Node::List(_) | Node::Map(_) => None,
        }
    }

    pub(crate) fn from_json(value: &serde_json::Value) -> Node {
        match value {
            serde_json::Value::Null => Node::Null,
            serde_json::Value::Bool(b) => Node::Bool(*b),
            serde_json::Value::Number(n) => Node::Number(n.clone()),
            serde_json::Value::String(s) => Node::String(s.clone()),
            serde_json::Value::Array(items) => {
                Node::List(items.iter().map(Node::from_json).collect())
            }
            serde_json::Value::Object(map) => Node::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Null => serde_json::Value::Null,
            Node::Bool(b) => serde_json::Value::Bool(*b),
            Node::Number(n) => serde_json::Value::Number(n.clone()),
            Node::String(s) => serde_json::Value::String(s.clone()),
            Node::List(items) => {
                serde_json::Value::Array(items.iter().map(Node::to_json).collect())
            }
            Node::Map(map) => serde_json::Value::Object(
                map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(s) => serializer.serialize_str(s),
            Node::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON or YAML value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("numbers must be finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Node, A::Error> {
        let mut map = IndexMap::new();
        while let Some(key) = access.next_key::<Key>()? {
            let value = access.next_value()?;
            map.insert(key.0, value);
        }
        Ok(Node::Map(map))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // YAML tags (`!foo bar`) arrive as enums; keep the tagged value.
        let (_tag, variant) = data.variant::<Key>()?;
        de::VariantAccess::newtype_variant(variant)
    }
}

/// A mapping key: YAML allows scalars of any type as keys, JSON only strings.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Node::deserialize(deserializer)? {
            Node::List(_) | Node::Map(_) => Err(de::Error::custom(
                "mapping keys must be scalars (text, numbers or booleans)",
            )),
            scalar => Ok(Key(scalar.scalar_text().unwrap_or_default())),
        }
    }
}

/// Parse JSON text into an ordered tree.
pub(crate) fn parse_json(text: &str) -> Result<Node, serde_json::Error> {
    serde_json::from_str(text)
}

/// Parse YAML text into an ordered tree.
pub(crate) fn parse_yaml(text: &str) -> Result<Node, yaml_serde::Error> {
    yaml_serde::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order() {
        let node = parse_json(r#"{"b": 1, "a": [true, null, "x"], "c": {"z": 1.5, "y": -2}}"#)
            .expect("valid json");
        let Node::Map(map) = &node else {
            panic!("expected a map, got {node:?}")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(
            serde_json::to_string(&node).expect("serialises"),
            r#"{"b":1,"a":[true,null,"x"],"c":{"z":1.5,"y":-2}}"#
        );
    }

    #[test]
    fn yaml_scalar_keys_become_text() {
        let node = parse_yaml("2: two\ntrue: yes\nname: x\n").expect("valid yaml");
        let Node::Map(map) = node else {
            panic!("expected a map")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["2", "true", "name"]);
    }
}
