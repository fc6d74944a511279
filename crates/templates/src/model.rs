//! The Alt (server template) domain model.
//!
//! An [`Alt`] is everything needed to install, configure, start and stop one kind of
//! game server. It is a superset of a Pterodactyl egg: every egg field has a typed home
//! here, and fields this crate does not know are kept in `extra` maps so that an
//! imported egg exports back unchanged.
//!
//! The serde form of these types is this crate's own storage format (what the panel
//! persists); eggs are read and written by [`crate::import_egg`] and
//! [`crate::export_ptdl_v2`].

use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::rules::Rules;

/// Unknown fields kept verbatim, in source order.
pub type Extra = IndexMap<String, Value>;

/// A server template ("Alt"; an "egg" in Pterodactyl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alt {
    /// Display name, e.g. `Paper`.
    pub name: String,
    /// Who wrote it (eggs use an e-mail address).
    #[serde(default)]
    pub author: String,
    /// Free text shown to admins; eggs may leave it null.
    #[serde(default)]
    pub description: Option<String>,
    /// Stable identity across exports (Pelican eggs carry one; Pterodactyl eggs do not).
    #[serde(default)]
    pub uuid: Option<String>,
    /// Where an updated version of this template can be fetched.
    #[serde(default)]
    pub update_url: Option<String>,
    /// Pelican's free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Panel features the template relies on (`eula`, `java_version`, `pid_limit`, ...).
    /// `None` and an empty list are different in eggs, so both are kept.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Docker images by label, in order; the first is the default.
    #[serde(default)]
    pub docker_images: IndexMap<String, String>,
    /// Files the server's users may not read or edit (gitignore-style patterns).
    #[serde(default)]
    pub file_denylist: Vec<String>,
    /// Startup commands by label, in order; the first is the default. Commands contain
    /// `{{ENV_NAME}}` placeholders (see [`crate::render_startup`]).
    pub startup_commands: IndexMap<String, String>,
    /// How to stop the server gracefully.
    pub stop: StopAction,
    /// How to tell that the server has finished starting.
    #[serde(default)]
    pub startup_detection: StartupDetection,
    /// Config files edited before every start.
    #[serde(default)]
    pub config_files: Vec<ConfigFile>,
    /// Legacy log settings (kept for round-trips; not used at run time).
    #[serde(default)]
    pub logs: LogsConfig,
    /// The install script.
    #[serde(default)]
    pub install: InstallScript,
    /// Variables a server fills in, in display order.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Ports the game uses besides its primary one, as offsets from it: Red Eclipse
    /// serves on its port and the next, so `[1]`. A server gets these ports together
    /// with its primary port; they reach it as `SERVER_PORT_1`, `SERVER_PORT_2`, ...
    /// in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_port_offsets: Vec<u16>,
    /// How the agent asks the running game who is playing (see [`crate::GameQuerySpec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_query: Option<crate::GameQuerySpec>,
    /// Egg fields this crate does not model, keyed by their dotted location
    /// (`tags`, `meta.foo`, `config.bar`, `scripts.installation.baz`, ...).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra: Extra,
}

/// At most this many extra ports per template, each at most this far from the primary.
pub const MAX_EXTRA_PORTS: usize = 16;
pub const MAX_PORT_OFFSET: u16 = 100;

/// The label given to a lone startup command.
pub const DEFAULT_STARTUP_LABEL: &str = "Default";

impl Alt {
    /// The done patterns as an egg writes them (`regex:` prefix for regular expressions).
    pub fn done_patterns(&self) -> Vec<String> {
        self.startup_detection
            .done
            .iter()
            .map(|p| p.to_egg_string())
            .collect()
    }

    /// The default startup command template (the first of [`Alt::startup_commands`]).
    pub fn startup(&self) -> &str {
        self.startup_commands
            .first()
            .map(|(_, command)| command.as_str())
            .unwrap_or_default()
    }

    /// The default Docker image, if any.
    pub fn default_image(&self) -> Option<&str> {
        self.docker_images.first().map(|(_, image)| image.as_str())
    }

    /// The variable with this env name, if any.
    pub fn variable(&self, env_variable: &str) -> Option<&Variable> {
        self.variables
            .iter()
            .find(|v| v.env_variable == env_variable)
    }

    /// Converts Windows line endings (CRLF) in the install script, the startup and stop
    /// commands to Unix ones: many eggs are saved on Windows, and `bash` reads the `\r`
    /// as part of each command (`$'\r': command not found`). Returns whether anything
    /// changed.
    pub fn normalize_line_endings(&mut self) -> bool {
        let mut changed = unix_newlines(&mut self.install.script);
        for command in self.startup_commands.values_mut() {
            changed |= unix_newlines(command);
        }
        if let StopAction::Command(command) = &mut self.stop {
            changed |= unix_newlines(command);
        }
        changed
    }

