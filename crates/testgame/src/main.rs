//! `cap-testgame`: behaves like a small game server, for tests and demos.
//!
//! ```text
//! cap-testgame [--delay-ms N] [--ignore-stop]
//! ```
//! Environment: `SERVER_PORT` (listen on this TCP port), `TESTGAME_DELAY_MS` (startup
//! delay before the done line, default 10), `TESTGAME_IGNORE_STOP=1` (ignore the `stop`
//! command and SIGTERM/SIGINT, so only SIGKILL ends it), `TESTGAME_SAVE_MS` (time taken
//! to "save the world" on SIGTERM/SIGINT, default 0).
//!
//! On SIGTERM or SIGINT it prints `Received SIGINT, saving the world`, waits
//! `TESTGAME_SAVE_MS`, prints `World saved, bye` and exits with code 0, like a game that
//! shuts down cleanly on a signal.
//!
//! Console commands (stdin, one per line): `help`, `say <msg>`, `list`, `stop`, `crash`,
//! `exit <code>`, `flood <n> [lines/s]`, `spawn-child`, `stderr <msg>`, `alloc <MiB>`
//! (allocates and touches that much memory, kept until exit).
//! `flood` lines look like `flood <i> <unix-time-ns>` so a reader can measure latency.
//! Silent while idle.

use std::io::{self, BufRead, BufWriter, Write};
use std::net::TcpListener;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Options {
    delay: Duration,
    ignore_stop: bool,
    save_ms: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut delay_ms: u64 = match std::env::var("TESTGAME_DELAY_MS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("TESTGAME_DELAY_MS: not a number: {v}"))?,
        Err(_) => 10,
    };
    let save_ms: u64 = match std::env::var("TESTGAME_SAVE_MS") {
        Ok(v) => v
            .parse()
            .map_err(|_| format!("TESTGAME_SAVE_MS: not a number: {v}"))?,
        Err(_) => 0,
    };
    let mut ignore_stop = std::env::var("TESTGAME_IGNORE_STOP").is_ok_and(|v| v == "1");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--delay-ms" => {
                let v = args.next().ok_or("--delay-ms needs a value")?;
                delay_ms = v
                    .parse()
                    .map_err(|_| format!("--delay-ms: not a number: {v}"))?;
            }
            "--ignore-stop" => ignore_stop = true,
            "--child" => child_main(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Options {
        delay: Duration::from_millis(delay_ms),
        ignore_stop,
        save_ms,
    })
}

/// The process started by `spawn-child`: lives until killed.
fn child_main() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn ignore_termination_signals() {
    // SAFETY: installing SIG_IGN for two signals before any other thread exists.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// `TESTGAME_SAVE_MS`, read by the signal handler.
static SAVE_MS: AtomicU64 = AtomicU64::new(0);

/// Write bytes to stdout with write(2) (async-signal-safe).
fn raw_print(bytes: &[u8]) {
    // SAFETY: write(2) on fd 1 with a valid buffer and length.
    unsafe {
        libc::write(1, bytes.as_ptr().cast(), bytes.len());
    }
}

extern "C" fn save_and_exit(signal: libc::c_int) {
    raw_print(if signal == libc::SIGINT {
        b"Received SIGINT, saving the world\n"
    } else {
        b"Received SIGTERM, saving the world\n"
    });
    let ms = SAVE_MS.load(Ordering::Relaxed);
    let pause = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
    };
    // SAFETY: nanosleep(2) and _exit(2) are async-signal-safe; the timespec is valid.
    unsafe {
        libc::nanosleep(&pause, std::ptr::null_mut());
    }
    raw_print(b"World saved, bye\n");
    // SAFETY: see above.
    unsafe { libc::_exit(0) }
}

fn save_on_termination_signals(save_ms: u64) {
    SAVE_MS.store(save_ms, Ordering::Relaxed);
    let handler = save_and_exit as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: installing a handler that only makes async-signal-safe calls, before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
}

fn flood(out: &mut impl Write, count: u64, rate: Option<u64>) -> io::Result<()> {
    let start = Instant::now();
    let mut writer = BufWriter::with_capacity(64 * 1024, out);
    for i in 0..count {
        if let Some(rate) = rate.filter(|r| *r > 0) {
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                writer.flush()?;
                std::thread::sleep(wait);
            }
        }
        writeln!(writer, "flood {i} {}", now_ns())?;
    }
    writer.flush()
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cap-testgame: {e}");
            return ExitCode::from(2);
        }
    };
    if options.ignore_stop {
        ignore_termination_signals();
    } else {
        save_on_termination_signals(options.save_ms);
    }
    let started = Instant::now();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(out, "Starting test game server version 1.0");
    let _ = writeln!(out, "Loading world \"world\"");
    let _listener = match std::env::var("SERVER_PORT") {
        Ok(port) => match TcpListener::bind(format!("0.0.0.0:{port}")) {
            Ok(l) => {
                let _ = writeln!(out, "Listening on 0.0.0.0:{port}");
                Some(l)
            }
            Err(e) => {
                let _ = writeln!(out, "FAILED TO BIND TO PORT {port}: {e}");
                return ExitCode::from(3);
            }
        },
        Err(_) => None,
    };
    std::thread::sleep(options.delay);
    let _ = writeln!(
        out,
        "Done ({:.3}s)! For help, type \"help\"",
        started.elapsed().as_secs_f64()
    );
    let _ = out.flush();

    let mut children = Vec::new();
    let mut held: Vec<Vec<u8>> = Vec::new();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (cmd, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let result = match cmd {
            "" => Ok(()),
            "help" => writeln!(
                out,
                "Commands: help, say <msg>, list, stop, crash, exit <code>, flood <n> [rate], spawn-child, stderr <msg>, alloc <MiB>"
            ),
            "say" => writeln!(out, "[Server] {rest}"),
            "stderr" => writeln!(io::stderr(), "[Error] {rest}"),
            "list" => writeln!(out, "There are 0 of a max of 20 players online:"),
            "stop" if options.ignore_stop => writeln!(out, "Ignoring stop command"),
            "stop" => {
                let _ = writeln!(out, "Stopping the server");
                let _ = writeln!(out, "Saving worlds");
                let _ = out.flush();
                return ExitCode::SUCCESS;
            }
            "crash" => {
                let _ = writeln!(out, "Exception in server tick loop: simulated crash");
                let _ = out.flush();
                std::process::exit(1);
            }
            "exit" => {
                let code = rest.trim().parse::<u8>().unwrap_or(0);
                let _ = out.flush();
                return ExitCode::from(code);
            }
            "flood" => {
                let mut parts = rest.split_whitespace();
                let count = parts.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
                let rate = parts.next().and_then(|v| v.parse().ok());
                flood(&mut out, count, rate).and_then(|_| writeln!(out, "flood done {count}"))
            }
            "spawn-child" => match std::env::current_exe()
                .and_then(|exe| Command::new(exe).arg("--child").spawn())
            {
                Ok(child) => {
                    let line = writeln!(out, "Spawned child process {}", child.id());
                    children.push(child);
                    line
                }
                Err(e) => writeln!(out, "spawn-child failed: {e}"),
            },
            "alloc" => {
                let mib: usize = rest.trim().parse().unwrap_or(1);
                for _ in 0..mib {
                    // Every page written, so the memory is really resident.
                    held.push(vec![1u8; 1024 * 1024]);
                }
                writeln!(out, "allocated {mib} MiB")
            }
            other => writeln!(out, "Unknown command \"{other}\". Type \"help\" for help."),
        };
        if result.and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    let _ = writeln!(out, "Console closed, shutting down");
    ExitCode::SUCCESS
}
