//! Executing one run: its tasks in order, under the schedule's deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cap_protocol::backup::{BackupStatus, CreateBackup};
use cap_protocol::events::EventKind;
use cap_protocol::schedule::{
    LinePattern, Outcome, PowerAction, RunTrigger, Schedule, ScheduleRun, TaskAction, TaskRecord,
};
use chrono::Utc;
use futures_util::future::BoxFuture;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{Compiled, Scheduler};
use crate::error::AgentResult;
use crate::supervisor::NOTICE_PREFIX;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A record for a run that starts now.
pub(super) fn new_record(schedule: &Schedule, server: Uuid, trigger: RunTrigger) -> ScheduleRun {
    ScheduleRun {
        id: Uuid::now_v7(),
        seq: 0,
        server_id: server,
        schedule_id: schedule.id,
        trigger,
        started_at: Utc::now(),
        ended_at: None,
        outcome: Outcome::Running,
        error: None,
        tasks: Vec::new(),
    }
}

/// Turn a record into that of a skipped run.
pub(super) fn skip(record: &mut ScheduleRun, reason: &str) {
    record.outcome = Outcome::Skipped;
    record.error = Some(reason.to_owned());
    record.ended_at = Some(record.started_at);
}

impl Scheduler {
    /// Run the tasks of `entry` in order, recording each in `record` (stored as each
    /// task starts); the run fails when a task fails without `continueOnFailure`, or
    /// when the deadline passes.
    pub(super) async fn execute(
        self: &Arc<Self>,
        entry: &Compiled,
        record: ScheduleRun,
    ) -> ScheduleRun {
        let shared = Arc::new(Mutex::new(record));
        let deadline = Duration::from_secs(entry.schedule.deadline_seconds);
        let outcome = tokio::time::timeout(deadline, self.run_tasks(entry, shared.clone())).await;
        let mut record = lock(&shared).clone();
        record.outcome = match outcome {
            Ok(Ok(())) => Outcome::Completed,
            Ok(Err(message)) => {
                record.error = Some(message);
                Outcome::Failed
            }
            Err(_) => {
                let message = format!(
                    "the run did not finish within its deadline of {} s",
                    entry.schedule.deadline_seconds
                );
                if let Some(task) = record
                    .tasks
                    .iter_mut()
                    .find(|t| t.outcome == Outcome::Running)
                {
                    task.outcome = Outcome::Failed;
                    task.error = Some(message.clone());
                }
                record.error = Some(message);
                Outcome::Failed
            }
        };
        let reached = record.tasks.len();
        for task in &entry.schedule.tasks[reached..] {
            record.tasks.push(TaskRecord {
                kind: task.action.kind().into(),
                outcome: Outcome::Skipped,
                error: None,
            });
        }
        record.ended_at = Some(Utc::now());
        record
    }

