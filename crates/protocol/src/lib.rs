//! Wire types shared by the panel and the agent. This crate performs no I/O.
//!
//! Everything here is serialised as JSON with `camelCase` field names; enum *values* that
//! name a state (`install_failed`) use `snake_case`. Timestamps are RFC 3339 strings in UTC.
//!
//! # The agent's HTTP API
//!
//! Every route except `GET /health` requires `Authorization: Bearer <node token>`.
//! Successful responses are wrapped in [`envelope::Success`], failures in
//! [`envelope::Failure`] (see [`envelope::ErrorCode`] for the codes and HTTP statuses).
//!
//! | method & path | request | `data` of the response |
//! |---|---|---|
//! | `GET /health` (no auth) | — | [`system::Health`] (not enveloped) |
//! | `GET /api/system` | — | [`system::SystemInfo`] |
//! | `GET /api/ports/{port}` | — | [`system::PortStatus`] |
//! | `GET /api/servers` | — | `Vec<`[`server::ServerInfo`]`>` |
//! | `PUT /api/servers/{id}` | [`server::ServerDefinition`] | [`server::ServerInfo`] |
//! | `GET /api/servers/{id}` | — | [`server::ServerInfo`] |
//! | `DELETE /api/servers/{id}?purge=true` | — | `null` |
//! | `POST /api/command` | [`command::AgentCommand`] | [`command::AgentResponse`] |
//! | `POST /api/servers/{id}/install` | — | [`server::ServerInfo`] |
//! | `GET /api/servers/{id}/stats` | — | [`server::ServerStats`] |
//! | `GET /api/servers/{id}/console?lines=N` | — | [`console::ConsoleHistory`] |
//! | `POST /api/servers/{id}/console` | [`console::ConsoleInput`] | `null` |
//! | `GET /api/servers/{id}/files/list?path=` | — | `Vec<`[`files::FileEntry`]`>` |
//! | `GET /api/servers/{id}/files/stat?path=` | — | [`files::FileEntry`] |
//! | `GET /api/servers/{id}/files/read?path=` | — | [`files::FileContent`] |
//! | `POST /api/servers/{id}/files/write` | [`files::WriteFile`] | [`files::FileEntry`] |
//! | `POST /api/servers/{id}/files/mkdir` | [`files::PathRequest`] | [`files::FileEntry`] |
//! | `POST /api/servers/{id}/files/rename` | [`files::MoveRequest`] | [`files::FileEntry`] |
//! | `POST /api/servers/{id}/files/copy` | [`files::MoveRequest`] | [`files::FileEntry`] |
//! | `POST /api/servers/{id}/files/delete` | [`files::DeleteRequest`] | `null` |
//! | `POST /api/servers/{id}/files/chmod` | [`files::ChmodRequest`] | [`files::FileEntry`] |
//! | `PUT /api/servers/{id}/files/upload?path=` | raw body (streamed) | [`files::FileEntry`] |
//! | `GET /api/servers/{id}/files/download?path=` | — | raw bytes (streamed, not enveloped) |
//! | `POST /api/servers/{id}/files/compress` | [`files::CompressRequest`] | [`files::FileEntry`] |
//! | `POST /api/servers/{id}/files/decompress` | [`files::DecompressRequest`] | `null` |
//! | `GET /api/events` (WebSocket) | — | stream of [`events::AgentEvent`] text frames |
//!
//! File paths are always relative to the server's directory (`""` or `"/"`-free paths such
//! as `"world/level.dat"`); `..`, absolute paths, NUL bytes, symlinks leading outside the
//! directory and special files are refused with `VALIDATION_ERROR`.

pub mod command;
pub mod console;
pub mod envelope;
pub mod events;
pub mod files;
pub mod server;
pub mod system;
