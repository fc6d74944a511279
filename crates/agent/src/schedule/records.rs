//! Run records on the node: one append-only journal, `<data-dir>/schedule-runs/journal`,
//! one JSON line per record version.
//!
//! `seq` numbers every version of every record on this node in the order they were
//! written; a record that changes is written again under a new `seq`, and its older line
//! becomes dead, so "every record after `seq` N" is a cursor that never skips a change.
//! The newest [`KEEP_PER_SERVER`] records of a server are kept.
//!
//! One writer thread appends. It takes every record queued since its last write and
//! commits them together: one `write`, one `fdatasync` (a minute mark that starts 1,000
//! runs costs one sync, not 1,000, and no runtime thread ever waits on the disk). Only
//! then are the records readable through [`Records::after`] and handed to the caller's
//! `on_durable` (the scheduler publishes them), so no event announces a record that a
//! crash could still lose, and the panel's cursor never runs ahead of the journal. When
//! dead lines outweigh live ones the journal is rewritten with the live ones alone.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use cap_protocol::schedule::{Outcome, ScheduleRun};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AgentError, AgentResult};

/// Records kept per server (older ones are dropped as new ones are written).
pub const KEEP_PER_SERVER: usize = 500;
/// Most records one read returns.
pub const PAGE: usize = 500;
/// Most queued lines one commit takes.
const BATCH: usize = 4096;
/// The journal is rewritten when it is larger than this and more than twice its live
/// lines.
const COMPACT_ABOVE: u64 = 1 << 20;

/// One line of the journal.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Line {
    /// A version of a run record.
    Run(ScheduleRun),
    /// Every record of a server is gone.
    RemovedServer { server: Uuid, seq: u64 },
    /// The highest seq given out before a compaction (the first line after one), so seqs
    /// never go back even when the newest lines were dropped.
    Seq(u64),
}

