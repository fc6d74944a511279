//! Writing the model as a PTDL_v2 egg.

use indexmap::IndexMap;
use serde::Serialize;

use crate::model::{Alt, Replacement, Variable, DEFAULT_STARTUP_LABEL};
use crate::node::Node;

/// Exports a template as a PTDL_v2 egg (pretty JSON, as Pterodactyl writes it).
///
/// `exported_at` is written verbatim; Pterodactyl uses ISO 8601, e.g.
/// `2024-02-13T17:26:13+00:00`. The result keeps the order of Docker images, startup
/// commands, variables and config edits.
pub fn export_ptdl_v2(alt: &Alt, exported_at: &str) -> String {
    let mut sections = Sections::split(&alt.extra);

    let mut meta = map([
        ("version", text("PTDL_v2")),
        ("update_url", opt_text(&alt.update_url)),
    ]);
    meta.extend(sections.take("meta"));

    let mut root = map([
        (
            "_comment",
            text("DO NOT EDIT: FILE GENERATED AUTOMATICALLY BY CTRL-ALT-PLAY PANEL"),
        ),
        ("meta", Node::Map(meta)),
        ("exported_at", text(exported_at)),
        ("name", text(&alt.name)),
        ("author", text(&alt.author)),
    ]);
    if let Some(uuid) = &alt.uuid {
        root.insert("uuid".into(), text(uuid));
    }
    root.insert("description".into(), opt_text(&alt.description));
    if !alt.tags.is_empty() {
        root.insert("tags".into(), text_list(&alt.tags));
    }
    root.insert(
        "features".into(),
        alt.features
            .as_ref()
            .map(|f| text_list(f))
            .unwrap_or(Node::Null),
    );
    root.insert(
        "docker_images".into(),
        Node::Map(
            alt.docker_images
                .iter()
                .map(|(k, v)| (k.clone(), text(v)))
                .collect(),
        ),
    );
    root.insert("file_denylist".into(), text_list(&alt.file_denylist));
    if !alt.extra_port_offsets.is_empty() {
        root.insert(
            "extra_port_offsets".into(),
            Node::List(
                alt.extra_port_offsets
                    .iter()
                    .map(|offset| Node::Number((*offset).into()))
                    .collect(),
            ),
        );
    }
    if let Some(query) = &alt.game_query {
        root.insert(
            "game_query".into(),
            Node::from_json(&serde_json::to_value(query).unwrap_or_default()),
        );
    }
    root.insert("startup".into(), text(alt.startup()));
    let only_default = alt.startup_commands.len() == 1
        && alt
            .startup_commands
            .first()
            .map(|(label, _)| label.as_str())
            == Some(DEFAULT_STARTUP_LABEL);
    if !only_default {
        root.insert(
            "startup_commands".into(),
            Node::Map(
                alt.startup_commands
                    .iter()
                    .map(|(k, v)| (k.clone(), text(v)))
                    .collect(),
            ),
        );
    }

    let mut config = map([
        ("files", text(&embedded(&config_files(alt)))),
        ("startup", text(&embedded(&startup(alt)))),
        ("logs", text(&embedded(&logs(alt)))),
        ("stop", text(alt.stop.as_egg_str())),
    ]);
    config.extend(sections.take("config"));
    root.insert("config".into(), Node::Map(config));

    let mut installation = map([
        ("script", text(&alt.install.script)),
        ("container", text(&alt.install.container)),
        ("entrypoint", text(&alt.install.entrypoint)),
    ]);
    installation.extend(sections.take("scripts.installation"));
    let mut scripts = map([("installation", Node::Map(installation))]);
    scripts.extend(sections.take("scripts"));
    root.insert("scripts".into(), Node::Map(scripts));

    root.insert(
        "variables".into(),
        Node::List(alt.variables.iter().map(variable).collect()),
    );
    root.extend(sections.top);

    pretty(&Node::Map(root))
}

/// `Alt::extra` split back into the sections its dotted keys name.
struct Sections {
    top: IndexMap<String, Node>,
    nested: Vec<(String, String, Node)>,
}

