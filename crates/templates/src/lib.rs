//! Server templates (Ctrls and Alts).
//!
//! Pure logic, no I/O: the panel persists and serves these types, the agent calls the
//! config-file editors before each start.
//!
//! - [`Alt`]: the template model (startup command, variables, stop, done patterns,
//!   config-file edits, install script, Docker images, ...).
//! - [`import_egg`] / [`export_ptdl_v2`]: Pterodactyl and Pelican eggs in, PTDL_v2 out.
//! - [`Variable::validate`]: Laravel-style variable rules ([`rules`]).
//! - [`render_startup`] / [`render_config_files`]: fill in placeholders for one server
//!   described by a [`RenderContext`].
//! - [`edit_text`]: apply rendered edits to a config file's text (the agent's part).
//! - [`builtins`]: the templates the panel seeds on first start.

mod builtin;
mod edit;
mod egg;
mod error;
mod game;
mod model;
mod node;
mod render;
pub mod rules;

pub use builtin::builtins;
pub use edit::{edit_text, MAX_CONFIG_BYTES};
pub use egg::{
    export_ptdl_v2, import_egg, EggFormat, ImportWarning, Imported, MAX_EGG_BYTES,
    RESERVED_ENV_NAMES,
};
pub use error::{Error, Result};
pub use game::{GameQuerySpec, QueryProtocol};
pub use model::{
    Alt, ConfigFile, ConfigParser, DoneMatcher, DonePattern, Extra, InstallScript, LogsConfig,
    Replacement, Signal, StartupDetection, StopAction, Variable, DEFAULT_STARTUP_LABEL,
};
pub use render::{
    render_config_files, render_startup, Binding, Edit, RenderContext, RenderedConfigFile,
    RenderedStartup,
};
pub use rules::Rules;
