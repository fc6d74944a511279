//! Start-time rendering: the startup command, the environment, and config-file edits
//! with their placeholders filled in.
//!
//! Placeholders are `{{NAME}}` (a variable's env name or a built-in such as
//! `SERVER_PORT`) and the dotted forms eggs use in config files:
//! `{{server.build.default.port}}`, `{{server.build.default.ip}}`,
//! `{{server.build.memory}}`, `{{server.build.env.X}}`, `{{env.X}}`, `{{server.uuid}}`,
//! Pelican's `{{server.allocations.default.port}}`, `{{server.environment.X}}`, and
//! `{{config.X}}` for node settings (e.g. `{{config.docker.interface}}`).
//!
//! Unknown placeholders are left untouched and listed in `unresolved`, so a preview
//! shows them and a typo is visible in the result rather than silently becoming empty
//! (which is what Pterodactyl does).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Alt, ConfigParser, Replacement};

/// What the panel knows about one server, used to fill in placeholders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderContext {
    /// The server's UUID (`SERVER_UUID`, `P_SERVER_UUID`, `{{server.uuid}}`).
    pub server_uuid: String,
    /// Memory limit in MiB (`SERVER_MEMORY`, `{{server.build.memory}}`).
    pub memory_mb: u64,
    /// Swap limit in MiB (`{{server.build.swap}}`).
    pub swap_mb: i64,
    /// Disk limit in MiB (`{{server.build.disk}}`).
    pub disk_mb: u64,
    /// CPU limit in percent of one core, 0 = unlimited (`{{server.build.cpu}}`).
    pub cpu_percent: u64,
    /// The primary allocation's IP (`SERVER_IP`, `{{server.build.default.ip}}`).
    pub ip: String,
    /// The primary allocation's port (`SERVER_PORT`, `{{server.build.default.port}}`).
    pub port: u16,
    /// The server's other allocations, in order (`SERVER_IP_1`/`SERVER_PORT_1`, ...).
    pub additional: Vec<Binding>,
    /// How many allocations the server may hold (`P_SERVER_ALLOCATION_LIMIT`).
    pub allocation_limit: u64,
    /// The node's location name (`P_SERVER_LOCATION`).
    pub location: String,
    /// Time zone, e.g. `UTC` (`TZ`).
    pub timezone: String,
    /// The server's own startup command, when it overrides the template's default.
    pub startup: Option<String>,
    /// The server's variable values by env name; missing ones use the default.
    pub variables: BTreeMap<String, String>,
    /// Node settings for `{{config.X}}`, by dotted key (e.g. `docker.interface`).
    pub node: BTreeMap<String, String>,
}

/// An address and port a server may bind besides its primary one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub ip: String,
    pub port: u16,
}

/// A startup command ready to run, plus what a preview shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedStartup {
    /// For `sh -c` with [`RenderedStartup::env`]: placeholders become `${NAME}`
    /// references, so values reach the shell as data and are never parsed as shell
    /// code (as Pterodactyl's images do).
    pub command: String,
    /// The command with values written in, for display.
    pub display: String,
    /// The process environment: every variable (values or defaults, names upper-cased)
    /// plus the built-ins `SERVER_MEMORY`, `SERVER_IP`, `SERVER_PORT`, `SERVER_UUID`,
    /// `P_SERVER_UUID`, `P_SERVER_LOCATION`, `P_SERVER_ALLOCATION_LIMIT`, `TZ` and
    /// `STARTUP`, the additional allocations as `SERVER_IP_<n>` and `SERVER_PORT_<n>`
    /// (n from 1) and every port as `SERVER_PORTS` (comma-separated, primary first);
    /// these win over variables of the same name.
    pub env: BTreeMap<String, String>,
    /// Placeholders that matched nothing, left as written.
    pub unresolved: Vec<String>,
}

/// One config-file edit with placeholders filled in: what the agent applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    /// The key path (`server-port`, `listeners[0].host`, `section.key`) or, for the
    /// `file` parser, the line prefix.
    pub key: String,
    /// The new value: text, a number or a boolean.
    pub value: Value,
    /// Only apply when the current value equals this (`regex:` prefix: when it matches,
    /// replacing the matched part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_value: Option<String>,
}

/// A config file's edits, rendered for one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedConfigFile {
    /// Path relative to the server directory (leading `/` and `./` removed).
    pub path: String,
    /// How to edit it.
    pub parser: ConfigParser,
    /// The edits, in order.
    pub edits: Vec<Edit>,
    /// Placeholders that matched nothing, left as written.
    pub unresolved: Vec<String>,
}