impl Sections {
    const NESTED: [&'static str; 4] = ["scripts.installation", "scripts", "config", "meta"];

    fn split(extra: &crate::model::Extra) -> Sections {
        let mut top = IndexMap::new();
        let mut nested = Vec::new();
        for (key, value) in extra {
            let section = Self::NESTED.iter().find_map(|section| {
                key.strip_prefix(section)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .map(|rest| (*section, rest))
            });
            match section {
                Some((section, rest)) => {
                    nested.push((section.to_owned(), rest.to_owned(), Node::from_json(value)))
                }
                None => {
                    top.insert(key.clone(), Node::from_json(value));
                }
            }
        }
        Sections { top, nested }
    }

    fn take(&mut self, section: &str) -> IndexMap<String, Node> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.nested)
            .into_iter()
            .partition(|(s, _, _)| s == section);
        self.nested = rest;
        mine.into_iter().map(|(_, k, v)| (k, v)).collect()
    }
}

fn config_files(alt: &Alt) -> Node {
    Node::Map(
        alt.config_files
            .iter()
            .map(|file| {
                let mut spec = map([
                    ("parser", text(file.parser.as_str())),
                    (
                        "find",
                        Node::Map(
                            file.find
                                .iter()
                                .map(|(k, r)| (k.clone(), replacement(r)))
                                .collect(),
                        ),
                    ),
                ]);
                spec.extend(
                    file.extra
                        .iter()
                        .map(|(k, v)| (k.clone(), Node::from_json(v))),
                );
                (file.path.clone(), Node::Map(spec))
            })
            .collect(),
    )
}

fn replacement(r: &Replacement) -> Node {
    match r {
        Replacement::Value(v) => Node::from_json(v),
        Replacement::Conditional(map) => Node::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), Node::from_json(v)))
                .collect(),
        ),
    }
}

fn startup(alt: &Alt) -> Node {
    let detection = &alt.startup_detection;
    let mut out = IndexMap::new();
    match detection.done.as_slice() {
        [] => {}
        [one] => {
            out.insert("done".to_owned(), text(&one.to_egg_string()));
        }
        many => {
            out.insert(
                "done".to_owned(),
                Node::List(many.iter().map(|p| text(&p.to_egg_string())).collect()),
            );
        }
    }
    if let Some(strip) = detection.strip_ansi {
        out.insert("strip_ansi".to_owned(), Node::Bool(strip));
    }
    out.extend(
        detection
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), Node::from_json(v))),
    );
    Node::Map(out)
}

fn logs(alt: &Alt) -> Node {
    let mut out = IndexMap::new();
    if let Some(custom) = alt.logs.custom {
        out.insert("custom".to_owned(), Node::Bool(custom));
    }
    if let Some(location) = &alt.logs.location {
        out.insert("location".to_owned(), text(location));
    }
    out.extend(
        alt.logs
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), Node::from_json(v))),
    );
    Node::Map(out)
}

fn variable(v: &Variable) -> Node {
    let rules = if v.rules.needs_list_form() {
        text_list(&v.rules.texts())
    } else {
        text(&v.rules.to_pipe_string())
    };
    let mut out = map([
        ("name", text(&v.name)),
        ("description", text(&v.description)),
        ("env_variable", text(&v.env_variable)),
        ("default_value", text(&v.default_value)),
        ("user_viewable", Node::Bool(v.user_viewable)),
        ("user_editable", Node::Bool(v.user_editable)),
        ("rules", rules),
    ]);
    if let Some(field_type) = &v.field_type {
        out.insert("field_type".into(), text(field_type));
    }
    if let Some(sort) = v.sort {
        out.insert("sort".into(), Node::Number(sort.into()));
    }
    out.extend(v.extra.iter().map(|(k, v)| (k.clone(), Node::from_json(v))));
    Node::Map(out)
}

fn map<const N: usize>(entries: [(&str, Node); N]) -> IndexMap<String, Node> {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn text(s: &str) -> Node {
    Node::String(s.to_owned())
}

fn opt_text(s: &Option<String>) -> Node {
    s.as_deref().map(text).unwrap_or(Node::Null)
}

fn text_list<S: AsRef<str>>(items: &[S]) -> Node {
    Node::List(items.iter().map(|s| text(s.as_ref())).collect())
}

/// JSON held in a string, formatted as Pterodactyl stores it.
fn embedded(node: &Node) -> String {
    match node {
        Node::Map(map) if map.is_empty() => "{}".to_owned(),
        other => pretty(other),
    }
}

/// Four-space indented JSON, as PHP's `JSON_PRETTY_PRINT` writes.
pub(crate) fn pretty(node: &Node) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising an in-memory tree of strings, numbers and maps into a Vec cannot fail.
    if node.serialize(&mut serializer).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}
