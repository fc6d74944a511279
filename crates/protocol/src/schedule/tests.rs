//! Cron parsing and next-run tables, including DST transitions in two timezones.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 time")
}

/// The next `count` runs after `after`, as RFC 3339 UTC strings.
fn runs(expression: &str, timezone: &str, after: &str, count: usize) -> Vec<String> {
    CronSchedule::compile(expression, timezone)
        .expect("compiles")
        .upcoming(at(after), count)
        .iter()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .collect()
}

/// Each row: expression, timezone, a time, and the runs expected after it.
fn check<const N: usize>(table: &[(&str, &str, &str, [&str; N])]) {
    for (expression, timezone, after, expected) in table {
        assert_eq!(
            runs(expression, timezone, after, N),
            expected,
            "{expression} in {timezone} after {after}"
        );
    }
}

#[test]
fn expressions_parse_or_say_why_not() {
    for good in [
        "0 4 * * *",
        "*/15 * * * *",
        "0 4 * * MON-FRI",
        "0 0 1 JAN *",
        "5-10/2 1,13 * * 0",
        "@daily",
        "*/5 * * * * *",
    ] {
        assert!(CronSchedule::compile(good, "UTC").is_ok(), "{good}");
    }
    for bad in [
        "",
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * * * * * *",
        "0 4 * * FOO",
        "every day",
    ] {
        assert!(CronSchedule::compile(bad, "UTC").is_err(), "{bad}");
    }
    assert!(CronSchedule::compile("0 4 * * *", "Europe/Berlin").is_ok());
    assert!(CronSchedule::compile("0 4 * * *", "Mars/Olympus").is_err());
    assert!(CronSchedule::compile("0 4 * * *", "").is_err());
}

#[test]
fn next_runs_are_strictly_later_and_in_the_timezone() {
    let table = [
        // (expression, timezone, after, the next three runs)
        (
            "0 4 * * *",
            "UTC",
            "2026-01-01T04:00:00Z",
            [
                "2026-01-02T04:00:00Z",
                "2026-01-03T04:00:00Z",
                "2026-01-04T04:00:00Z",
            ],
        ),
        (
            "0 4 * * *",
            "Europe/Berlin",
            "2026-01-01T00:00:00Z",
            [
                "2026-01-01T03:00:00Z",
                "2026-01-02T03:00:00Z",
                "2026-01-03T03:00:00Z",
            ],
        ),
        (
            "*/20 * * * *",
            "America/New_York",
            "2026-06-01T12:05:00Z",
            [
                "2026-06-01T12:20:00Z",
                "2026-06-01T12:40:00Z",
                "2026-06-01T13:00:00Z",
            ],
        ),
        (
            "30 9 * * MON-FRI",
            "America/New_York",
            "2026-06-05T14:00:00Z",
            [
                "2026-06-08T13:30:00Z",
                "2026-06-09T13:30:00Z",
                "2026-06-10T13:30:00Z",
            ],
        ),
        (
            "0 0 1 * *",
            "Europe/Berlin",
            "2026-01-15T00:00:00Z",
            [
                "2026-01-31T23:00:00Z",
                "2026-02-28T23:00:00Z",
                "2026-03-31T22:00:00Z",
            ],
        ),
    ];
    check(&table);
}

/// A fixed time runs once on the day it does not exist (at the first minute after the
/// gap) and once on the day it exists twice (at its first occurrence).
#[test]
fn a_fixed_time_runs_once_on_both_dst_days_in_two_timezones() {
    let table = [
        // Berlin: 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00Z",
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
        ),
        // Berlin: 2026-10-25 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-24T12:00:00Z",
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
        ),
        // New York: 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        (
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T12:00:00Z",
            ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
        ),
        // New York: 2026-11-01 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
        (
            "30 1 * * *",
            "America/New_York",
            "2026-10-31T12:00:00Z",
            ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
        ),
    ];
    check(&table);
}

