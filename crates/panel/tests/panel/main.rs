//! The panel's integration tests: one binary, one module per area.
//! Runs on SQLite by default; set CAP_TEST_DATABASE_URL to a PostgreSQL admin URL
//! (e.g. postgres://cap:cap@127.0.0.1/postgres) to run the same suite on PostgreSQL.

mod allocations_api;
mod api_basics;
mod audit_atomicity;
mod auth;
mod backups;
mod databases;
mod docker_runtime;
mod e2e;
mod local_agent;
mod monitoring_api;
mod openapi_api;
mod players_api;
mod processes;
mod pterodactyl;
mod pterodactyl_databases;
mod pterodactyl_network;
mod pterodactyl_routes;
mod pterodactyl_schedules;
mod pterodactyl_websocket;
mod rbac;
#[allow(dead_code)]
#[path = "../../../agent/tests/agent/s3_server.rs"]
mod s3_server;
mod schedules_api;
mod schema;
mod security;
mod servers_api;
mod servers_on_agent;
mod sftp;
mod startup;
mod support;
mod templates_api;
mod tls;
mod two_factor;
mod users_api;
