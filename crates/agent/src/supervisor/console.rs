//! Console capture: bounded line reading, flood throttling, history ring buffer, batched
//! events and the log file.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cap_protocol::events::EventKind;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::Notify;
use uuid::Uuid;

use super::ansi::clean_output;
use super::logfile::RotatingLog;
use crate::bus::EventBus;
use crate::config::ConsoleConfig;

/// Lines are published at most this often per server.
const BATCH_INTERVAL: Duration = Duration::from_millis(10);
/// Throttle notices are written at most this often.
const NOTICE_INTERVAL: Duration = Duration::from_secs(1);
/// Prefix of lines written by the agent itself.
pub const NOTICE_PREFIX: &str = "[cap-agent]";

/// Where a line came from, which decides its event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// The game.
    Console,
    /// The install script.
    Install,
}

/// One server's console.
pub struct Console {
    server_id: Uuid,
    limits: ConsoleConfig,
    bus: Arc<EventBus>,
    state: Mutex<State>,
    log: Mutex<RotatingLog>,
    wake: Notify,
}

struct State {
    history: VecDeque<String>,
    pending: Vec<String>,
    pending_kind: OutputKind,
    tokens: f64,
    refilled: Instant,
    dropped: u64,
    last_notice: Option<Instant>,
}

impl Console {
    /// A console whose log is `log_path`.
    pub fn new(
        server_id: Uuid,
        limits: ConsoleConfig,
        bus: Arc<EventBus>,
        log_path: std::path::PathBuf,
    ) -> Self {
        let log = RotatingLog::new(log_path, limits.log_max_bytes, limits.log_files);
        Self {
            server_id,
            state: Mutex::new(State {
                history: VecDeque::with_capacity(limits.history_lines.min(1024)),
                pending: Vec::new(),
                pending_kind: OutputKind::Console,
                tokens: f64::from(limits.lines_per_second),
                refilled: Instant::now(),
                dropped: 0,
                last_notice: None,
            }),
            limits,
            bus,
            log: Mutex::new(log),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accept a line from a process, unless the server is over its line rate (then the
    /// line is counted and a notice written later).
    pub fn push(&self, line: String, kind: OutputKind) {
        let rate = f64::from(self.limits.lines_per_second.max(1));
        let mut state = self.lock();
        let now = Instant::now();
        let elapsed = now.duration_since(state.refilled).as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate).min(rate);
        state.refilled = now;
        if state.tokens < 1.0 {
            state.dropped += 1;
            return;
        }
        state.tokens -= 1.0;
        let flush_now = self.append(&mut state, line, kind);
        drop(state);
        self.after_append(flush_now);
    }

    /// Write an agent notice (never throttled).
    pub fn notice(&self, text: &str) {
        let mut state = self.lock();
        let kind = state.pending_kind;
        let flush_now = self.append(&mut state, format!("{NOTICE_PREFIX} {text}"), kind);
        drop(state);
        self.after_append(flush_now);
    }

    /// Add to history and the pending batch; true when the batch must go out now (full,
    /// or switching between console and install output).
    fn append(&self, state: &mut State, line: String, kind: OutputKind) -> bool {
        let mut flush_now = false;
        if kind != state.pending_kind {
            if !state.pending.is_empty() {
                let batch = std::mem::take(&mut state.pending);
                self.emit(batch, state.pending_kind);
            }
            state.pending_kind = kind;
        }
        if state.history.len() >= self.limits.history_lines {
            state.history.pop_front();
        }
        if self.limits.history_lines > 0 {
            state.history.push_back(line.clone());
        }
        state.pending.push(line);
        if state.pending.len() >= self.max_batch() {
            flush_now = true;
        }
        flush_now
    }

    fn max_batch(&self) -> usize {
        (self.limits.lines_per_second as usize / 10).clamp(64, 10_000)
    }

    fn after_append(&self, flush_now: bool) {
        if flush_now {
            self.flush();
        } else {
            self.wake.notify_one();
        }
    }

    /// The newest `lines` lines of history, oldest first.
    pub fn history(&self, lines: usize) -> Vec<String> {
        let state = self.lock();
        let skip = state.history.len().saturating_sub(lines);
        state.history.iter().skip(skip).cloned().collect()
    }

    /// Publish the pending batch (and a throttle notice when due) and append it to the log.
    pub fn flush(&self) {
        let mut state = self.lock();
        let notice_due = state.dropped > 0
            && state
                .last_notice
                .is_none_or(|t| t.elapsed() >= NOTICE_INTERVAL);
        if notice_due {
            let text = format!(
                "{NOTICE_PREFIX} console output throttled: {} lines dropped (limit {} lines/s)",
                state.dropped, self.limits.lines_per_second
            );
            state.dropped = 0;
            state.last_notice = Some(Instant::now());
            let kind = state.pending_kind;
            self.append(&mut state, text, kind);
        }
        let batch = std::mem::take(&mut state.pending);
        let kind = state.pending_kind;
        drop(state);
        if !batch.is_empty() {
            self.emit(batch, kind);
        }
    }

    fn emit(&self, lines: Vec<String>, kind: OutputKind) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_lines(&lines);
        let server_id = self.server_id;
        self.bus.publish(match kind {
            OutputKind::Console => EventKind::Console { server_id, lines },
            OutputKind::Install => EventKind::InstallOutput { server_id, lines },
        });
    }

    /// Background task: publish batches at most every [`BATCH_INTERVAL`]; idle costs nothing.
    pub async fn run_flusher(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            loop {
                tokio::time::sleep(BATCH_INTERVAL).await;
                self.flush();
                if self.lock().dropped == 0 {
                    break;
                }
            }
        }
    }
}

