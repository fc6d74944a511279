//! Integration tests for cap-templates: real community eggs, rule tables, config-file
//! edits on sample files, malformed input, Pelican YAML, built-in templates.

mod eggs;
mod support;
