//! Integration tests of the agent: real processes (the `cap-testgame` binary, and the real
//! `cap-agent` binary where the agent itself is killed), real sockets on 127.0.0.1, real
//! files in temporary directories.

mod api;
mod backups;
mod config_files;
mod console_sequences;
mod data_dir;
mod disk_quota;
mod docker;
mod docker_images;
mod environment;
mod failed_states;
mod files;
mod flood;
mod game_query;
mod games;
mod isolation;
mod jail_links;
mod join;
mod lifecycle;
mod restore;
mod s3_server;
mod schedules;
mod support;
