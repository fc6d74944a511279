//! Reading eggs into the model.

use std::fmt;

use indexmap::IndexMap;

use crate::error::{Error, Result};
use crate::model::{
    Alt, ConfigFile, ConfigParser, DonePattern, Extra, InstallScript, LogsConfig, Replacement,
    StartupDetection, StopAction, Variable, DEFAULT_STARTUP_LABEL,
};
use crate::node::{parse_json, parse_yaml, Node};
use crate::rules::Rules;

/// Eggs larger than this are refused (real eggs are well under 1 MiB, even with
/// Pelican's embedded icon).
pub const MAX_EGG_BYTES: usize = 8 * 1024 * 1024;

/// The egg format an import was read from (`meta.version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EggFormat {
    /// Pterodactyl before 1.6: one `image` (or an `images` list).
    PtdlV1,
    /// Pterodactyl 1.6+: `docker_images` by label.
    PtdlV2,
    /// Pelican, first format (PTDL_v2 shape).
    PlcnV1,
    /// Pelican, second format.
    PlcnV2,
    /// Pelican, current format: `startup_commands`, list rules, nested config.
    PlcnV3,
}

impl EggFormat {
    fn parse(version: &str) -> Option<EggFormat> {
        Some(match version {
            "PTDL_v1" => EggFormat::PtdlV1,
            "PTDL_v2" => EggFormat::PtdlV2,
            "PLCN_v1" => EggFormat::PlcnV1,
            "PLCN_v2" => EggFormat::PlcnV2,
            "PLCN_v3" => EggFormat::PlcnV3,
            _ => return None,
        })
    }
}

/// Something in an egg that was imported but deserves an admin's attention, e.g. a
/// validation rule that cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    /// Where, e.g. `variables[2].rules` (with the variable's env name in the message).
    pub field: String,
    /// What.
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The result of a successful import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The template.
    pub alt: Alt,
    /// The format it was read from.
    pub format: EggFormat,
    /// Things that were kept but need attention.
    pub warnings: Vec<ImportWarning>,
}

/// Imports an egg from its text: JSON (PTDL_v1, PTDL_v2, PLCN) or YAML (PLCN).
///
/// Pass the text as received: parsing it here keeps the order of Docker images and
/// config edits, which a `serde_json::Value` would sort. Malformed input gives an
/// [`Error`] naming the field; nothing is partially imported.
pub fn import_egg(text: &str) -> Result<Imported> {
    if text.len() > MAX_EGG_BYTES {
        return Err(Error::field(
            "(document)",
            format!(
                "is {} bytes; eggs may be at most {MAX_EGG_BYTES}",
                text.len()
            ),
        ));
    }
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(Error::field("(document)", "is empty"));
    }
    let root = if trimmed.starts_with('{') {
        parse_json(trimmed).map_err(|e| Error::Syntax {
            format: "JSON",
            message: e.to_string(),
        })?
    } else {
        parse_yaml(trimmed).map_err(|e| Error::Syntax {
            format: "YAML",
            message: e.to_string(),
        })?
    };
    Importer::default().run(&root)
}

#[derive(Default)]
struct Importer {
    warnings: Vec<ImportWarning>,
}

