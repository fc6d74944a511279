//! Our schedule tasks as Pterodactyl's and back. Pterodactyl's task waits `time_offset`
//! seconds before it runs; ours have a `wait` task for that, so a run of waits before a
//! task becomes that task's offset, and an offset becomes a wait before it. Our tasks
//! Pterodactyl has no action for keep their own names (`wait_for_line`, and `wait` for
//! waits nothing follows). Tasks are numbered by their place (`id` = `sequence_id`).

use cap_protocol::backup::BackupFormat;
use cap_protocol::schedule::{PowerAction, ScheduleTask, TaskAction, MAX_WAIT_SECONDS};
use serde_json::{json, Value};

use super::shapes::item;
use crate::error::Error;

/// A task as Pterodactyl shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub action: String,
    pub payload: String,
    pub time_offset: u64,
    pub continue_on_failure: bool,
    /// `wait_for_line`'s timeout (no Pterodactyl field holds it).
    timeout_seconds: Option<u64>,
}

fn power_name(action: PowerAction) -> &'static str {
    match action {
        PowerAction::Start => "start",
        PowerAction::Stop => "stop",
        PowerAction::Restart => "restart",
        PowerAction::Kill => "kill",
    }
}

/// Our tasks, Pterodactyl's way.
pub fn theirs(tasks: &[ScheduleTask]) -> Vec<Task> {
    let mut out = Vec::new();
    let mut waited = 0;
    for task in tasks {
        let (action, payload, timeout_seconds) = match &task.action {
            TaskAction::Wait { seconds } => {
                waited += seconds;
                continue;
            }
            TaskAction::Command { command } => ("command", command.clone(), None),
            TaskAction::Power { action } => ("power", power_name(*action).to_owned(), None),
            TaskAction::Backup { ignored, .. } => ("backup", ignored.join("\n"), None),
            TaskAction::WaitForLine {
                pattern,
                timeout_seconds,
            } => ("wait_for_line", pattern.clone(), Some(*timeout_seconds)),
        };
        out.push(Task {
            action: action.to_owned(),
            payload,
            time_offset: std::mem::take(&mut waited),
            continue_on_failure: task.continue_on_failure,
            timeout_seconds,
        });
    }
    if waited > 0 {
        out.push(Task {
            action: "wait".into(),
            payload: String::new(),
            time_offset: waited,
            continue_on_failure: false,
            timeout_seconds: None,
        });
    }
    out
}

impl Task {
    /// A task from a Pterodactyl request (`command`, `power` or `backup`).
    pub fn parse(
        action: &str,
        payload: &str,
        time_offset: u64,
        continue_on_failure: bool,
    ) -> Result<Task, Error> {
        if !matches!(action, "command" | "power" | "backup") {
            return Err(Error::validation(
                "action",
                "must be command, power or backup",
            ));
        }
        if action == "power" && !matches!(payload, "start" | "stop" | "restart" | "kill") {
            return Err(Error::validation(
                "payload",
                "must be start, stop, restart or kill for a power task",
            ));
        }
        if time_offset > MAX_WAIT_SECONDS {
            return Err(Error::validation(
                "time_offset",
                format!("must be at most {MAX_WAIT_SECONDS} seconds"),
            ));
        }
        Ok(Task {
            action: action.to_owned(),
            payload: payload.to_owned(),
            time_offset,
            continue_on_failure,
            timeout_seconds: None,
        })
    }

    /// The task's object; `n` is its place, from 1.
    pub fn object(&self, n: usize) -> Value {
        item(
            "schedule_task",
            json!({
                "id": n,
                "sequence_id": n,
                "action": self.action,
                "payload": self.payload,
                "time_offset": self.time_offset,
                "is_queued": false,
                "continue_on_failure": self.continue_on_failure,
            }),
        )
    }
}

/// Pterodactyl's tasks as ours (checked again by the schedule service).
pub fn ours(tasks: &[Task]) -> Vec<ScheduleTask> {
    let mut out = Vec::new();
    for task in tasks {
        if task.time_offset > 0 {
            out.push(ScheduleTask {
                action: TaskAction::Wait {
                    seconds: task.time_offset,
                },
                continue_on_failure: false,
            });
        }
        let action = match task.action.as_str() {
            "command" => TaskAction::Command {
                command: task.payload.clone(),
            },
            "power" => TaskAction::Power {
                action: match task.payload.as_str() {
                    "start" => PowerAction::Start,
                    "stop" => PowerAction::Stop,
                    "restart" => PowerAction::Restart,
                    _ => PowerAction::Kill,
                },
            },
            "backup" => TaskAction::Backup {
                format: BackupFormat::default(),
                ignored: task
                    .payload
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            "wait_for_line" => TaskAction::WaitForLine {
                pattern: task.payload.clone(),
                timeout_seconds: task.timeout_seconds.unwrap_or(MAX_WAIT_SECONDS),
            },
            _ => continue,
        };
        out.push(ScheduleTask {
            action,
            continue_on_failure: task.continue_on_failure,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(action: TaskAction) -> ScheduleTask {
        ScheduleTask {
            action,
            continue_on_failure: false,
        }
    }

    #[test]
    fn waits_become_offsets_and_back() {
        let tasks = vec![
            task(TaskAction::Command {
                command: "say bye".into(),
            }),
            task(TaskAction::Wait { seconds: 30 }),
            task(TaskAction::Power {
                action: PowerAction::Restart,
            }),
            task(TaskAction::WaitForLine {
                pattern: "Done".into(),
                timeout_seconds: 60,
            }),
            task(TaskAction::Wait { seconds: 5 }),
        ];
        let shown = theirs(&tasks);
        let summary: Vec<(&str, &str, u64)> = shown
            .iter()
            .map(|t| (t.action.as_str(), t.payload.as_str(), t.time_offset))
            .collect();
        assert_eq!(
            summary,
            [
                ("command", "say bye", 0),
                ("power", "restart", 30),
                ("wait_for_line", "Done", 0),
                ("wait", "", 5),
            ]
        );
        assert_eq!(ours(&shown), tasks);
    }

    #[test]
    fn requests_name_pterodactyls_actions() {
        assert!(Task::parse("power", "start", 0, false).is_ok());
        assert!(Task::parse("power", "dance", 0, false).is_err());
        assert!(Task::parse("wait_for_line", "x", 0, false).is_err());
        assert!(Task::parse("command", "say hi", 86_401, false).is_err());
    }
}