    /// Checks that the template is internally consistent: a name, a startup command,
    /// unique env names, valid done patterns. Import runs the same checks.
    pub fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::field("name", "must not be empty"));
        }
        if self.startup().trim().is_empty() {
            return Err(Error::field("startup", "must not be empty"));
        }
        for (i, variable) in self.variables.iter().enumerate() {
            crate::egg::check_env_name(&variable.env_variable)
                .map_err(|m| Error::field(format!("variables[{i}].env_variable"), m))?;
            if self.variables[..i]
                .iter()
                .any(|v| v.env_variable == variable.env_variable)
            {
                return Err(Error::field(
                    format!("variables[{i}].env_variable"),
                    format!(
                        "{} is used by more than one variable",
                        variable.env_variable
                    ),
                ));
            }
        }
        for file in &self.config_files {
            let relative = crate::render::relative_path(&file.path);
            if relative.is_empty() || relative.split(['/', '\\']).any(|part| part == "..") {
                return Err(Error::field(
                    format!("config.files[{:?}]", file.path),
                    "the path must name a file inside the server directory",
                ));
            }
        }
        if self.extra_port_offsets.len() > MAX_EXTRA_PORTS {
            return Err(Error::field(
                "extra_port_offsets",
                format!("at most {MAX_EXTRA_PORTS} extra ports"),
            ));
        }
        for (i, offset) in self.extra_port_offsets.iter().enumerate() {
            if *offset == 0 || *offset > MAX_PORT_OFFSET {
                return Err(Error::field(
                    format!("extra_port_offsets[{i}]"),
                    format!("must be 1 to {MAX_PORT_OFFSET} (the distance from the primary port)"),
                ));
            }
            if self.extra_port_offsets[..i].contains(offset) {
                return Err(Error::field(
                    format!("extra_port_offsets[{i}]"),
                    format!("{offset} is listed twice"),
                ));
            }
        }
        if let Some(query) = &self.game_query {
            query.check()?;
        }
        for (i, pattern) in self.startup_detection.done.iter().enumerate() {
            pattern
                .compile()
                .map_err(|m| Error::field(format!("config.startup.done[{i}]"), m))?;
        }
        Ok(())
    }
}

/// `\r\n` and a lone trailing `\r` become `\n`; whether `text` changed.
fn unix_newlines(text: &mut String) -> bool {
    if !text.contains('\r') {
        return false;
    }
    let mut unix = text.replace("\r\n", "\n");
    if unix.ends_with('\r') {
        unix.pop();
    }
    let changed = unix != *text;
    *text = unix;
    changed
}

/// One variable of a template, exposed to the server as an environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    /// Human name, e.g. `Server Jar File`.
    pub name: String,
    /// Help text.
    #[serde(default)]
    pub description: String,
    /// Environment variable name, e.g. `SERVER_JARFILE`.
    pub env_variable: String,
    /// Value used when the server does not set one.
    #[serde(default)]
    pub default_value: String,
    /// Whether the server's users can see the value.
    #[serde(default)]
    pub user_viewable: bool,
    /// Whether the server's users can change the value.
    #[serde(default)]
    pub user_editable: bool,
    /// Validation rules (Laravel syntax), parsed.
    #[serde(default)]
    pub rules: Rules,
    /// The panel's input widget hint (`text`); absent in some eggs.
    #[serde(default)]
    pub field_type: Option<String>,
    /// Display position (Pelican); absent in Pterodactyl eggs.
    #[serde(default)]
    pub sort: Option<i64>,
    /// Variable fields this crate does not model.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra: Extra,
}

impl Variable {
    /// Validates a value against this variable's rules; see [`crate::rules`].
    pub fn validate(&self, value: &str) -> std::result::Result<(), Vec<String>> {
        crate::rules::validate(self, value)
    }
}

/// A signal that stops a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT, what Ctrl-C sends (`^C`).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGKILL.
    Kill,
    /// SIGQUIT.
    Quit,
    /// SIGHUP.
    Hangup,
    /// SIGABRT.
    Abort,
    /// SIGUSR1.
    User1,
    /// SIGUSR2.
    User2,
}

impl Signal {
    const ALL: [(Signal, &'static str); 8] = [
        (Signal::Interrupt, "SIGINT"),
        (Signal::Terminate, "SIGTERM"),
        (Signal::Kill, "SIGKILL"),
        (Signal::Quit, "SIGQUIT"),
        (Signal::Hangup, "SIGHUP"),
        (Signal::Abort, "SIGABRT"),
        (Signal::User1, "SIGUSR1"),
        (Signal::User2, "SIGUSR2"),
    ];

    /// The conventional name, e.g. `SIGTERM`.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("SIGTERM")
    }