/// A mapping being read, remembering which keys were used so the rest can be kept.
struct Fields<'a> {
    map: &'a IndexMap<String, Node>,
    path: String,
    used: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    fn new(node: &'a Node, path: &str) -> Result<Fields<'a>> {
        match node {
            Node::Map(map) => Ok(Fields {
                map,
                path: path.to_owned(),
                used: Vec::new(),
            }),
            other => Err(Error::field(
                display_path(path),
                format!("must be a mapping, not {}", other.kind()),
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Node> {
        self.used.push(key);
        self.map.get(key).filter(|n| !matches!(n, Node::Null))
    }

    fn required(&mut self, key: &'static str) -> Result<&'a Node> {
        self.get(key)
            .ok_or_else(|| Error::field(self.at(key), "is missing"))
    }

    fn text(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(node) => node.scalar_text().map(Some).ok_or_else(|| {
                Error::field(self.at(key), format!("must be text, not {}", node.kind()))
            }),
        }
    }

    fn required_text(&mut self, key: &'static str) -> Result<String> {
        self.required(key)?;
        self.text(key).map(Option::unwrap_or_default)
    }

    fn flag(&mut self, key: &'static str) -> Result<bool> {
        let at = self.at(key);
        match self.get(key) {
            None => Ok(false),
            Some(Node::Bool(b)) => Ok(*b),
            Some(node) => match node.scalar_text().as_deref() {
                Some("1") | Some("true") => Ok(true),
                Some("0") | Some("false") | Some("") => Ok(false),
                _ => Err(Error::field(
                    at,
                    format!("must be true or false, not {}", node.kind()),
                )),
            },
        }
    }

    fn text_list(&mut self, key: &'static str) -> Result<Option<Vec<String>>> {
        let at = self.at(key);
        match self.get(key) {
            None => Ok(None),
            Some(node) => list_of_text(node, &at).map(Some),
        }
    }

    /// The keys not read, with `prefix` (for keys kept in [`Alt::extra`]).
    fn rest(&self, prefix: &str) -> Extra {
        self.map
            .iter()
            .filter(|(k, _)| !self.used.contains(&k.as_str()))
            .map(|(k, v)| (format!("{prefix}{k}"), v.to_json()))
            .collect()
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(document)".to_owned()
    } else {
        path.to_owned()
    }
}

/// A list of text; PHP's YAML dumper writes an empty list as `{}`.
fn list_of_text(node: &Node, at: &str) -> Result<Vec<String>> {
    match node {
        Node::Null => Ok(Vec::new()),
        Node::Map(map) if map.is_empty() => Ok(Vec::new()),
        Node::List(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.scalar_text().ok_or_else(|| {
                    Error::field(
                        format!("{at}[{i}]"),
                        format!("must be text, not {}", item.kind()),
                    )
                })
            })
            .collect(),
        other => Err(Error::field(
            at,
            format!("must be a list, not {}", other.kind()),
        )),
    }
}

/// `config.files`, `config.startup` and `config.logs` are JSON held in a string in
/// Pterodactyl eggs, and plain mappings in Pelican YAML. PHP writes an empty object as
/// `[]`.
fn embedded_mapping(node: Option<&Node>, at: &str) -> Result<Node> {
    let empty = || Node::Map(IndexMap::new());
    let parsed = match node {
        None => return Ok(empty()),
        Some(Node::String(text)) if text.trim().is_empty() => return Ok(empty()),
        Some(Node::String(text)) => {
            parse_json(text).map_err(|e| Error::field(at, format!("invalid JSON: {e}")))?
        }
        Some(other) => other.clone(),
    };
    match parsed {
        Node::Null => Ok(empty()),
        Node::List(items) if items.is_empty() => Ok(empty()),
        map @ Node::Map(_) => Ok(map),
        other => Err(Error::field(
            at,
            format!("must be a JSON object, not {}", other.kind()),
        )),
    }
}

impl Importer {
    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ImportWarning {
            field: field.into(),
            message: message.into(),
        });
    }

    fn run(mut self, root: &Node) -> Result<Imported> {
        let mut top = Fields::new(root, "")?;
        let mut meta = Fields::new(top.required("meta")?, "meta")?;
        let version = meta.required_text("version")?;
        let format = EggFormat::parse(&version).ok_or_else(|| {
            Error::field(
                "meta.version",
                format!("{version:?} is not a known egg format (PTDL_v1, PTDL_v2, PLCN_v1, PLCN_v2, PLCN_v3)"),
            )
        })?;
        let update_url = meta.text("update_url")?;
        let mut extra = meta.rest("meta.");

        // Representational only: regenerated on export.
        top.get("_comment");
        top.get("exported_at");

        let name = top.required_text("name")?;
        let author = top.text("author")?.unwrap_or_default();
        let description = top.text("description")?;
        let uuid = top.text("uuid")?;
        let tags = top.text_list("tags")?.unwrap_or_default();
        let features = top.text_list("features")?;
        let docker_images = self.docker_images(&mut top, format)?;
        let file_denylist = file_denylist(&mut top)?;
        let startup_commands = startup_commands(&mut top)?;
        let extra_port_offsets = top
            .text_list("extra_port_offsets")?
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, offset)| {
                offset.parse().map_err(|_| {
                    Error::field(
                        format!("extra_port_offsets[{i}]"),
                        "must be a whole number of ports",
                    )
                })
            })
            .collect::<Result<_>>()?;

        let game_query = top
            .get("game_query")
            .filter(|node| !matches!(node, Node::Null))
            .map(|node| {
                serde_json::from_value(node.to_json())
                    .map_err(|e| Error::field("game_query", e.to_string()))
            })
            .transpose()?;

        let mut config = Fields::new(top.required("config")?, "config")?;
        let stop_text = match config.required("stop")? {
            Node::String(text) => text.clone(),
            other => {
                return Err(Error::field(
                    "config.stop",
                    format!(
                        "must be a console command or a signal such as ^C, not {}",
                        other.kind()
                    ),
                ))
            }
        };
        let stop: StopAction = stop_text
            .parse()
            .map_err(|m: String| Error::field("config.stop", m))?;
        if matches!(&stop, StopAction::Command(command) if command.starts_with('^')) {
            self.warn(
                "config.stop",
                format!("{stop_text:?} is not a signal; it is written to the console to stop the server"),
            );
        }
        let startup_detection = startup_detection(config.get("startup"))?;
        let config_files = config_files(config.get("files"))?;
        let logs = logs(config.get("logs"))?;
        extra.extend(config.rest("config."));

        let (install, install_extra) = match top.get("scripts") {
            None => (InstallScript::default(), Extra::new()),
            Some(node) => install_script(node)?,
        };
        extra.extend(install_extra);

        let variables = self.variables(top.get("variables"))?;
        let mut top_extra = top.rest("");
        top_extra.extend(extra);

        let mut alt = Alt {
            name,
            author,
            description,
            uuid,
            update_url,
            tags,
            features,
            docker_images,
            file_denylist,
            startup_commands,
            stop,
            startup_detection,
            config_files,
            logs,
            install,
            variables,
            extra_port_offsets,
            game_query,
            extra: top_extra,
        };
        alt.normalize_line_endings();
        alt.check()?;
        if alt.docker_images.is_empty() {
            self.warn(
                "docker_images",
                "no Docker images; the template can only run natively",
            );
        }
        self.warnings.extend(super::native::native_warnings(&alt));
        Ok(Imported {
            alt,
            format,
            warnings: self.warnings,
        })
    }

    fn docker_images(
        &mut self,
        top: &mut Fields<'_>,
        format: EggFormat,
    ) -> Result<IndexMap<String, String>> {
        if format == EggFormat::PtdlV1 {
            // PTDL_v1 has one `image`, or later an `images` list; each becomes its own label.
            let images = match top.text_list("images")? {
                Some(list) => list,
                None => top.text("image")?.into_iter().collect(),
            };
            return Ok(images.into_iter().map(|i| (i.clone(), i)).collect());
        }
        let Some(node) = top.get("docker_images") else {
            return Ok(IndexMap::new());
        };
        match node {
            Node::Map(map) => map
                .iter()
                .map(|(label, image)| {
                    image
                        .scalar_text()
                        .filter(|_| !matches!(image, Node::Null))
                        .map(|image| (label.clone(), image))
                        .ok_or_else(|| {
                            Error::field(
                                format!("docker_images[{label:?}]"),
                                format!("must be an image name, not {}", image.kind()),
                            )
                        })
                })
                .collect(),
            Node::List(_) => Ok(list_of_text(node, "docker_images")?
                .into_iter()
                .map(|i| (i.clone(), i))
                .collect()),
            other => Err(Error::field(
                "docker_images",
                format!("must be a mapping of label to image, not {}", other.kind()),
            )),
        }
    }

    fn variables(&mut self, node: Option<&Node>) -> Result<Vec<Variable>> {
        let items: &[Node] = match node {
            None => &[],
            Some(Node::Map(map)) if map.is_empty() => &[],
            Some(Node::List(items)) => items,
            Some(other) => {
                return Err(Error::field(
                    "variables",
                    format!("must be a list, not {}", other.kind()),
                ))
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("variables[{i}]");
            let mut f = Fields::new(item, &path)?;
            let name = f.required_text("name")?;
            let env_variable = f.required_text("env_variable")?;
            crate::egg::check_env_name(&env_variable)
                .map_err(|m| Error::field(f.at("env_variable"), m))?;
            if let Some(first) = out
                .iter()
                .find(|v: &&Variable| v.env_variable == env_variable)
            {
                self.warn(
                    f.at("env_variable"),
                    format!(
                        "{name} uses {env_variable}, like the earlier variable {}; only the first is kept",
                        first.name
                    ),
                );
                continue;
            }
            let rules = match f.get("rules") {
                None => Rules::default(),
                Some(Node::String(text)) => Rules::parse(text),
                Some(node @ Node::List(_)) => {
                    let list = list_of_text(node, &f.at("rules"))?;
                    Rules::from_list(list.iter().map(String::as_str))
                }
                Some(other) => {
                    return Err(Error::field(
                        f.at("rules"),
                        format!(
                            "must be a rule string or a list of rules, not {}",
                            other.kind()
                        ),
                    ))
                }
            };
            for (text, reason) in rules.problems() {
                self.warn(
                    f.at("rules"),
                    format!(
                        "{name} ({env_variable}): rule {text:?} is kept but cannot be checked: {reason}; values will be refused until it is fixed"
                    ),
                );
            }
            if crate::egg::RESERVED_ENV_NAMES.contains(&env_variable.as_str()) {
                self.warn(
                    f.at("env_variable"),
                    format!("{env_variable} is set by the runtime and overrides this variable"),
                );
            }
            let sort_at = f.at("sort");
            let sort = match f.get("sort") {
                None => None,
                Some(Node::Number(n)) if n.as_i64().is_some() => n.as_i64(),
                Some(other) => {
                    return Err(Error::field(
                        sort_at,
                        format!("must be a whole number, not {}", other.kind()),
                    ))
                }
            };
            out.push(Variable {
                description: f.text("description")?.unwrap_or_default(),
                default_value: f.text("default_value")?.unwrap_or_default(),
                user_viewable: f.flag("user_viewable")?,
                user_editable: f.flag("user_editable")?,
                field_type: f.text("field_type")?,
                sort,
                rules,
                extra: f.rest(""),
                name,
                env_variable,
            });
        }
        Ok(out)
    }
}

