//! Integration tests for cap-templates: real community eggs, rule tables, config-file
//! edits on sample files, malformed input, Pelican YAML, rendering and the built-in
//! templates (including a real Luanti server when `minetest-server` is installed).

mod builtins;
mod edits;
mod eggs;
mod malformed;
mod native;
mod plcn;
mod render;
mod rules;
mod support;
