//! Schedules: triggers and tasks that a server's agent runs by itself, and the records of
//! their runs.
//!
//! Schedules travel inside the [`crate::server::ServerDefinition`] (`schedules`), so the
//! agent holds them on disk with the definition and keeps running them while the panel is
//! away. Every run leaves a [`ScheduleRun`] record on the node; records are published as
//! `scheduleRun` events and can be read again with
//! `GET /api/servers/{id}/schedule-runs?after=SEQ` (every record whose `seq` is greater).
//! A record that changes (a run that was `running` ends) gets a new, greater `seq`, so a
//! reader that keeps the greatest `seq` it has seen and upserts by `id` misses nothing and
//! keeps nothing twice.
//!
//! # Cron and daylight saving time
//!
//! A cron trigger has five fields (minute, hour, day of month, month, day of week; ranges,
//! steps, lists, `JAN`-`DEC`, `SUN`-`SAT`, `@daily` and the other nicknames), or six
//! with a leading seconds field. It is evaluated on the wall clock of its IANA timezone:
//!
//! - a fixed time that does not exist on a spring-forward day (02:30 when clocks jump
//!   from 02:00 to 03:00) runs once, at the first minute after the gap (03:00);
//! - a fixed time that exists twice on a fall-back day runs once, at its first
//!   occurrence;
//! - an interval (`*/15 * * * *`, `* 2 * * *`) skips the times inside the gap and runs
//!   in both passes of a repeated hour, because each of them is a separate instant.

mod cron;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use cron::{CronSchedule, LinePattern};

use crate::backup::BackupFormat;
use crate::validation::FieldError;

/// Most tasks in one schedule.
pub const MAX_TASKS: usize = 20;
/// Most schedules of one server.
pub const MAX_SCHEDULES: usize = 50;
/// Longest wait task and wait-for-line timeout, seconds (one day).
pub const MAX_WAIT_SECONDS: u64 = 86_400;
/// Longest run deadline, seconds (one day).
pub const MAX_DEADLINE_SECONDS: u64 = 86_400;
/// Longest console command or pattern, bytes.
pub const MAX_TEXT_BYTES: usize = 1024;

/// One schedule of a server.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// The schedule's id (chosen by the panel).
    pub id: Uuid,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Inactive schedules are kept but never triggered (a manual run still works).
    #[serde(default = "yes")]
    pub active: bool,
    /// What starts a run.
    pub trigger: Trigger,
    /// Only run while the server is `running`; otherwise the run is recorded as skipped.
    #[serde(default)]
    pub only_when_online: bool,
    /// The tasks, run in order (at most [`MAX_TASKS`]).
    #[serde(default)]
    pub tasks: Vec<ScheduleTask>,
    /// A run still going after this many seconds is ended as failed.
    #[serde(default = "default_deadline")]
    pub deadline_seconds: u64,
}

fn yes() -> bool {
    true
}

fn utc() -> String {
    "UTC".into()
}

fn default_deadline() -> u64 {
    3600
}

/// What starts a run.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Trigger {
    /// A cron expression on the wall clock of `timezone` (see the module docs).
    Cron {
        /// Five fields (or six with leading seconds).
        expression: String,
        /// An IANA timezone name such as `Europe/Berlin` (`UTC` when omitted).
        #[serde(default = "utc")]
        timezone: String,
    },
    /// The server became `running`.
    Started,
    /// The server `crashed`.
    Crashed,
    /// The server became `offline` after running.
    Stopped,
    /// A console line printed by the game matched `pattern` (a substring, or a regular
    /// expression after `regex:`); agent notices never match.
    ConsoleLine {
        /// The pattern.
        pattern: String,
    },
    /// A backup of the server completed.
    BackupFinished,
}

/// One task of a schedule.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleTask {
    /// What it does, tagged by `type`.
    #[serde(flatten)]
    pub action: TaskAction,
    /// When it fails, go on with the next task instead of ending the run as failed.
    #[serde(default)]
    pub continue_on_failure: bool,
}

/// What a task does.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum TaskAction {
    /// Write a line to the game's console (fails when the server is not running).
    Command {
        /// The command line.
        command: String,
    },
    /// A power action; it finishes when the action did.
    Power {
        /// Which one.
        action: PowerAction,
    },
    /// A backup kept on the node (its id is chosen by the agent); finishes when the
    /// backup completed.
    Backup {
        /// Compression.
        #[serde(default)]
        format: BackupFormat,
        /// Ignore patterns in gitignore syntax.
        #[serde(default)]
        ignored: Vec<String>,
    },
    /// Wait this many seconds.
    Wait {
        /// Seconds.
        seconds: u64,
    },
    /// Wait until the game prints a line matching `pattern` (as for the console-line
    /// trigger); fails after `timeoutSeconds`.
    WaitForLine {
        /// The pattern.
        pattern: String,
        /// Seconds to wait at most.
        timeout_seconds: u64,
    },
}

/// The kinds of task, as `type` names them.
pub const TASK_KINDS: [&str; 5] = ["command", "power", "backup", "wait", "wait_for_line"];

/// Power actions a task may take.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    /// Start.
    Start,
    /// Stop gracefully.
    Stop,
    /// Stop, then start.
    Restart,
    /// SIGKILL.
    Kill,
}