/// Patterns of files users may not touch: a list, or (as some eggs write it) one text
/// with a pattern per line. Empty entries mean nothing.
fn file_denylist(top: &mut Fields<'_>) -> Result<Vec<String>> {
    let entries = match top.get("file_denylist") {
        Some(Node::String(text)) => text.lines().map(|line| line.trim().to_owned()).collect(),
        _ => top.text_list("file_denylist")?.unwrap_or_default(),
    };
    Ok(entries
        .into_iter()
        .filter(|entry| !entry.is_empty())
        .collect())
}

fn startup_commands(top: &mut Fields<'_>) -> Result<IndexMap<String, String>> {
    let single = top.text("startup")?;
    if let Some(node) = top.get("startup_commands") {
        let Node::Map(map) = node else {
            return Err(Error::field(
                "startup_commands",
                format!("must be a mapping of label to command, not {}", node.kind()),
            ));
        };
        let commands = map
            .iter()
            .map(|(label, command)| match command {
                Node::String(text) => Ok((label.clone(), text.clone())),
                other => Err(Error::field(
                    format!("startup_commands[{label:?}]"),
                    format!("must be text, not {}", other.kind()),
                )),
            })
            .collect::<Result<IndexMap<_, _>>>()?;
        if !commands.is_empty() {
            return Ok(commands);
        }
    }
    match single {
        Some(command) => Ok(IndexMap::from([(
            DEFAULT_STARTUP_LABEL.to_owned(),
            command,
        )])),
        None => Err(Error::field("startup", "is missing")),
    }
}