    async fn run_tasks(
        self: &Arc<Self>,
        entry: &Compiled,
        record: Arc<Mutex<ScheduleRun>>,
    ) -> Result<(), String> {
        let set = |index: usize, outcome: Outcome, error: Option<String>| {
            let mut record = lock(&record);
            record.tasks[index].outcome = outcome;
            record.tasks[index].error = error;
        };
        for (index, task) in entry.schedule.tasks.iter().enumerate() {
            let mut started = {
                let mut record = lock(&record);
                record.tasks.push(TaskRecord {
                    kind: task.action.kind().into(),
                    outcome: Outcome::Running,
                    error: None,
                });
                record.clone()
            };
            self.save(&mut started);
            match self.run_task(entry.server, &task.action).await {
                Ok(()) => set(index, Outcome::Completed, None),
                Err(message) => {
                    set(index, Outcome::Failed, Some(message.clone()));
                    if !task.continue_on_failure {
                        return Err(format!(
                            "task {} ({}) failed: {message}",
                            index + 1,
                            task.action.kind()
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    async fn run_task(
        self: &Arc<Self>,
        server_id: Uuid,
        action: &TaskAction,
    ) -> Result<(), String> {
        let server = self.supervisor.get(server_id).map_err(|e| e.to_string())?;
        // The futures of power actions and backups are large (kilobytes) and those of
        // waits small: the larger ones are boxed, so that a run holds them only while
        // such a task is going, and a thousand runs waiting cost little memory.
        match action {
            TaskAction::Command { command } => {
                server.send_command(command).map_err(|e| e.to_string())
            }
            TaskAction::Power { action } => {
                let power: BoxFuture<'_, AgentResult<()>> = match action {
                    PowerAction::Start => Box::pin(server.start()),
                    PowerAction::Stop => Box::pin(server.stop()),
                    PowerAction::Restart => Box::pin(server.restart()),
                    PowerAction::Kill => Box::pin(server.kill()),
                };
                power.await.map_err(|e| e.to_string())
            }
            TaskAction::Backup { format, ignored } => {
                Box::pin(self.backup(server_id, *format, ignored.clone())).await
            }
            TaskAction::Wait { seconds } => {
                tokio::time::sleep(Duration::from_secs(*seconds)).await;
                Ok(())
            }
            TaskAction::WaitForLine {
                pattern,
                timeout_seconds,
            } => {
                let pattern = LinePattern::compile(pattern)?;
                let limit = Duration::from_secs(*timeout_seconds);
                let events = self.bus.listen();
                Box::pin(tokio::time::timeout(
                    limit,
                    wait_for_line(events, server_id, &pattern),
                ))
                .await
                .map_err(|_| format!("no console line matched within {timeout_seconds} s"))?
            }
        }
    }

    /// A backup kept on the node; waits until it ended.
    async fn backup(
        self: &Arc<Self>,
        server: Uuid,
        format: cap_protocol::backup::BackupFormat,
        ignored: Vec<String>,
    ) -> Result<(), String> {
        let mut events = self.bus.listen();
        let request = CreateBackup {
            backup_id: Uuid::new_v4(),
            format,
            ignored,
            s3: None,
        };
        let id = request.backup_id;
        self.backups
            .create(server, request)
            .map_err(|e| format!("cannot start the backup: {e}"))?;
        loop {
            let record = match self.backups.get(id) {
                Ok(record) if record.status.is_final() => record,
                Ok(_) => {
                    next_backup_event(&mut events, id).await?;
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            return match record.status {
                BackupStatus::Completed => Ok(()),
                _ => Err(format!(
                    "backup {id} failed: {}",
                    record.error.as_deref().unwrap_or("no reason given")
                )),
            };
        }
    }
}

/// Wait for the next event about backup `id` (or for the stream to lag, which also
/// means "look again").
async fn next_backup_event(
    events: &mut broadcast::Receiver<Arc<EventKind>>,
    id: Uuid,
) -> Result<(), String> {
    loop {
        match events.recv().await {
            Ok(event) => {
                if matches!(&*event, EventKind::Backup { backup } if backup.id == id) {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => return Ok(()),
            Err(broadcast::error::RecvError::Closed) => {
                return Err("the agent is shutting down".into())
            }
        }
    }
}

/// Wait for a console line of `server` (not an agent notice) that matches.
async fn wait_for_line(
    mut events: broadcast::Receiver<Arc<EventKind>>,
    server: Uuid,
    pattern: &LinePattern,
) -> Result<(), String> {
    loop {
        match events.recv().await {
            Ok(event) => {
                if let EventKind::Console { server_id, lines } = &*event {
                    let matched = *server_id == server
                        && lines
                            .iter()
                            .any(|l| !l.starts_with(NOTICE_PREFIX) && pattern.matches(l));
                    if matched {
                        return Ok(());
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => {
                return Err("the agent is shutting down".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    /// The size of the future `execute` returns, without calling it.
    fn run_size<'a, F: Future>(
        _: impl FnOnce(&'a Arc<Scheduler>, &'a Compiled, ScheduleRun) -> F,
    ) -> usize {
        std::mem::size_of::<F>()
    }

    #[test]
    fn a_waiting_run_holds_little_memory() {
        // A minute mark can start a thousand runs that then wait; what each holds while
        // it waits is this future (power actions and backups are boxed, not inline).
        let size = run_size(Scheduler::execute);
        assert!(size <= 1024, "a run's future is {size} bytes");
    }
}