impl Line {
    fn encode(&self) -> AgentResult<Vec<u8>> {
        let mut bytes = serde_json::to_vec(self)
            .map_err(|e| AgentError::Internal(format!("run record: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn seq(&self) -> u64 {
        match self {
            Self::Run(run) => run.seq,
            Self::RemovedServer { seq, .. } | Self::Seq(seq) => *seq,
        }
    }
}

/// Where a record's line is in the journal (without its newline), and whose it is.
#[derive(Clone, Copy)]
struct Place {
    offset: u64,
    len: u32,
    run: Uuid,
}

impl Place {
    fn bytes(&self) -> u64 {
        u64::from(self.len) + 1
    }
}

/// What is durable and readable.
struct Index {
    /// The journal, for reading.
    file: File,
    /// Per server: seq → where that record is.
    servers: HashMap<Uuid, BTreeMap<u64, Place>>,
    /// Run id → its current seq.
    runs: HashMap<Uuid, u64>,
    /// The highest seq applied.
    last: u64,
    /// Bytes of live lines (against the journal's length, for compaction).
    live: u64,
}

impl Index {
    /// Take in a line written at `offset` (`len` bytes without its newline).
    fn apply(&mut self, line: &Line, offset: u64, len: u32) {
        self.last = self.last.max(line.seq());
        match line {
            Line::Run(run) => {
                let place = Place {
                    offset,
                    len,
                    run: run.id,
                };
                self.live += place.bytes();
                let server = self.servers.entry(run.server_id).or_default();
                server.insert(run.seq, place);
                if let Some(previous) = self.runs.insert(run.id, run.seq) {
                    if let Some(old) = server.remove(&previous) {
                        self.live -= old.bytes();
                    }
                }
                while server.len() > KEEP_PER_SERVER {
                    if let Some((_, old)) = server.pop_first() {
                        self.live -= old.bytes();
                        self.runs.remove(&old.run);
                    }
                }
            }
            Line::RemovedServer { server, .. } => {
                for old in self
                    .servers
                    .remove(server)
                    .into_iter()
                    .flat_map(|s| s.into_values())
                {
                    self.live -= old.bytes();
                    self.runs.remove(&old.run);
                }
            }
            Line::Seq(_) => {}
        }
    }

    fn read(&self, place: Place) -> Result<ScheduleRun, String> {
        let mut bytes = vec![0; place.len as usize];
        self.file
            .read_exact_at(&mut bytes, place.offset)
            .map_err(|e| e.to_string())?;
        match serde_json::from_slice(&bytes).map_err(|e| e.to_string())? {
            Line::Run(run) => Ok(run),
            _ => Err("not a run record".into()),
        }
    }
}

/// Queued for the writer.
enum Pending {
    Line(Line),
    /// Answered once everything queued before it is durable.
    Flush(mpsc::Sender<()>),
}

/// The appending end of the journal (the writer thread's, after [`Records::open`]).
struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Append `lines` (each ending in a newline) in one write and one sync; the offset
    /// of each.
    fn append(&mut self, lines: &[Vec<u8>]) -> std::io::Result<Vec<u64>> {
        let mut offsets = Vec::with_capacity(lines.len());
        let mut end = self.len;
        for line in lines {
            offsets.push(end);
            end += line.len() as u64;
        }
        if lines.is_empty() {
            return Ok(offsets);
        }
        let written = (&self.file)
            .write_all(&lines.concat())
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Leave no half line behind for the next commit to follow.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len = end;
        Ok(offsets)
    }

    /// Append `lines` and take them into `index`.
    fn commit(&mut self, lines: &[Line], index: &mut Index) -> AgentResult<()> {
        let encoded = lines
            .iter()
            .map(Line::encode)
            .collect::<AgentResult<Vec<_>>>()?;
        for ((line, bytes), offset) in lines.iter().zip(&encoded).zip(self.append(&encoded)?) {
            index.apply(line, offset, (bytes.len() - 1) as u32);
        }
        Ok(())
    }
}

/// The run records of every server.
pub struct Records {
    index: Arc<Mutex<Index>>,
    /// The last seq given out, and the writer's queue (sent to under this lock, so the
    /// queue is in seq order).
    queue: Mutex<(u64, mpsc::Sender<Pending>)>,
    writer: Option<JoinHandle<()>>,
}

impl Records {
    /// Open the journal in `dir`, and mark every run a previous agent left `running` as
    /// `interrupted` (returned, already durable). `on_durable` gets each later commit's
    /// records once they are on disk.
    pub fn open(
        dir: PathBuf,
        on_durable: impl Fn(Vec<ScheduleRun>) + Send + 'static,
    ) -> AgentResult<(Self, Vec<ScheduleRun>)> {
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("journal");
        let mut journal = Journal {
            file: OpenOptions::new().create(true).append(true).open(&path)?,
            len: 0,
            path,
        };
        File::open(&dir)?.sync_all()?;
        let mut index = Index {
            file: File::open(&journal.path)?,
            servers: HashMap::new(),
            runs: HashMap::new(),
            last: 0,
            live: 0,
        };
        let stale = replay(&mut journal, &mut index)?;
        let legacy = legacy_records(&dir);
        let mut last = legacy.iter().map(|run| run.seq).fold(index.last, u64::max);
        let (mut rewritten, mut unfinished) = (Vec::new(), Vec::new());
        for mut run in legacy.into_iter().chain(stale) {
            if run.outcome == Outcome::Running {
                interrupt(&mut run);
                unfinished.push(run.id);
            }
            last += 1;
            run.seq = last;
            rewritten.push(Line::Run(run));
        }
        journal.commit(&rewritten, &mut index)?;
        remove_legacy(&dir);
        let interrupted = rewritten
            .into_iter()
            .filter_map(|line| match line {
                Line::Run(run) if unfinished.contains(&run.id) => Some(run),
                _ => None,
            })
            .collect();
        let index = Arc::new(Mutex::new(index));
        let (sender, receiver) = mpsc::channel();
        let shared = index.clone();
        let writer = std::thread::Builder::new()
            .name("schedule-records".into())
            .spawn(move || write_loop(journal, &shared, &receiver, &on_durable))?;
        Ok((
            Self {
                index,
                queue: Mutex::new((last, sender)),
                writer: Some(writer),
            },
            interrupted,
        ))
    }

    /// Queue a line under the next seq (given to `line`).
    fn queue(&self, line: impl FnOnce(u64) -> Line) -> bool {
        let mut queue = lock(&self.queue);
        queue.0 += 1;
        let pending = Pending::Line(line(queue.0));
        queue.1.send(pending).is_ok()
    }

    /// Queue `run` for writing under a new `seq` (set on it). It becomes readable, and
    /// reaches `on_durable`, once it is on disk.
    pub fn save(&self, run: &mut ScheduleRun) {
        let queued = self.queue(|seq| {
            run.seq = seq;
            Line::Run(run.clone())
        });
        if !queued {
            tracing::error!(run = %run.id, "the schedule record writer has stopped; record not stored");
        }
    }

    /// Forget a deleted server's records.
    pub fn remove_server(&self, server: Uuid) {
        if !self.queue(|seq| Line::RemovedServer { server, seq }) {
            tracing::error!(%server, "the schedule record writer has stopped; records not removed");
        }
    }

    /// Wait until everything queued so far is on disk.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if lock(&self.queue).1.send(Pending::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// The server's records with a `seq` greater than `after`, oldest first (at most
    /// [`PAGE`]).
    pub fn after(&self, server: Uuid, after: u64) -> Vec<ScheduleRun> {
        let index = lock(&self.index);
        let Some(runs) = index.servers.get(&server) else {
            return Vec::new();
        };
        runs.range(after.saturating_add(1)..)
            .take(PAGE)
            .filter_map(|(seq, place)| match index.read(*place) {
                Ok(run) => Some(run),
                Err(e) => {
                    tracing::error!(seq, error = %e, "unreadable run record");
                    None
                }
            })
            .collect()
    }
}

impl Drop for Records {
    /// Close the queue and wait for the writer to commit what it holds.
    fn drop(&mut self) {
        let (closed, _) = mpsc::channel();
        drop(std::mem::replace(&mut lock(&self.queue).1, closed));
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mark a run that was going when its agent stopped.
fn interrupt(run: &mut ScheduleRun) {
    run.outcome = Outcome::Interrupted;
    run.ended_at = Some(Utc::now());
    run.error = Some("the agent stopped while this run was going".into());
    for task in &mut run.tasks {
        if task.outcome == Outcome::Running {
            task.outcome = Outcome::Interrupted;
        }
    }
}

/// Read the journal into `index`; the kept runs whose latest version is still
/// `running`, oldest first. A torn last line (a crash mid-write) is cut off.
fn replay(journal: &mut Journal, index: &mut Index) -> AgentResult<Vec<ScheduleRun>> {
    let mut reader = BufReader::new(File::open(&journal.path)?);
    let mut running: HashMap<Uuid, ScheduleRun> = HashMap::new();
    let (mut offset, mut bytes) = (0u64, Vec::new());
    loop {
        bytes.clear();
        let read = reader.read_until(b'\n', &mut bytes)? as u64;
        if read == 0 {
            break;
        }
        let parsed = bytes
            .strip_suffix(b"\n")
            .ok_or_else(|| "no end of line".to_owned())
            .and_then(|line| serde_json::from_slice::<Line>(line).map_err(|e| e.to_string()));
        match parsed {
            Ok(line) => {
                if let Line::Run(run) = &line {
                    if run.outcome == Outcome::Running {
                        running.insert(run.id, run.clone());
                    } else {
                        running.remove(&run.id);
                    }
                }
                index.apply(&line, offset, (read - 1) as u32);
            }
            Err(e) if reader.fill_buf()?.is_empty() => {
                tracing::warn!(error = %e, "cutting off the torn last line of the schedule run journal");
                journal.file.set_len(offset)?;
                break;
            }
            Err(e) => tracing::error!(offset, error = %e, "skipping an unreadable run record"),
        }
        offset += read;
    }
    journal.len = offset;
    // Runs dropped since (pruned, or of a removed server) stay out.
    let mut running: Vec<ScheduleRun> = running
        .into_values()
        .filter(|run| index.runs.get(&run.id) == Some(&run.seq))
        .collect();
    running.sort_by_key(|run| run.seq);
    Ok(running)
}

/// The records of agents before the journal (one file per record under
/// `<dir>/<server>/`), oldest first, to be written into it.
fn legacy_records(dir: &Path) -> Vec<ScheduleRun> {
    let mut runs: Vec<ScheduleRun> = legacy_dirs(dir)
        .flat_map(|server| std::fs::read_dir(server).into_iter().flatten().flatten())
        .filter_map(|file| serde_json::from_slice(&std::fs::read(file.path()).ok()?).ok())
        .collect();
    runs.sort_by_key(|run: &ScheduleRun| run.seq);
    runs
}

fn legacy_dirs(dir: &Path) -> impl Iterator<Item = PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_dir()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.parse::<Uuid>().is_ok())
        })
}

