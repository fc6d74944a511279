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
//! | `POST /api/servers/{id}/backups` | [`backup::CreateBackup`] | [`backup::BackupRecord`] (at once) |
//! | `GET /api/backups` | — | `Vec<`[`backup::BackupRecord`]`>` |
//! | `GET /api/backups/{id}` | — | [`backup::BackupRecord`] |
//! | `GET /api/backups/{id}/download` | — | the local archive (streamed, not enveloped) |
//! | `DELETE /api/backups/{id}` | — | `null` (the local archive and the record) |
//! | `POST /api/servers/{id}/backups/{backupId}/restore` | [`backup::RestoreRequest`] | [`backup::RestoreRecord`] (at once) |
//! | `GET /api/servers/{id}/restore` | — | [`backup::RestoreRecord`] of the last restore |
//! | `POST /api/servers/{id}/schedules/{scheduleId}/run` | — | [`schedule::RunStarted`] |
//! | `GET /api/servers/{id}/schedule-runs?after=SEQ` | — | `Vec<`[`schedule::ScheduleRun`]`>` (oldest first) |
//! | `GET /api/events` (WebSocket) | — | stream of [`events::AgentEvent`] text frames; also [`sftp::SftpRequest`] up and [`sftp::SftpAnswer`] down |
//!
//! File paths are always relative to the server's directory (`""` or `"/"`-free paths such
//! as `"world/level.dat"`); `..`, absolute paths, NUL bytes, symlinks leading outside the
//! directory and special files are refused with `VALIDATION_ERROR`.
//!
//! # Running games
//!
//! A server runs `/bin/sh -c <startup>` in its directory, in its own session; stop signals
//! go to the whole process group, so they reach the game behind the shell. A server that
//! exits while `stopping` (whatever its exit status, including death by the stop signal)
//! is `offline`, never `crashed`. The environment rules (`PATH`, `HOME`, `SERVER_DIR`) are
//! described on [`server::ServerDefinition`]; config-file edits in [`config_files`].
//!
//! # Joining a panel
//!
//! `cap-agent join PANEL_URL JOIN_TOKEN [--data-dir DIR] [--listen ADDR:PORT]
//! [--insecure-http] [--run]` registers the agent with the panel (see [`join`]): it
//! creates or loads the TLS identity, sends the join token and certificate fingerprint,
//! stores the node token it gets back in the token file and the port in
//! `<data-dir>/agent.toml` (or the `--config` file), then prints the command that starts
//! the agent (`--run` starts it at once).
//!
//! # The data directory
//!
//! One agent owns a data directory: it holds an exclusive lock on `<data-dir>/agent.lock`
//! while it runs (the file records its PID). A second agent, or a `join`, on the same
//! directory exits at once with an error naming the holder.

pub mod backup;
pub mod command;
pub mod config_files;
pub mod console;
pub mod envelope;
pub mod events;
pub mod files;
pub mod game;
pub mod join;
pub mod runtime;
pub mod schedule;
pub mod server;
pub mod sftp;
pub mod system;
pub mod validation;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::command::{AgentCommand, AgentResponse, CommandStatus};
    use crate::events::{AgentEvent, EventKind};
    use crate::server::{ServerDefinition, ServerState};

    #[test]
    fn command_and_response_keep_the_spec_shapes() {
        let command: AgentCommand = serde_json::from_value(json!({
            "action": "start", "serverId": "6f0c3c36-5c1e-4bb7-9d59-1e1b1e8f2a10",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "metadata": {"requestId": "r1", "userId": "u1"}
        }))
        .unwrap();
        assert_eq!(
            serde_json::to_value(&command).unwrap()["metadata"]["userId"],
            "u1"
        );
        let response: AgentResponse = serde_json::from_value(json!({
            "status": "running", "state": "running", "serverId": command.server_id,
            "timestamp": "2026-01-01T00:00:01Z", "message": "ok",
            "data": {"processId": "42", "port": 25565, "resources": {"cpu": "1.5", "memory": "1024"}}
        }))
        .unwrap();
        assert_eq!(response.status, CommandStatus::Running);
        assert_eq!(
            CommandStatus::from(ServerState::InstallFailed),
            CommandStatus::Error
        );
        assert_eq!(
            serde_json::to_value(ServerState::InstallFailed).unwrap(),
            "install_failed"
        );
    }

    #[test]
    fn events_are_flat_objects_tagged_by_type() {
        let event = AgentEvent {
            seq: 7,
            timestamp: chrono::Utc::now(),
            kind: EventKind::Console {
                server_id: uuid::Uuid::nil(),
                lines: vec!["hi".into()],
            },
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["type"], "console");
        assert_eq!(value["seq"], 7);
        assert_eq!(value["lines"][0], "hi");
        assert_eq!(serde_json::from_value::<AgentEvent>(value).unwrap(), event);
    }

    #[test]
    fn definitions_have_defaults_and_validate() {
        let definition: ServerDefinition = serde_json::from_value(json!({
            "id": uuid::Uuid::nil(), "startup": "java -jar server.jar"
        }))
        .unwrap();
        assert_eq!(definition.stop.grace_seconds, 30);
        assert!(definition.crash_policy.auto_restart);
        assert_eq!(definition.runtime, crate::runtime::RuntimeKind::Native);
        assert!(definition.validate().is_ok());
        let other = json!({"id": uuid::Uuid::nil(), "startup": "x", "runtime": "vm"});
        assert!(serde_json::from_value::<ServerDefinition>(other).is_err());
        let mut bad = definition;
        bad.startup = " ".into();
        bad.ports = vec![0];
        let errors = bad.validate().unwrap_err();
        assert_eq!(errors.len(), 2);
    }
}