/// Read `reader` line by line into `console`, calling `on_line` for every line (before
/// throttling, so done patterns are seen even during a flood). Lines longer than the
/// limit are cut and marked with `…`; invalid UTF-8 becomes U+FFFD; control sequences
/// other than colours are dropped (see [`clean_output`]).
pub async fn pump<R, F>(reader: R, console: Arc<Console>, kind: OutputKind, mut on_line: F)
where
    R: AsyncRead + Unpin,
    F: FnMut(&str),
{
    let max = console.limits.max_line_bytes.max(16);
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut truncated = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok(chunk) => chunk,
            Err(e) => {
                tracing::debug!(error = %e, "console stream closed");
                break;
            }
        };
        if chunk.is_empty() {
            break;
        }
        let (part, consumed, complete) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&part[..part.len().min(room)]);
        truncated |= part.len() > room;
        reader.consume(consumed);
        if complete {
            emit_line(&console, kind, &mut line, &mut truncated, &mut on_line);
        }
    }
    if !line.is_empty() {
        emit_line(&console, kind, &mut line, &mut truncated, &mut on_line);
    }
}

fn emit_line<F: FnMut(&str)>(
    console: &Console,
    kind: OutputKind,
    line: &mut Vec<u8>,
    truncated: &mut bool,
    on_line: &mut F,
) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let mut text = clean_output(String::from_utf8_lossy(line).into_owned());
    if *truncated {
        text.push('…');
    }
    on_line(&text);
    console.push(text, kind);
    line.clear();
    *truncated = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(limits: ConsoleConfig) -> Arc<Console> {
        let dir = std::env::temp_dir().join(format!("cap-console-{}", Uuid::new_v4()));
        Arc::new(Console::new(
            Uuid::new_v4(),
            limits,
            Arc::new(EventBus::default()),
            dir.join("console.log"),
        ))
    }

    #[tokio::test]
    async fn long_lines_are_cut_and_bad_utf8_replaced() {
        let limits = ConsoleConfig {
            max_line_bytes: 16,
            ..ConsoleConfig::default()
        };
        let console = console(limits);
        let input: &[u8] = b"short\r\n0123456789abcdefXYZ\nbad \xff byte\nlast";
        let mut seen = Vec::new();
        pump(input, console.clone(), OutputKind::Console, |l| {
            seen.push(l.to_owned())
        })
        .await;
        assert_eq!(
            seen,
            ["short", "0123456789abcdef…", "bad \u{fffd} byte", "last"]
        );
        assert_eq!(console.history(10), seen);
        assert_eq!(console.history(1), ["last"]);
    }

    #[tokio::test]
    async fn flood_is_throttled_with_notice_and_history_bounded() {
        let limits = ConsoleConfig {
            lines_per_second: 100,
            history_lines: 50,
            ..ConsoleConfig::default()
        };
        let console = console(limits);
        let input: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        let mut seen = 0;
        pump(
            input.as_bytes(),
            console.clone(),
            OutputKind::Console,
            |_| seen += 1,
        )
        .await;
        assert_eq!(seen, 10_000, "every line is inspected");
        console.flush();
        let history = console.history(1000);
        assert_eq!(history.len(), 50);
        let notice = history.last().unwrap();
        assert!(
            notice.starts_with("[cap-agent] console output throttled"),
            "{notice}"
        );
    }
}
