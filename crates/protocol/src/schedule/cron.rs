//! Evaluating cron triggers (with `croner` on the wall clock of an IANA timezone) and
//! console-line patterns.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// A checked cron trigger: its expression (known to parse) and timezone.
///
/// It keeps the expression, not `croner`'s parsed pattern: that pattern holds a bitfield
/// for every year up to 5000 (about 5 KiB), which a node with a thousand schedules would
/// keep for nothing. The expression is parsed again where times are computed, once per
/// planned run, which costs microseconds.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: Box<str>,
    timezone: Tz,
}

/// Parse five fields, or six with leading seconds (no year field).
pub(super) fn parse_expression(expression: &str) -> Result<Cron, String> {
    let fields = expression.split_whitespace().count();
    let nickname = expression.trim_start().starts_with('@');
    if !nickname && !(5..=6).contains(&fields) {
        return Err(format!(
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week), found {fields}"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| format!("invalid cron expression: {e}"))
}

/// Parse an IANA timezone name.
pub(super) fn parse_timezone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name.trim()).map_err(|_| format!("unknown timezone {name:?}"))
}

impl CronSchedule {
    /// Compile an expression in a timezone.
    pub fn compile(expression: &str, timezone: &str) -> Result<Self, String> {
        parse_expression(expression)?;
        Ok(Self {
            expression: expression.into(),
            timezone: parse_timezone(timezone)?,
        })
    }

    /// The parsed pattern (the expression parsed when this was compiled, so it parses).
    fn cron(&self) -> Option<Cron> {
        parse_expression(&self.expression).ok()
    }

    /// The first time strictly after `after` the expression is due.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_in(&self.cron()?, after)
    }

    fn next_in(&self, cron: &Cron, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = self.timezone.from_utc_datetime(&after.naive_utc());
        cron.find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The next `count` times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let Some(cron) = self.cron() else {
            return Vec::new();
        };
        let mut times = Vec::with_capacity(count);
        let mut from = after;
        while times.len() < count {
            match self.next_in(&cron, from) {
                Some(next) => {
                    times.push(next);
                    from = next;
                }
                None => break,
            }
        }
        times
    }

    /// The timezone.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// In words: `every day at 04:00 Europe/Berlin`, `every 15 minutes`, … (the common
    /// shapes; others are described field by field).
    pub fn describe(&self) -> String {
        let fields: Vec<&str> = self.expression.split_whitespace().collect();
        let zone = self.timezone.name();
        let in_full = || {
            let words = self.cron().map(|c| c.describe()).unwrap_or_default();
            format!("{words} ({zone})")
        };
        let five: Option<[&str; 5]> = match fields.len() {
            5 => fields.clone().try_into().ok(),
            6 if fields[0] == "0" => fields[1..].to_vec().try_into().ok(),
            _ => None,
        };
        let Some([minute, hour, dom, month, dow]) = five else {
            return in_full();
        };
        let number = |s: &str| s.parse::<u32>().ok();
        let step = |s: &str| s.strip_prefix("*/").and_then(|n| n.parse::<u32>().ok());
        let every_day = dom == "*" && month == "*";
        match (number(minute), number(hour)) {
            (Some(m), Some(h)) if every_day && dow == "*" => {
                format!("every day at {h:02}:{m:02} {zone}")
            }
            (Some(m), Some(h)) if every_day => match weekdays(dow) {
                Some(days) => format!("every {days} at {h:02}:{m:02} {zone}"),
                None => in_full(),
            },
            (Some(m), Some(h)) if month == "*" && dow == "*" && number(dom).is_some() => {
                format!("on day {dom} of every month at {h:02}:{m:02} {zone}")
            }
            (Some(m), None) if hour == "*" && every_day && dow == "*" => {
                format!("every hour at minute {m}")
            }
            _ if minute == "*" && hour == "*" && every_day && dow == "*" => "every minute".into(),
            _ if hour == "*" && every_day && dow == "*" && step(minute).is_some() => {
                format!("every {} minutes", step(minute).unwrap_or(1))
            }
            _ => in_full(),
        }
    }
}

/// `MON-FRI` → `Monday to Friday`, `0,6` → `Sunday, Saturday`.
fn weekdays(field: &str) -> Option<String> {
    const NAMES: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let day = |s: &str| -> Option<&'static str> {
        let upper = s.to_ascii_uppercase();
        let index = match upper.as_str() {
            "SUN" | "0" | "7" => 0,
            "MON" | "1" => 1,
            "TUE" | "2" => 2,
            "WED" | "3" => 3,
            "THU" | "4" => 4,
            "FRI" | "5" => 5,
            "SAT" | "6" => 6,
            _ => return None,
        };
        Some(NAMES[index])
    };
    if let Some((from, to)) = field.split_once('-') {
        return Some(format!("{} to {}", day(from)?, day(to)?));
    }
    let days: Option<Vec<&str>> = field.split(',').map(day).collect();
    Some(days?.join(", "))
}

/// A console-line pattern: a substring, or a regular expression after `regex:`.
#[derive(Debug, Clone)]
pub enum LinePattern {
    /// The line contains this.
    Substring(String),
    /// The line matches this.
    Regex(regex::Regex),
}

impl LinePattern {
    /// Compile a pattern.
    pub fn compile(pattern: &str) -> Result<Self, String> {
        match pattern.strip_prefix("regex:") {
            Some(expr) => regex::RegexBuilder::new(expr)
                .size_limit(1 << 20)
                .build()
                .map(Self::Regex)
                .map_err(|e| format!("invalid regular expression: {e}")),
            None if pattern.is_empty() => Err("must not be empty".into()),
            None => Ok(Self::Substring(pattern.to_owned())),
        }
    }

    /// Does `line` match?
    pub fn matches(&self, line: &str) -> bool {
        match self {
            Self::Substring(s) => line.contains(s.as_str()),
            Self::Regex(re) => re.is_match(line),
        }
    }
}
