//! Persistence of server definitions and process records in the data directory.
//!
//! Each server is one JSON file `<data-dir>/definitions/<id>.json`, written atomically
//! (temporary file, fsync, rename, fsync of the directory).

use std::io::Write;
use std::path::{Path, PathBuf};

use cap_protocol::server::{ServerDefinition, ServerState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AgentResult;

/// What is stored for one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredServer {
    /// The definition (its `desiredState` is the persisted desired state).
    pub definition: ServerDefinition,
    /// The game process last started, so a restarted agent can clean it up.
    #[serde(default)]
    pub process: Option<ProcessRecord>,
    /// The failed state the server was left in (`crashed`, `install_failed`), shown again
    /// after an agent restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A failed state with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// `crashed` or `install_failed`.
    pub state: ServerState,
    /// Why, as the status message said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Exit code of the process that failed, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

/// Identifies a process across agent restarts (PID plus kernel start time, so a reused
/// PID is not mistaken for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessRecord {
    /// PID (also the process group and session id).
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
}

/// The definitions directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Open (and create) `<data_dir>/definitions`.
    pub fn open(data_dir: &Path) -> AgentResult<Self> {
        let dir = data_dir.join("definitions");
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Every stored server; unreadable files are logged and skipped.
    pub fn load_all(&self) -> AgentResult<Vec<StoredServer>> {
        let mut servers = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<StoredServer>(&bytes).map_err(|e| e.to_string())
                });
            match parsed {
                Ok(server) => servers.push(server),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "skipping unreadable definition")
                }
            }
        }
        Ok(servers)
    }

    /// Write one server atomically; a file that already holds exactly this is left alone
    /// (an agent taking over its running games re-saves every server unchanged, and two
    /// fsyncs per server would dominate its start-up).
    pub fn save(&self, server: &StoredServer) -> AgentResult<()> {
        let json = serde_json::to_vec_pretty(server)
            .map_err(|e| crate::error::AgentError::Internal(e.to_string()))?;
        let path = self.path(server.definition.id);
        if std::fs::read(&path).is_ok_and(|stored| stored == json) {
            return Ok(());
        }
        write_atomically(&path, &json)
    }

    /// Forget a server.
    pub fn remove(&self, id: Uuid) -> AgentResult<()> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => sync_dir(&self.dir),
        }
    }
}

/// Write a file so that readers see either the old or the new content, even after a
/// crash: temporary file in the same directory, fsync, rename, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> AgentResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> AgentResult<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let definition: ServerDefinition = serde_json::from_value(serde_json::json!({
            "id": Uuid::new_v4(), "startup": "echo hi"
        }))
        .unwrap();
        let stored = StoredServer {
            definition: definition.clone(),
            process: Some(ProcessRecord {
                pid: 42,
                start_ticks: 7,
            }),
            failure: Some(Failure {
                state: ServerState::InstallFailed,
                message: Some("install script exited with code 3".into()),
                exit_code: Some(3),
            }),
        };
        store.save(&stored).unwrap();
        std::fs::write(dir.path().join("definitions/broken.json"), b"{").unwrap();
        let loaded = store.load_all().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].definition, definition);
        assert_eq!(loaded[0].process, stored.process);
        assert_eq!(loaded[0].failure, stored.failure);
        store.remove(definition.id).unwrap();
        assert_eq!(store.load_all().unwrap().len(), 0);
    }

    #[test]
    fn saving_what_is_stored_already_rewrites_nothing() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut stored = StoredServer {
            definition: serde_json::from_value(serde_json::json!({
                "id": Uuid::new_v4(), "startup": "echo hi"
            }))
            .unwrap(),
            process: None,
            failure: None,
        };
        let path = store.path(stored.definition.id);
        let inode = |p: &Path| std::fs::metadata(p).unwrap().ino();
        store.save(&stored).unwrap();
        let first = inode(&path);
        store.save(&stored).unwrap();
        assert_eq!(inode(&path), first, "an unchanged save replaced the file");
        stored.process = Some(ProcessRecord {
            pid: 9,
            start_ticks: 1,
        });
        store.save(&stored).unwrap();
        assert_ne!(inode(&path), first, "a changed save must replace the file");
        assert_eq!(store.load_all().unwrap()[0].process, stored.process);
    }
}