    /// Parses `SIGTERM`, `TERM`, `sigterm` and `C` (Ctrl-C, i.e. SIGINT).
    pub fn parse(text: &str) -> Option<Signal> {
        let upper = text.trim().to_ascii_uppercase();
        if upper == "C" {
            return Some(Signal::Interrupt);
        }
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        Self::ALL
            .iter()
            .find(|(_, name)| &name[3..] == bare)
            .map(|(s, _)| *s)
    }
}

/// How to stop a server gracefully.
///
/// Eggs write this as one string: a console command (`stop`), or a caret followed by a
/// signal (`^C` for SIGINT, `^SIGTERM`, `^TERM`). Some community eggs write `^^C`; it
/// is read as SIGINT too. A caret before anything that is not a signal (`^X`) is a
/// console command, as Wings treats it. The spelling is kept so the egg exports
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopAction {
    /// Write this line to the server's console (stdin).
    Command(String),
    /// Send a signal to the server's process group.
    Signal {
        /// The signal to send.
        signal: Signal,
        /// How the egg spelled it (`^C`, `^^C`, `^SIGTERM`).
        written: String,
    },
}

impl StopAction {
    /// A signal stop with the canonical spelling (`^C` for SIGINT, else `^SIGTERM`).
    pub fn signal(signal: Signal) -> StopAction {
        let written = match signal {
            Signal::Interrupt => "^C".to_owned(),
            other => format!("^{}", other.name()),
        };
        StopAction::Signal { signal, written }
    }

    /// The egg spelling.
    pub fn as_egg_str(&self) -> &str {
        match self {
            StopAction::Command(command) => command,
            StopAction::Signal { written, .. } => written,
        }
    }
}

impl FromStr for StopAction {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let Some(rest) = text.strip_prefix('^') else {
            if text.trim().is_empty() {
                return Err("must be a console command or a signal such as ^C".into());
            }
            return Ok(StopAction::Command(text.to_owned()));
        };
        let name = rest.strip_prefix('^').unwrap_or(rest);
        // As in Wings: what is not a known signal is written to the console.
        Ok(match Signal::parse(name) {
            Some(signal) => StopAction::Signal {
                signal,
                written: text.to_owned(),
            },
            None => StopAction::Command(text.to_owned()),
        })
    }
}

impl Serialize for StopAction {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_egg_str())
    }
}

impl<'de> Deserialize<'de> for StopAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A console line that means "the server has finished starting".
///
/// Written as in eggs: plain text matches as a substring; `regex:` followed by a
/// regular expression matches by regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DonePattern {
    /// The line contains this text.
    Substring(String),
    /// The line matches this regular expression (`regex` crate syntax).
    Regex(String),
}

impl DonePattern {
    /// Reads the egg spelling.
    pub fn parse(text: &str) -> DonePattern {
        match text.strip_prefix("regex:") {
            Some(pattern) => DonePattern::Regex(pattern.to_owned()),
            None => DonePattern::Substring(text.to_owned()),
        }
    }

    /// The egg spelling.
    pub fn to_egg_string(&self) -> String {
        match self {
            DonePattern::Substring(text) => text.clone(),
            DonePattern::Regex(pattern) => format!("regex:{pattern}"),
        }
    }

    fn compile(&self) -> std::result::Result<Option<regex::Regex>, String> {
        match self {
            DonePattern::Substring(_) => Ok(None),
            DonePattern::Regex(pattern) => regex::Regex::new(pattern)
                .map(Some)
                .map_err(|e| format!("invalid regex: {e}")),
        }
    }
}

impl Serialize for DonePattern {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_egg_string())
    }
}

impl<'de> Deserialize<'de> for DonePattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(DonePattern::parse(&String::deserialize(d)?))
    }
}

/// How the agent recognises that a server is up (egg `config.startup`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartupDetection {
    /// Any of these lines means "running". Empty: running as soon as started.
    #[serde(default)]
    pub done: Vec<DonePattern>,
    /// Strip ANSI colour codes from console lines before matching.
    #[serde(default)]
    pub strip_ansi: Option<bool>,
    /// Other `config.startup` keys (e.g. `userInteraction`), kept verbatim.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra: Extra,
}

impl StartupDetection {
    /// Compiles the done patterns into a matcher for console lines.
    pub fn matcher(&self) -> Result<DoneMatcher> {
        let mut substrings = Vec::new();
        let mut regexes = Vec::new();
        for (i, pattern) in self.done.iter().enumerate() {
            match pattern.compile() {
                Ok(Some(regex)) => regexes.push(regex),
                Ok(None) => substrings.push(pattern.to_egg_string()),
                Err(message) => {
                    return Err(Error::field(format!("config.startup.done[{i}]"), message))
                }
            }
        }
        Ok(DoneMatcher {
            substrings,
            regexes,
            strip_ansi: self.strip_ansi.unwrap_or(false),
        })
    }
}