fn remove_legacy(dir: &Path) {
    for server in legacy_dirs(dir) {
        if let Err(e) = std::fs::remove_dir_all(&server) {
            tracing::error!(dir = %server.display(), error = %e, "cannot remove old run records");
        }
    }
}

/// The writer thread: commit what is queued, make it readable, hand it on.
fn write_loop(
    mut journal: Journal,
    index: &Mutex<Index>,
    queue: &mpsc::Receiver<Pending>,
    on_durable: &dyn Fn(Vec<ScheduleRun>),
) {
    while let Ok(first) = queue.recv() {
        let mut lines = Vec::new();
        let mut waiting = Vec::new();
        let mut next = Some(first);
        while let Some(pending) = next {
            match pending {
                Pending::Line(line) => lines.push(line),
                Pending::Flush(done) => waiting.push(done),
            }
            next = (lines.len() < BATCH)
                .then(|| queue.try_recv().ok())
                .flatten();
        }
        let mut guard = lock(index);
        let committed = journal.commit(&lines, &mut guard);
        if committed.is_ok() && journal.len > COMPACT_ABOVE && journal.len > 2 * guard.live {
            if let Err(e) = compact(&mut journal, &mut guard) {
                tracing::error!(error = %e, "cannot compact the schedule run journal");
            }
        }
        drop(guard);
        match committed {
            Ok(()) => on_durable(
                lines
                    .into_iter()
                    .filter_map(|line| match line {
                        Line::Run(run) => Some(run),
                        _ => None,
                    })
                    .collect(),
            ),
            Err(e) => {
                tracing::error!(error = %e, records = lines.len(), "cannot write schedule run records; they are lost")
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}

/// Rewrite the journal with its live lines alone, oldest first, after a line holding
/// the highest seq given out.
fn compact(journal: &mut Journal, index: &mut Index) -> AgentResult<()> {
    let mut live: Vec<(u64, Uuid, Place)> = index
        .servers
        .iter()
        .flat_map(|(server, runs)| runs.iter().map(|(seq, place)| (*seq, *server, *place)))
        .collect();
    live.sort_by_key(|(seq, _, _)| *seq);
    let fresh = journal.path.with_extension("new");
    let mut out = BufWriter::new(File::create(&fresh)?);
    let mark = Line::Seq(index.last).encode()?;
    out.write_all(&mark)?;
    let mut offset = mark.len() as u64;
    let mut moved = Vec::with_capacity(live.len());
    let mut bytes = Vec::new();
    for (seq, server, place) in live {
        bytes.clear();
        bytes.resize(place.len as usize, 0);
        index.file.read_exact_at(&mut bytes, place.offset)?;
        bytes.push(b'\n');
        out.write_all(&bytes)?;
        moved.push((seq, server, Place { offset, ..place }));
        offset += place.bytes();
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&fresh, &journal.path)?;
    if let Some(dir) = journal.path.parent() {
        File::open(dir)?.sync_all()?;
    }
    journal.file = OpenOptions::new().append(true).open(&journal.path)?;
    journal.len = offset;
    index.file = File::open(&journal.path)?;
    index.live = offset - mark.len() as u64;
    for (seq, server, place) in moved {
        if let Some(runs) = index.servers.get_mut(&server) {
            runs.insert(seq, place);
        }
    }
    Ok(())
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

    fn open(dir: &Path) -> (Records, Vec<ScheduleRun>, mpsc::Receiver<Vec<ScheduleRun>>) {
        let (sender, published) = mpsc::channel();
        let (records, interrupted) = Records::open(dir.to_path_buf(), move |runs| {
            let _ = sender.send(runs);
        })
        .unwrap();
        (records, interrupted, published)
    }

    #[test]
    fn changed_records_move_past_the_cursor_and_running_ones_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let server = Uuid::new_v4();
        let (records, interrupted, published) = open(dir.path());
        assert!(interrupted.is_empty());
        let mut first = run(server);
        records.save(&mut first);
        let mut second = run(server);
        records.save(&mut second);
        records.flush();
        let announced: Vec<Uuid> = published.try_iter().flatten().map(|r| r.id).collect();
        assert_eq!(
            announced,
            [first.id, second.id],
            "durable records are handed on in order"
        );
        assert_eq!(records.after(server, 0).len(), 2);
        let cursor = second.seq;
        first.outcome = Outcome::Completed;
        records.save(&mut first);
        records.flush();
        let changed = records.after(server, cursor);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].id, first.id);
        assert_eq!(changed[0].outcome, Outcome::Completed);
        assert_eq!(records.after(server, 0).len(), 2, "the old version is gone");
        drop(records);

        let (records, interrupted, _) = open(dir.path());
        assert_eq!(interrupted.len(), 1);
        assert_eq!(interrupted[0].id, second.id);
        assert_eq!(interrupted[0].outcome, Outcome::Interrupted);
        assert_eq!(interrupted[0].tasks[0].outcome, Outcome::Interrupted);
        assert!(interrupted[0].seq > first.seq);
        let all = records.after(server, 0);
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|r| r.outcome != Outcome::Running));
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_removed_servers_stay_removed() {
        let dir = tempfile::tempdir().unwrap();
        let (kept, gone) = (Uuid::new_v4(), Uuid::new_v4());
        let (records, _, _) = open(dir.path());
        let mut done = run(kept);
        done.outcome = Outcome::Completed;
        records.save(&mut done);
        records.save(&mut run(gone));
        records.remove_server(gone);
        drop(records);
        let path = dir.path().join("journal");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"run\":{\"id\":").unwrap();

        let (records, interrupted, _) = open(dir.path());
        assert!(
            interrupted.is_empty(),
            "the removed server's running run stays gone"
        );
        assert!(records.after(gone, 0).is_empty());
        assert_eq!(records.after(kept, 0)[0].id, done.id);
        let mut next = run(kept);
        records.save(&mut next);
        records.flush();
        assert!(next.seq > done.seq);
        assert_eq!(
            records.after(kept, done.seq)[0].id,
            next.id,
            "appends after the cut"
        );
    }

    #[test]
    fn compaction_keeps_the_newest_records_and_their_cursor_order() {
        let dir = tempfile::tempdir().unwrap();
        let server = Uuid::new_v4();
        let (records, _, _) = open(dir.path());
        let mut last = Vec::new();
        for _ in 0..KEEP_PER_SERVER * 6 {
            let mut record = run(server);
            record.error = Some("x".repeat(200));
            records.save(&mut record);
            record.outcome = Outcome::Completed;
            records.save(&mut record);
            last.push(record.id);
        }
        records.flush();
        let size = std::fs::metadata(dir.path().join("journal")).unwrap().len();
        let kept = records.after(server, 0);
        assert_eq!(kept.len(), KEEP_PER_SERVER);
        assert_eq!(kept.last().unwrap().id, *last.last().unwrap());
        assert!(kept.windows(2).all(|w| w[0].seq < w[1].seq));
        assert!(
            size < 2 * COMPACT_ABOVE,
            "journal of {size} bytes was compacted"
        );
        drop(records);
        let (records, _, _) = open(dir.path());
        let reopened: Vec<Uuid> = records.after(server, 0).iter().map(|r| r.id).collect();
        assert_eq!(reopened, kept.iter().map(|r| r.id).collect::<Vec<_>>());
    }
}