#[test]
fn intervals_skip_the_gap_and_run_in_both_passes_of_the_repeated_hour() {
    assert_eq!(
        runs("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:15:00Z", 3),
        [
            "2026-03-29T00:30:00Z",
            "2026-03-29T01:00:00Z",
            "2026-03-29T01:30:00Z"
        ]
    );
    assert_eq!(
        runs("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T06:00:00Z",
            "2026-11-01T07:00:00Z"
        ]
    );
}

#[test]
fn seconds_field_allows_sub_minute_triggers() {
    assert_eq!(
        runs("*/2 * * * * *", "UTC", "2026-01-01T00:00:00Z", 3),
        [
            "2026-01-01T00:00:02Z",
            "2026-01-01T00:00:04Z",
            "2026-01-01T00:00:06Z"
        ]
    );
}

#[test]
fn descriptions_read_like_sentences() {
    let describe = |expression: &str, timezone: &str| {
        CronSchedule::compile(expression, timezone)
            .expect("compiles")
            .describe()
    };
    assert_eq!(
        describe("0 4 * * *", "Europe/Berlin"),
        "every day at 04:00 Europe/Berlin"
    );
    assert_eq!(
        describe("30 6 * * MON-FRI", "UTC"),
        "every Monday to Friday at 06:30 UTC"
    );
    assert_eq!(describe("*/15 * * * *", "UTC"), "every 15 minutes");
    assert_eq!(describe("5 * * * *", "UTC"), "every hour at minute 5");
}

fn schedule(value: serde_json::Value) -> Schedule {
    serde_json::from_value(value).expect("a schedule")
}

fn fields(schedule: &Schedule) -> Vec<String> {
    let mut errors = Vec::new();
    schedule.check("", &mut errors);
    errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn schedules_validate_every_field() {
    let good = schedule(json!({
        "id": uuid::Uuid::nil(), "name": "nightly restart",
        "trigger": {"type": "cron", "expression": "0 4 * * *", "timezone": "Europe/Berlin"},
        "tasks": [
            {"type": "command", "command": "say restarting in 60 s"},
            {"type": "wait", "seconds": 60},
            {"type": "power", "action": "restart", "continueOnFailure": true},
            {"type": "backup"},
            {"type": "wait_for_line", "pattern": "regex:^Done", "timeoutSeconds": 120}
        ]
    }));
    assert!(good.active);
    assert_eq!(good.deadline_seconds, 3600);
    assert!(good.tasks[2].continue_on_failure);
    assert_eq!(fields(&good), Vec::<String>::new());

    let mut bad = good.clone();
    bad.trigger = Trigger::Cron {
        expression: "61 * * * *".into(),
        timezone: "Nowhere/City".into(),
    };
    assert_eq!(fields(&bad), ["trigger.expression", "trigger.timezone"]);

    let mut many = good.clone();
    many.tasks = vec![good.tasks[0].clone(); MAX_TASKS + 1];
    assert_eq!(fields(&many), ["tasks"]);

    let mut wrong = good;
    wrong.tasks[1].action = TaskAction::Wait { seconds: 0 };
    wrong.tasks[4].action = TaskAction::WaitForLine {
        pattern: "regex:(".into(),
        timeout_seconds: 5,
    };
    wrong.trigger = Trigger::ConsoleLine {
        pattern: String::new(),
    };
    assert_eq!(
        fields(&wrong),
        ["trigger.pattern", "tasks[1].seconds", "tasks[4].pattern"]
    );

    let unknown = json!({"id": uuid::Uuid::nil(), "trigger": {"type": "started"},
        "tasks": [{"type": "teleport"}]});
    assert!(serde_json::from_value::<Schedule>(unknown).is_err());
}

#[test]
fn a_compiled_trigger_stays_small() {
    // A node keeps one per cron schedule: a thousand of them must not hold croner's
    // parsed patterns (kilobytes each), only the expression and the timezone.
    assert!(std::mem::size_of::<CronSchedule>() <= 32);
    let cron = CronSchedule::compile("*/5 4-6 * * MON-FRI", "Europe/Berlin").expect("compiles");
    assert_eq!(
        cron.upcoming(at("2026-03-02T00:00:00Z"), 2),
        vec![at("2026-03-02T03:00:00Z"), at("2026-03-02T03:05:00Z")]
    );
}
