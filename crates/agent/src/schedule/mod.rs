//! Schedules, held and run on the node so they fire while the panel is away.
//!
//! The schedules arrive with each server's definition. One timer task serves every cron
//! trigger of the node: it keeps the next due time of each schedule in one ordered set,
//! sleeps until the earliest, fires what is due and computes those schedules' next
//! times; a changed definition wakes it. Event triggers come from the event bus's
//! in-process stream (state changes, console batches, backups). A run executes its tasks
//! in order through the supervisor's power and console functions and the backup module
//! (see [`run`]); its record is stored on the node ([`records`]) as each task starts and
//! when it ends, and published as a `scheduleRun` event once it is on disk.

mod records;
mod run;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cap_protocol::backup::BackupStatus;
use cap_protocol::events::EventKind;
use cap_protocol::schedule::{
    CronSchedule, LinePattern, RunTrigger, Schedule, ScheduleRun, Trigger,
};
use cap_protocol::server::ServerState;
use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use records::Records;

use crate::backup::Backups;
use crate::bus::EventBus;
use crate::error::{AgentError, AgentResult};
use crate::supervisor::{Supervisor, NOTICE_PREFIX};

/// A schedule with its trigger compiled.
struct Compiled {
    server: Uuid,
    schedule: Schedule,
    cron: Option<CronSchedule>,
    pattern: Option<LinePattern>,
}

/// (due time, server, schedule).
type Due = (DateTime<Utc>, Uuid, Uuid);

#[derive(Default)]
struct State {
    /// Per server: its schedules by id.
    servers: HashMap<Uuid, HashMap<Uuid, Arc<Compiled>>>,
    /// Every active cron schedule's next time, earliest first.
    timeline: BTreeSet<Due>,
    /// (server, schedule) → its entry in `timeline`.
    next: HashMap<(Uuid, Uuid), DateTime<Utc>>,
    /// Schedules with a run going.
    running: HashSet<(Uuid, Uuid)>,
}

/// The node's schedules.
pub struct Scheduler {
    supervisor: Arc<Supervisor>,
    backups: Arc<Backups>,
    bus: Arc<EventBus>,
    records: Records,
    state: Mutex<State>,
    wake: Notify,
}

