//! Run records on the node: one JSON file per record version,
//! `<data-dir>/schedule-runs/<server>/<seq>.json`, written atomically.
//!
//! `seq` numbers every version of every record on this node, in the order they were
//! written; a record that changes is written under a new `seq` and its older file is
//! removed, so "every record after `seq` N" is a cursor that never skips a change. The
//! newest [`KEEP_PER_SERVER`] records of a server are kept.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cap_protocol::schedule::{Outcome, ScheduleRun};
use chrono::Utc;
use uuid::Uuid;

use crate::error::{AgentError, AgentResult};
use crate::store::write_atomically;

/// Records kept per server (older ones are removed as new ones are written).
pub const KEEP_PER_SERVER: usize = 500;
/// Most records one read returns.
pub const PAGE: usize = 500;

/// The run records of every server.
pub struct Records {
    dir: PathBuf,
    index: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    last_seq: u64,
    /// Per server: seq → run id.
    servers: HashMap<Uuid, BTreeMap<u64, Uuid>>,
    /// Run id → its current seq.
    runs: HashMap<Uuid, u64>,
}

impl Records {
    /// Open `dir`, and mark every run a previous agent left `running` as `interrupted`
    /// (returned, already rewritten).
    pub fn open(dir: PathBuf) -> AgentResult<(Self, Vec<ScheduleRun>)> {
        std::fs::create_dir_all(&dir)?;
        let records = Self {
            dir,
            index: Mutex::default(),
        };
        let mut unfinished = Vec::new();
        for server_dir in std::fs::read_dir(&records.dir)? {
            let server_dir = server_dir?.path();
            let Some(server) = uuid_of(&server_dir) else {
                continue;
            };
            for file in std::fs::read_dir(&server_dir)? {
                let path = file?.path();
                match read(&path) {
                    Ok(run) if run.outcome == Outcome::Running => unfinished.push(run),
                    Ok(run) => records.remember(server, run.seq, run.id),
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "skipping unreadable run record")
                    }
                }
            }
        }
        let mut interrupted = Vec::new();
        for mut run in unfinished {
            records.remember(run.server_id, run.seq, run.id);
            run.outcome = Outcome::Interrupted;
            run.ended_at = Some(Utc::now());
            run.error = Some("the agent stopped while this run was going".into());
            for task in &mut run.tasks {
                if task.outcome == Outcome::Running {
                    task.outcome = Outcome::Interrupted;
                }
            }
            records.save(&mut run)?;
            interrupted.push(run);
        }
        Ok((records, interrupted))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember(&self, server: Uuid, seq: u64, run: Uuid) {
        let mut index = self.lock();
        index.last_seq = index.last_seq.max(seq);
        index.servers.entry(server).or_default().insert(seq, run);
        index.runs.insert(run, seq);
    }

    fn path(&self, server: Uuid, seq: u64) -> PathBuf {
        self.dir
            .join(server.to_string())
            .join(format!("{seq:020}.json"))
    }

    /// Write `run` under a new `seq` (set on it), removing its older version and the
    /// server's oldest records beyond [`KEEP_PER_SERVER`].
    pub fn save(&self, run: &mut ScheduleRun) -> AgentResult<()> {
        let (seq, previous) = {
            let mut index = self.lock();
            index.last_seq += 1;
            (index.last_seq, index.runs.get(&run.id).copied())
        };
        run.seq = seq;
        let json = serde_json::to_vec(run)
            .map_err(|e| AgentError::Internal(format!("run record: {e}")))?;
        let path = self.path(run.server_id, seq);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_atomically(&path, &json)?;
        let mut stale = Vec::new();
        {
            let mut guard = self.lock();
            let index = &mut *guard;
            index.runs.insert(run.id, seq);
            let server = index.servers.entry(run.server_id).or_default();
            server.insert(seq, run.id);
            if let Some(previous) = previous {
                server.remove(&previous);
                stale.push(previous);
            }
            while server.len() > KEEP_PER_SERVER {
                if let Some((old, id)) = server.pop_first() {
                    stale.push(old);
                    index.runs.remove(&id);
                }
            }
        }
        for old in stale {
            remove(&self.path(run.server_id, old));
        }
        Ok(())
    }

    /// The server's records with a `seq` greater than `after`, oldest first (at most
    /// [`PAGE`]).
    pub fn after(&self, server: Uuid, after: u64) -> Vec<ScheduleRun> {
        let seqs: Vec<u64> = self
            .lock()
            .servers
            .get(&server)
            .map(|runs| {
                runs.range(after.saturating_add(1)..)
                    .take(PAGE)
                    .map(|(seq, _)| *seq)
                    .collect()
            })
            .unwrap_or_default();
        seqs.into_iter()
            .filter_map(|seq| read(&self.path(server, seq)).ok())
            .collect()
    }

    /// Forget a deleted server's records.
    pub fn remove_server(&self, server: Uuid) {
        {
            let mut index = self.lock();
            if let Some(runs) = index.servers.remove(&server) {
                for id in runs.values() {
                    index.runs.remove(id);
                }
            }
        }
        let dir = self.dir.join(server.to_string());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::error!(dir = %dir.display(), error = %e, "cannot remove run records");
            }
        }
    }
}

fn uuid_of(path: &Path) -> Option<Uuid> {
    path.file_name()?.to_str()?.parse().ok()
}

fn read(path: &Path) -> Result<ScheduleRun, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::error!(path = %path.display(), error = %e, "cannot remove run record");
        }
    }
}

#[cfg(test)]
mod tests {
    use cap_protocol::schedule::{RunTrigger, TaskRecord};

    use super::*;

    fn run(server: Uuid) -> ScheduleRun {
        ScheduleRun {
            id: Uuid::new_v4(),
            seq: 0,
            server_id: server,
            schedule_id: Uuid::new_v4(),
            trigger: RunTrigger::Manual,
            started_at: Utc::now(),
            ended_at: None,
            outcome: Outcome::Running,
            error: None,
            tasks: vec![TaskRecord {
                kind: "wait".into(),
                outcome: Outcome::Running,
                error: None,
            }],
        }
    }

    #[test]
    fn changed_records_move_past_the_cursor_and_running_ones_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let server = Uuid::new_v4();
        let (records, interrupted) = Records::open(dir.path().to_path_buf()).unwrap();
        assert!(interrupted.is_empty());
        let mut first = run(server);
        records.save(&mut first).unwrap();
        let mut second = run(server);
        records.save(&mut second).unwrap();
        assert_eq!(records.after(server, 0).len(), 2);
        let cursor = second.seq;
        first.outcome = Outcome::Completed;
        records.save(&mut first).unwrap();
        let changed = records.after(server, cursor);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].id, first.id);
        assert_eq!(changed[0].outcome, Outcome::Completed);
        assert_eq!(records.after(server, 0).len(), 2, "the old version is gone");
        drop(records);

        let (records, interrupted) = Records::open(dir.path().to_path_buf()).unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(interrupted[0].id, second.id);
        assert_eq!(interrupted[0].outcome, Outcome::Interrupted);
        assert_eq!(interrupted[0].tasks[0].outcome, Outcome::Interrupted);
        assert!(interrupted[0].seq > first.seq);
        let all = records.after(server, 0);
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|r| r.outcome != Outcome::Running));
    }
}
