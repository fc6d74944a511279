//! What a cron trigger means: in words, and its next run times.

use cap_protocol::schedule::CronSchedule;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// How many upcoming runs a preview lists.
pub const UPCOMING: usize = 5;

/// A cron trigger explained.
pub struct Preview {
    pub description: String,
    pub next_runs: Vec<DateTime<Utc>>,
}

/// Explain `expression` in `timezone` (422 naming `cron` or `timezone` when invalid).
pub fn preview(expression: &str, timezone: &str) -> Result<Preview> {
    if let Err(message) = CronSchedule::compile(expression, "UTC") {
        return Err(Error::validation("cron", message));
    }
    let cron = CronSchedule::compile(expression, timezone).map_err(|_| {
        Error::validation(
            "timezone",
            format!("unknown timezone {timezone:?} (use an IANA name such as Europe/Berlin)"),
        )
    })?;
    Ok(Preview {
        description: cron.describe(),
        next_runs: cron.upcoming(Utc::now(), UPCOMING),
    })
}