fn startup_detection(node: Option<&Node>) -> Result<StartupDetection> {
    let parsed = embedded_mapping(node, "config.startup")?;
    let mut f = Fields::new(&parsed, "config.startup")?;
    let done = match f.get("done") {
        None => Vec::new(),
        Some(Node::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Node::String(text) => Ok(DonePattern::parse(text)),
                other => Err(Error::field(
                    format!("config.startup.done[{i}]"),
                    format!("must be text, not {}", other.kind()),
                )),
            })
            .collect::<Result<_>>()?,
        Some(node) => vec![DonePattern::parse(&node.scalar_text().ok_or_else(
            || {
                Error::field(
                    "config.startup.done",
                    format!("must be text or a list, not {}", node.kind()),
                )
            },
        )?)],
    };
    let strip_ansi = match f.get("strip_ansi") {
        None => None,
        Some(Node::Bool(b)) => Some(*b),
        Some(other) => {
            return Err(Error::field(
                "config.startup.strip_ansi",
                format!("must be true or false, not {}", other.kind()),
            ))
        }
    };
    Ok(StartupDetection {
        done,
        strip_ansi,
        extra: f.rest(""),
    })
}

fn config_files(node: Option<&Node>) -> Result<Vec<ConfigFile>> {
    let parsed = embedded_mapping(node, "config.files")?;
    let Node::Map(files) = &parsed else {
        return Ok(Vec::new());
    };
    files
        .iter()
        .map(|(path, spec)| {
            let at = format!("config.files[{path:?}]");
            let mut f = Fields::new(spec, &at)?;
            let parser_text = f.required_text("parser")?;
            let parser = ConfigParser::parse(&parser_text).ok_or_else(|| {
                Error::field(
                    f.at("parser"),
                    format!(
                        "{parser_text:?} is not a parser (file, properties, yaml, json, ini, xml)"
                    ),
                )
            })?;
            let find = match f.required("find")? {
                Node::Map(find) => find
                    .iter()
                    .map(|(key, value)| {
                        Replacement::from_node(value)
                            .map(|r| (key.clone(), r))
                            .map_err(|m| Error::field(format!("{at}.find[{key:?}]"), m))
                    })
                    .collect::<Result<IndexMap<_, _>>>()?,
                Node::List(items) if items.is_empty() => IndexMap::new(),
                other => {
                    return Err(Error::field(
                        f.at("find"),
                        format!("must be a mapping of key to value, not {}", other.kind()),
                    ))
                }
            };
            Ok(ConfigFile {
                path: path.clone(),
                parser,
                find,
                extra: f.rest(""),
            })
        })
        .collect()
}

fn logs(node: Option<&Node>) -> Result<LogsConfig> {
    let parsed = embedded_mapping(node, "config.logs")?;
    let mut f = Fields::new(&parsed, "config.logs")?;
    let custom = match f.get("custom") {
        None => None,
        Some(_) => Some(f.flag("custom")?),
    };
    Ok(LogsConfig {
        custom,
        location: f.text("location")?,
        extra: f.rest(""),
    })
}

fn install_script(node: &Node) -> Result<(InstallScript, Extra)> {
    let mut scripts = Fields::new(node, "scripts")?;
    let mut extra = Extra::new();
    let install = match scripts.get("installation") {
        None => InstallScript::default(),
        Some(node) => {
            let mut f = Fields::new(node, "scripts.installation")?;
            let install = InstallScript {
                script: f.text("script")?.unwrap_or_default(),
                container: f.text("container")?.unwrap_or_default(),
                entrypoint: f.text("entrypoint")?.unwrap_or_default(),
            };
            extra.extend(f.rest("scripts.installation."));
            install
        }
    };
    extra.extend(scripts.rest("scripts."));
    Ok((install, extra))
}