impl Schedule {
    /// Check every field; problems are reported with `prefix` before the field name
    /// (`schedules[2].`), or none.
    pub fn check(&self, prefix: &str, errors: &mut Vec<FieldError>) {
        let mut fail = |field: &str, message: String| {
            errors.push(FieldError {
                field: format!("{prefix}{field}"),
                message,
            })
        };
        if self.name.chars().count() > 100 || self.name.chars().any(char::is_control) {
            fail(
                "name",
                "at most 100 characters, no control characters".into(),
            );
        }
        match &self.trigger {
            Trigger::Cron {
                expression,
                timezone,
            } => {
                if let Err(e) = cron::parse_expression(expression) {
                    fail("trigger.expression", e);
                }
                if cron::parse_timezone(timezone).is_err() {
                    fail(
                        "trigger.timezone",
                        format!("unknown timezone {timezone:?} (use an IANA name such as Europe/Berlin)"),
                    );
                }
            }
            Trigger::ConsoleLine { pattern } => {
                if let Err(e) = LinePattern::compile(pattern) {
                    fail("trigger.pattern", e);
                }
            }
            Trigger::Started | Trigger::Crashed | Trigger::Stopped | Trigger::BackupFinished => {}
        }
        if self.tasks.is_empty() || self.tasks.len() > MAX_TASKS {
            fail("tasks", format!("between 1 and {MAX_TASKS} tasks"));
        }
        if self.deadline_seconds == 0 || self.deadline_seconds > MAX_DEADLINE_SECONDS {
            fail("deadlineSeconds", "between 1 and 86400".into());
        }
        for (index, task) in self.tasks.iter().enumerate() {
            if let Some((field, message)) = task.action.problem() {
                fail(&format!("tasks[{index}].{field}"), message);
            }
        }
    }
}

impl TaskAction {
    /// The first problem of this task: the field and what is wrong.
    fn problem(&self) -> Option<(&'static str, String)> {
        let line = "one non-empty line of at most 1024 bytes";
        let bad_text = |value: &str| {
            value.trim().is_empty() || value.len() > MAX_TEXT_BYTES || value.contains('\n')
        };
        let bad_seconds = |s: u64| s == 0 || s > MAX_WAIT_SECONDS;
        match self {
            Self::Command { command } if bad_text(command) => Some(("command", line.into())),
            Self::Wait { seconds } if bad_seconds(*seconds) => {
                Some(("seconds", "between 1 and 86400".into()))
            }
            Self::WaitForLine { pattern, .. } if bad_text(pattern) => {
                Some(("pattern", line.into()))
            }
            Self::WaitForLine {
                pattern,
                timeout_seconds,
            } => match LinePattern::compile(pattern) {
                Err(message) => Some(("pattern", message)),
                Ok(_) if bad_seconds(*timeout_seconds) => {
                    Some(("timeoutSeconds", "between 1 and 86400".into()))
                }
                Ok(_) => None,
            },
            Self::Backup { ignored, .. } if ignored.len() > crate::backup::MAX_IGNORED_PATTERNS => {
                Some(("ignored", "at most 1000 patterns".into()))
            }
            _ => None,
        }
    }
}

/// Check a server's schedules (their number, each one, unique ids).
pub fn check_all(schedules: &[Schedule], errors: &mut Vec<FieldError>) {
    if schedules.len() > MAX_SCHEDULES {
        errors.push(FieldError {
            field: "schedules".into(),
            message: format!("at most {MAX_SCHEDULES} schedules per server"),
        });
    }
    for (index, schedule) in schedules.iter().enumerate() {
        if schedules[..index].iter().any(|s| s.id == schedule.id) {
            errors.push(FieldError {
                field: format!("schedules[{index}].id"),
                message: "two schedules have this id".into(),
            });
        }
        schedule.check(&format!("schedules[{index}]."), errors);
    }
}

/// What started a run.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The cron expression came due.
    Cron,
    /// The server became running.
    Started,
    /// The server crashed.
    Crashed,
    /// The server stopped.
    Stopped,
    /// A console line matched.
    ConsoleLine,
    /// A backup completed.
    BackupFinished,
    /// `POST /api/servers/{id}/schedules/{scheduleId}/run`.
    Manual,
}

/// How a run, or one task of it, ended.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still going.
    Running,
    /// Done (a run: every task finished, or failed with `continueOnFailure`).
    Completed,
    /// Failed (see the error); a run also fails when its deadline passes.
    Failed,
    /// Not run: another run of the schedule was going, the server was not running and
    /// the schedule runs only while it is, or (a task) an earlier task failed.
    Skipped,
    /// The agent stopped while it was going.
    Interrupted,
}

/// The record of one task in a run.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The task's `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The record of one run of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRun {
    /// The run's id.
    pub id: Uuid,
    /// Position in the node's record stream (greater for every new version of a record).
    pub seq: u64,
    /// The server.
    pub server_id: Uuid,
    /// The schedule.
    pub schedule_id: Uuid,
    /// What started it.
    pub trigger: RunTrigger,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One record per task, in order.
    pub tasks: Vec<TaskRecord>,
}

/// `POST /api/servers/{id}/schedules/{scheduleId}/run`: the run that was started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    /// The run's id (its record follows as events).
    pub run_id: Uuid,
}

impl TaskAction {
    /// The `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Command { .. } => TASK_KINDS[0],
            Self::Power { .. } => TASK_KINDS[1],
            Self::Backup { .. } => TASK_KINDS[2],
            Self::Wait { .. } => TASK_KINDS[3],
            Self::WaitForLine { .. } => TASK_KINDS[4],
        }
    }
}