impl RenderContext {
    /// The process environment for this server (see [`RenderedStartup::env`]).
    pub fn environment(&self, alt: &Alt) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = alt
            .variables
            .iter()
            .map(|v| {
                let value = self
                    .variables
                    .get(&v.env_variable)
                    .unwrap_or(&v.default_value);
                (v.env_variable.to_ascii_uppercase(), value.clone())
            })
            .collect();
        let startup = self.startup.as_deref().unwrap_or(alt.startup());
        env.extend([
            ("SERVER_MEMORY".to_owned(), self.memory_mb.to_string()),
            ("SERVER_IP".to_owned(), self.ip.clone()),
            ("SERVER_PORT".to_owned(), self.port.to_string()),
            ("SERVER_UUID".to_owned(), self.server_uuid.clone()),
            ("P_SERVER_UUID".to_owned(), self.server_uuid.clone()),
            ("P_SERVER_LOCATION".to_owned(), self.location.clone()),
            ("TZ".to_owned(), self.timezone.clone()),
            ("STARTUP".to_owned(), startup.to_owned()),
            (
                "P_SERVER_ALLOCATION_LIMIT".to_owned(),
                self.allocation_limit.to_string(),
            ),
            ("SERVER_PORTS".to_owned(), self.ports_list()),
        ]);
        for (n, binding) in (1..).zip(&self.additional) {
            env.insert(format!("SERVER_IP_{n}"), binding.ip.clone());
            env.insert(format!("SERVER_PORT_{n}"), binding.port.to_string());
        }
        env
    }

    /// Every port, primary first, comma-separated.
    fn ports_list(&self) -> String {
        std::iter::once(self.port)
            .chain(self.additional.iter().map(|b| b.port))
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The env var a placeholder key stands for, if it stands for one.
    fn env_name(&self, env: &BTreeMap<String, String>, key: &str) -> Option<String> {
        let name = match key {
            "server.build.default.port" | "server.allocations.default.port" => "SERVER_PORT",
            "server.build.default.ip" | "server.allocations.default.ip" => "SERVER_IP",
            "server.build.memory" | "server.build.memory_limit" => "SERVER_MEMORY",
            "server.uuid" => "SERVER_UUID",
            _ => [
                "server.build.env.",
                "server.build.environment.",
                "server.environment.",
                "env.",
            ]
            .iter()
            .find_map(|prefix| key.strip_prefix(prefix))
            .unwrap_or(key),
        };
        if env.contains_key(name) {
            return Some(name.to_owned());
        }
        let upper = name.to_ascii_uppercase();
        env.contains_key(&upper).then_some(upper)
    }

    /// The value a placeholder key stands for.
    fn lookup(&self, env: &BTreeMap<String, String>, key: &str) -> Option<String> {
        if let Some(name) = self.env_name(env, key) {
            return env.get(&name).cloned();
        }
        match key {
            "server.build.swap" => Some(self.swap_mb.to_string()),
            "server.build.disk" => Some(self.disk_mb.to_string()),
            "server.build.cpu" => Some(self.cpu_percent.to_string()),
            _ => {
                let setting = key.strip_prefix("config.")?;
                self.node.get(setting).cloned().or_else(|| match setting {
                    // Pterodactyl renamed this setting; eggs use both spellings.
                    "docker.interface" => self.node.get("docker.network.interface").cloned(),
                    _ => None,
                })
            }
        }
    }
}

/// Calls `replace` for each `{{ key }}` in `text`; `None` keeps the placeholder.
fn substitute(
    text: &str,
    unresolved: &mut Vec<String>,
    mut replace: impl FnMut(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let key = after[..end].trim();
        let whole = &rest[start..start + 2 + end + 2];
        let is_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
        match is_key.then(|| replace(key)).flatten() {
            Some(value) => out.push_str(&value),
            None => {
                if is_key && !unresolved.iter().any(|u| u == key) {
                    unresolved.push(key.to_owned());
                }
                out.push_str(whole);
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn is_shell_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Renders a server's startup command (the server's own, else the template's default).
pub fn render_startup(alt: &Alt, ctx: &RenderContext) -> RenderedStartup {
    let template = ctx.startup.as_deref().unwrap_or(alt.startup());
    let env = ctx.environment(alt);
    let mut unresolved = Vec::new();
    let display = substitute(template, &mut unresolved, |key| ctx.lookup(&env, key));
    let command = substitute(template, &mut Vec::new(), |key| {
        match ctx.env_name(&env, key) {
            Some(name) if is_shell_name(&name) => Some(format!("${{{name}}}")),
            Some(name) => env.get(&name).map(|v| shell_quote(v)),
            None => ctx.lookup(&env, key),
        }
    });
    RenderedStartup {
        command,
        display,
        env,
        unresolved,
    }
}

/// Renders the template's config-file edits for one server.
pub fn render_config_files(alt: &Alt, ctx: &RenderContext) -> Vec<RenderedConfigFile> {
    let env = ctx.environment(alt);
    alt.config_files
        .iter()
        .map(|file| {
            let mut unresolved = Vec::new();
            let mut render = |value: &Value| match value {
                Value::String(text) => Value::String(substitute(text, &mut unresolved, |key| {
                    ctx.lookup(&env, key)
                })),
                other => other.clone(),
            };
            let mut edits = Vec::new();
            for (key, replacement) in &file.find {
                match replacement {
                    Replacement::Value(value) => edits.push(Edit {
                        key: key.clone(),
                        value: render(value),
                        if_value: None,
                    }),
                    Replacement::Conditional(cases) => {
                        edits.extend(cases.iter().map(|(current, value)| Edit {
                            key: key.clone(),
                            value: render(value),
                            if_value: Some(current.clone()),
                        }))
                    }
                }
            }
            RenderedConfigFile {
                path: relative_path(&file.path),
                parser: file.parser,
                edits,
                unresolved,
            }
        })
        .collect()
}

/// Eggs write config paths relative to the server directory, sometimes with a leading
/// `/` or `./`.
pub(crate) fn relative_path(path: &str) -> String {
    let mut rest = path.trim();
    loop {
        if let Some(r) = rest.strip_prefix('/') {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else {
            return rest.to_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitute_keeps_unknown_and_reports_once() {
        let mut unresolved = Vec::new();
        let out = substitute(
            "a {{X}} {{ Y }} {{nope}} {{nope}} {{",
            &mut unresolved,
            |k| (k != "nope").then(|| k.to_lowercase()),
        );
        assert_eq!(out, "a x y {{nope}} {{nope}} {{");
        assert_eq!(unresolved, ["nope"]);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_path("/.local/a.sii"), ".local/a.sii");
        assert_eq!(relative_path("./Risk/server.cfg"), "Risk/server.cfg");
        assert_eq!(relative_path("server.properties"), "server.properties");
    }
}