impl Scheduler {
    /// Open the run records (runs a previous agent left going become `interrupted`),
    /// load every server's schedules and start the timer and the event listener.
    pub fn start(
        supervisor: Arc<Supervisor>,
        backups: Arc<Backups>,
        bus: Arc<EventBus>,
        cancel: CancellationToken,
    ) -> AgentResult<Arc<Self>> {
        let publisher = bus.clone();
        let (records, interrupted) = Records::open(
            supervisor.config().data_dir.join("schedule-runs"),
            move |runs| {
                for run in runs {
                    publisher.publish(EventKind::ScheduleRun { run: Box::new(run) });
                }
            },
        )?;
        let scheduler = Arc::new(Self {
            supervisor,
            backups,
            bus,
            records,
            state: Mutex::default(),
            wake: Notify::new(),
        });
        for run in interrupted {
            tracing::warn!(run = %run.id, schedule = %run.schedule_id, "schedule run interrupted by an agent stop");
            scheduler.publish(&run);
        }
        let events = scheduler.bus.listen();
        scheduler.load_all();
        tokio::spawn(scheduler.clone().timer(cancel.clone()));
        tokio::spawn(scheduler.clone().listen(events, cancel));
        Ok(scheduler)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take every server's schedules from the supervisor.
    fn load_all(&self) {
        let servers = self.supervisor.servers();
        let known: HashSet<Uuid> = servers.iter().map(|s| s.id).collect();
        for server in servers {
            self.set(server.id, &server.defined().definition.schedules);
        }
        let gone: Vec<Uuid> = self
            .lock()
            .servers
            .keys()
            .filter(|id| !known.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.set(id, &[]);
        }
    }

    /// Replace one server's schedules (definitions are validated before they get here;
    /// a trigger that does not compile is left out and logged).
    fn set(&self, server: Uuid, schedules: &[Schedule]) {
        let now = Utc::now();
        let mut state = self.lock();
        let state = &mut *state;
        let old = state.servers.remove(&server).unwrap_or_default();
        // Unchanged cron triggers keep their planned time, so a definition pushed just
        // as one comes due does not skip it.
        let mut planned = HashMap::new();
        for (id, entry) in &old {
            if let Some(when) = state.next.remove(&(server, *id)) {
                state.timeline.remove(&(when, server, *id));
                planned.insert((*id, entry.schedule.trigger.clone()), when);
            }
        }
        let mut compiled = HashMap::new();
        for schedule in schedules {
            let (cron, pattern) = match &schedule.trigger {
                Trigger::Cron {
                    expression,
                    timezone,
                } => match CronSchedule::compile(expression, timezone) {
                    Ok(cron) => (Some(cron), None),
                    Err(e) => {
                        tracing::error!(schedule = %schedule.id, error = %e, "schedule left out");
                        continue;
                    }
                },
                Trigger::ConsoleLine { pattern } => match LinePattern::compile(pattern) {
                    Ok(pattern) => (None, Some(pattern)),
                    Err(e) => {
                        tracing::error!(schedule = %schedule.id, error = %e, "schedule left out");
                        continue;
                    }
                },
                _ => (None, None),
            };
            let entry = Arc::new(Compiled {
                server,
                schedule: schedule.clone(),
                cron,
                pattern,
            });
            if schedule.active {
                let kept = planned
                    .get(&(schedule.id, schedule.trigger.clone()))
                    .copied();
                let next = || entry.cron.as_ref().and_then(|c| c.next_after(now));
                if let Some(when) = kept.or_else(next) {
                    state.timeline.insert((when, server, schedule.id));
                    state.next.insert((server, schedule.id), when);
                }
            }
            compiled.insert(schedule.id, entry);
        }
        if !compiled.is_empty() {
            state.servers.insert(server, compiled);
        }
        self.wake.notify_one();
    }

    /// The one timer of the node: sleep until the earliest due schedule, fire every due
    /// one, plan its next time.
    async fn timer(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            let now = Utc::now();
            let mut fired = Vec::new();
            let wait = {
                let mut state = self.lock();
                while let Some(first) = state.timeline.first().copied() {
                    let (when, server, id) = first;
                    if when > now {
                        break;
                    }
                    state.timeline.remove(&first);
                    state.next.remove(&(server, id));
                    let Some(entry) = state.servers.get(&server).and_then(|s| s.get(&id)).cloned()
                    else {
                        continue;
                    };
                    if let Some(next) = entry.cron.as_ref().and_then(|c| c.next_after(now)) {
                        state.timeline.insert((next, server, id));
                        state.next.insert((server, id), next);
                    }
                    fired.push(entry);
                }
                state
                    .timeline
                    .first()
                    .map(|(when, _, _)| (*when - now).to_std().unwrap_or_default())
            };
            for entry in fired {
                self.fire(entry, RunTrigger::Cron);
            }
            // Wake at least hourly, so a wall clock set forward is noticed.
            let wait = wait
                .unwrap_or(Duration::from_secs(3600))
                .min(Duration::from_secs(3600));
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// React to the supervisor's and the backup module's events.
    async fn listen(
        self: Arc<Self>,
        mut events: broadcast::Receiver<Arc<EventKind>>,
        cancel: CancellationToken,
    ) {
        loop {
            let event = tokio::select! {
                () = cancel.cancelled() => return,
                event = events.recv() => event,
            };
            match event {
                Ok(event) => self.on_event(&event),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "scheduler fell behind the event stream; event triggers may have been missed");
                    self.load_all();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn on_event(self: &Arc<Self>, event: &EventKind) {
        match event {
            EventKind::Defined { server } => {
                self.set(server.definition.id, &server.definition.schedules)
            }
            EventKind::Removed { server_id } => {
                self.set(*server_id, &[]);
                self.records.remove_server(*server_id);
            }
            EventKind::State {
                server_id,
                state,
                previous,
                ..
            } => {
                let trigger = match (state, previous) {
                    (ServerState::Running, _) => RunTrigger::Started,
                    (ServerState::Crashed, _) => RunTrigger::Crashed,
                    (
                        ServerState::Offline,
                        ServerState::Stopping | ServerState::Running | ServerState::Starting,
                    ) => RunTrigger::Stopped,
                    _ => return,
                };
                self.fire_matching(*server_id, trigger, |_| true);
            }
            EventKind::Console { server_id, lines } => {
                for line in lines.iter().filter(|l| !l.starts_with(NOTICE_PREFIX)) {
                    self.fire_matching(*server_id, RunTrigger::ConsoleLine, |entry| {
                        entry.pattern.as_ref().is_some_and(|p| p.matches(line))
                    });
                }
            }
            EventKind::Backup { backup } if backup.status == BackupStatus::Completed => {
                self.fire_matching(backup.server_id, RunTrigger::BackupFinished, |_| true);
            }
            _ => {}
        }
    }

    /// Fire the server's active schedules whose trigger is `trigger` and that `also`
    /// accepts.
    fn fire_matching(
        self: &Arc<Self>,
        server: Uuid,
        trigger: RunTrigger,
        also: impl Fn(&Compiled) -> bool,
    ) {
        let entries: Vec<Arc<Compiled>> = match self.lock().servers.get(&server) {
            Some(schedules) => schedules
                .values()
                .filter(|e| {
                    e.schedule.active && triggered_by(&e.schedule.trigger) == Some(&trigger)
                })
                .filter(|e| also(e))
                .cloned()
                .collect(),
            None => return,
        };
        for entry in entries {
            self.fire(entry, trigger.clone());
        }
    }

    /// Start a run of `entry` now, or record why it does not run.
    fn fire(self: &Arc<Self>, entry: Arc<Compiled>, trigger: RunTrigger) -> Uuid {
        let key = (entry.server, entry.schedule.id);
        let mut record = run::new_record(&entry.schedule, entry.server, trigger);
        let id = record.id;
        let online = self
            .supervisor
            .get(entry.server)
            .is_ok_and(|s| s.state() == ServerState::Running);
        let skip = if !self.lock().running.insert(key) {
            Some("the previous run of this schedule was still going")
        } else if entry.schedule.only_when_online && !online {
            self.lock().running.remove(&key);
            Some("the server was not running, and this schedule runs only while it is")
        } else {
            None
        };
        if let Some(reason) = skip {
            run::skip(&mut record, reason);
            self.save(&mut record);
            return id;
        }
        let scheduler = self.clone();
        tokio::spawn(async move {
            let mut ended = scheduler.execute(&entry, record).await;
            scheduler.save(&mut ended);
            scheduler.lock().running.remove(&key);
        });
        id
    }

    /// `POST /api/servers/{id}/schedules/{schedule}/run`: run a schedule now (active or
    /// not); returns the run's id.
    pub fn run_now(self: &Arc<Self>, server: Uuid, schedule: Uuid) -> AgentResult<Uuid> {
        self.supervisor.get(server)?;
        let entry = self
            .lock()
            .servers
            .get(&server)
            .and_then(|s| s.get(&schedule))
            .cloned()
            .ok_or_else(|| {
                AgentError::NotFound(format!("no schedule {schedule} on this server"))
            })?;
        Ok(self.fire(entry, RunTrigger::Manual))
    }

    /// `GET /api/servers/{id}/schedule-runs?after=SEQ`.
    pub fn runs_after(&self, server: Uuid, after: u64) -> Vec<ScheduleRun> {
        self.records.after(server, after)
    }

    /// Store a record; it is published once it is on disk.
    fn save(&self, record: &mut ScheduleRun) {
        self.records.save(record);
    }

    /// Wait until every record stored so far is on disk.
    pub fn flush(&self) {
        self.records.flush();
    }

    fn publish(&self, record: &ScheduleRun) {
        self.bus.publish(EventKind::ScheduleRun {
            run: Box::new(record.clone()),
        });
    }
}

/// The run trigger an event trigger produces (none for cron).
fn triggered_by(trigger: &Trigger) -> Option<&'static RunTrigger> {
    match trigger {
        Trigger::Cron { .. } => None,
        Trigger::Started => Some(&RunTrigger::Started),
        Trigger::Crashed => Some(&RunTrigger::Crashed),
        Trigger::Stopped => Some(&RunTrigger::Stopped),
        Trigger::ConsoleLine { .. } => Some(&RunTrigger::ConsoleLine),
        Trigger::BackupFinished => Some(&RunTrigger::BackupFinished),
    }
}