/// Compiled done patterns; see [`StartupDetection::matcher`].
#[derive(Debug, Clone)]
pub struct DoneMatcher {
    substrings: Vec<String>,
    regexes: Vec<regex::Regex>,
    strip_ansi: bool,
}

impl DoneMatcher {
    /// Whether there is nothing to wait for (the server counts as running at once).
    pub fn is_empty(&self) -> bool {
        self.substrings.is_empty() && self.regexes.is_empty()
    }

    /// Whether this console line means the server has finished starting.
    pub fn is_match(&self, line: &str) -> bool {
        let stripped;
        let line = if self.strip_ansi {
            stripped = strip_ansi(line);
            stripped.as_str()
        } else {
            line
        };
        self.substrings.iter().any(|s| line.contains(s.as_str()))
            || self.regexes.iter().any(|r| r.is_match(line))
    }
}

fn strip_ansi(line: &str) -> String {
    static ANSI: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match ANSI.get_or_init(|| regex::Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").ok()) {
        Some(re) => re.replace_all(line, "").into_owned(),
        None => line.to_owned(),
    }
}

/// Which format a config file is edited as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigParser {
    /// Plain text: a line starting with the find text is replaced by the value.
    File,
    /// Java-style `key=value` properties.
    Properties,
    /// YAML, dotted paths.
    Yaml,
    /// JSON, dotted paths.
    Json,
    /// INI, `section.key`.
    Ini,
    /// XML, dotted element paths.
    Xml,
}

impl ConfigParser {
    /// The egg spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigParser::File => "file",
            ConfigParser::Properties => "properties",
            ConfigParser::Yaml => "yaml",
            ConfigParser::Json => "json",
            ConfigParser::Ini => "ini",
            ConfigParser::Xml => "xml",
        }
    }

    /// Parses the egg spelling (`yml` is accepted for `yaml`).
    pub fn parse(text: &str) -> Option<ConfigParser> {
        Some(match text {
            "file" => ConfigParser::File,
            "properties" => ConfigParser::Properties,
            "yaml" | "yml" => ConfigParser::Yaml,
            "json" => ConfigParser::Json,
            "ini" => ConfigParser::Ini,
            "xml" => ConfigParser::Xml,
            _ => return None,
        })
    }
}

impl fmt::Display for ConfigParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to put at one `find` key of a config file.
#[derive(Debug, Clone, PartialEq)]
pub enum Replacement {
    /// Always set this value (a string with placeholders, a number or a boolean).
    Value(Value),
    /// Set a value only when the current value equals a key of this map
    /// (`{"old": "new", ...}`).
    Conditional(IndexMap<String, Value>),
}

impl Serialize for Replacement {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Replacement::Value(value) => value.serialize(s),
            Replacement::Conditional(map) => map.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Replacement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let node = crate::node::Node::deserialize(d)?;
        Replacement::from_node(&node).map_err(serde::de::Error::custom)
    }
}

impl Replacement {
    pub(crate) fn from_node(node: &crate::node::Node) -> std::result::Result<Self, String> {
        use crate::node::Node;
        match node {
            Node::Map(map) => map
                .iter()
                .map(|(k, v)| match v {
                    Node::List(_) | Node::Map(_) => Err(format!(
                        "the value for current value {k:?} must be text, a number or a boolean, not {}",
                        v.kind()
                    )),
                    scalar => Ok((k.clone(), scalar.to_json())),
                })
                .collect::<std::result::Result<_, _>>()
                .map(Replacement::Conditional),
            Node::List(_) => Err("must be text, a number, a boolean or a mapping, not a list".into()),
            scalar => Ok(Replacement::Value(scalar.to_json())),
        }
    }
}

/// One config file the agent edits before every start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Path relative to the server directory.
    pub path: String,
    /// How to edit it.
    pub parser: ConfigParser,
    /// Key (or line prefix, for [`ConfigParser::File`]) → replacement, applied in order.
    pub find: IndexMap<String, Replacement>,
    /// Other keys of this file's entry, kept verbatim.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra: Extra,
}

/// Legacy egg log settings (`config.logs`), kept for round-trips.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogsConfig {
    /// Whether the game writes its own log file.
    #[serde(default)]
    pub custom: Option<bool>,
    /// Where that log file is.
    #[serde(default)]
    pub location: Option<String>,
    /// Other keys, kept verbatim.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub extra: Extra,
}

/// The install script (egg `scripts.installation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallScript {
    /// The script text. Eggs expect to run it with the server's files at `/mnt/server`.
    #[serde(default)]
    pub script: String,
    /// The image the script runs in (Docker runtime).
    #[serde(default)]
    pub container: String,
    /// The interpreter, e.g. `bash` or `ash`.
    #[serde(default)]
    pub entrypoint: String,
}
