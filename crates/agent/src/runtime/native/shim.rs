//! `cap-agent shim`: the small process that holds one native game for the agent.
//!
//! It reads a [`Spec`] (JSON) on stdin, listens on its Unix socket, starts the game (its
//! stdout and stderr on one pipe), prints `ready` and serves one agent connection at a
//! time: output not yet acknowledged by an agent is kept (bounded) and replayed to the
//! next one, console input is passed on, the exit code is kept until an agent has
//! handled it. The game keeps running while no agent is connected.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::spawn::{self, Isolation};
use super::wire::{self, Hello};

/// What the shim runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// Program.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Complete environment.
    pub env: BTreeMap<String, String>,
    /// User and cgroups.
    pub isolation: Isolation,
    /// Output kept for an absent agent, bytes.
    pub buffer_bytes: usize,
}

/// Output produced but not yet acknowledged, with its position in the whole stream.
struct Backlog {
    data: VecDeque<u8>,
    /// Offset of `data[0]`.
    start: u64,
    cap: usize,
    dropped: u64,
}

impl Backlog {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }

    fn push(&mut self, bytes: &[u8]) {
        self.data.extend(bytes);
        let over = self.data.len().saturating_sub(self.cap);
        if over > 0 {
            self.data.drain(..over);
            self.start += over as u64;
            self.dropped += over as u64;
        }
    }

    fn ack(&mut self, offset: u64) {
        let done = offset
            .saturating_sub(self.start)
            .min(self.data.len() as u64) as usize;
        self.data.drain(..done);
        self.start += done as u64;
        if self.data.is_empty() {
            self.data.shrink_to(0);
        }
    }

    fn since(&self, offset: u64) -> Vec<u8> {
        let skip = offset.saturating_sub(self.start) as usize;
        self.data
            .iter()
            .skip(skip)
            .take(wire::OUTPUT_CHUNK)
            .copied()
            .collect()
    }
}

/// Run the shim for `socket` (the process's whole life).
pub fn main(socket: &Path) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            println!("cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(socket)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Before `ready` this is what the agent reports; later it goes to the log.
            println!("{e}");
            eprintln!("cap-agent shim {}: {e}", socket.display());
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(socket: &Path) -> std::io::Result<()> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
    let spec: Spec = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    let socket = OwnSocket::bound(socket)?;
    let (out_tx, mut out_rx) = tokio::net::unix::pipe::pipe()?;
    let out_fd = out_tx.into_blocking_fd()?;
    let args: Vec<&str> = spec.args.iter().map(String::as_str).collect();
    let stdio = spawn::Streams::Merged(out_fd);
    let spawned = spawn::spawn(
        &spec.program,
        &args,
        &spec.cwd,
        &spec.env,
        stdio,
        &spec.isolation,
    );
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            socket.remove();
            return Err(e);
        }
    };
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("game has no pid"))?;
    let started_at_ms = chrono::Utc::now().timestamp_millis();
    let stdin = child.stdin.take().map(crate::runtime::stdin_writer);
    println!("ready {pid}");
    // Nothing more goes to the agent that started us: it may be gone any time now.
    drop(
        std::fs::File::open("/dev/null")
            .and_then(|null| nix::unistd::dup2_stdout(&null).map_err(std::io::Error::from)),
    );

    let mut backlog = Backlog {
        data: VecDeque::new(),
        start: 0,
        cap: spec.buffer_bytes.max(wire::OUTPUT_CHUNK),
        dropped: 0,
    };
    let mut exit: Option<i32> = None;
    let mut output_open = true;
    let mut client: Option<Client> = None;
    let mut chunk = vec![0u8; wire::OUTPUT_CHUNK];
    loop {
        if let Some(c) = client.as_mut() {
            if c.flush(&backlog, exit, output_open).await.is_err() {
                client = None;
            }
        }
        let frame = async {
            match client.as_mut() {
                Some(c) => c.frames.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            read = out_rx.read(&mut chunk), if output_open => match read {
                Ok(0) | Err(_) => output_open = false,
                Ok(n) => backlog.push(&chunk[..n]),
            },
            status = child.wait(), if exit.is_none() => {
                exit = Some(status.map(spawn::exit_code).unwrap_or(-1));
            }
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let hello = Hello { pid, started_at_ms, offset: backlog.start, dropped: backlog.dropped };
                    client = Client::greet(stream, hello).await.ok();
                }
            }
            frame = frame => match frame {
                Some((wire::INPUT, line)) => {
                    if let Some(stdin) = &stdin {
                        let _ = stdin.try_send(String::from_utf8_lossy(&line).into_owned());
                    }
                }
                Some((wire::ACK, offset)) => {
                    if let Some(offset) = wire::u64_of(&offset) {
                        backlog.ack(offset);
                    }
                }
                Some((wire::RELEASE, _)) if exit.is_some() => break,
                Some(_) => {}
                None => client = None,
            },
        }
    }
    socket.remove();
    Ok(())
}

/// The socket this shim listens on, known by its inode: the next game of the same server
/// gets a new shim that binds the same path, possibly before this one has ended, and
/// this one must then leave that socket alone.
struct OwnSocket<'a> {
    path: &'a Path,
    inode: (u64, u64),
}

impl<'a> OwnSocket<'a> {
    fn bound(path: &'a Path) -> std::io::Result<Self> {
        Ok(Self {
            path,
            inode: inode(path)?,
        })
    }

    /// Remove the socket file if it is still ours.
    fn remove(&self) {
        if inode(self.path).ok() == Some(self.inode) {
            let _ = std::fs::remove_file(self.path);
        }
    }
}

fn inode(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// The connected agent.
struct Client {
    out: OwnedWriteHalf,
    frames: mpsc::Receiver<(u8, Vec<u8>)>,
    /// Offset up to which output was sent.
    sent: u64,
    exit_sent: bool,
    end_sent: bool,
}

impl Client {
    async fn greet(stream: UnixStream, hello: Hello) -> std::io::Result<Self> {
        let (mut input, mut out) = stream.into_split();
        let json = serde_json::to_vec(&hello).map_err(std::io::Error::other)?;
        wire::write(&mut out, wire::HELLO, &json).await?;
        let (tx, frames) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Ok(Some(frame)) = wire::read(&mut input).await {
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
        });
        Ok(Self {
            out,
            frames,
            sent: hello.offset,
            exit_sent: false,
            end_sent: false,
        })
    }

    /// Send the output not yet sent, then the exit and the end of output once known.
    async fn flush(
        &mut self,
        backlog: &Backlog,
        exit: Option<i32>,
        output_open: bool,
    ) -> std::io::Result<()> {
        self.sent = self.sent.max(backlog.start);
        while self.sent < backlog.end() {
            let bytes = backlog.since(self.sent);
            wire::write(&mut self.out, wire::OUTPUT, &bytes).await?;
            self.sent += bytes.len() as u64;
        }
        if let (Some(code), false) = (exit, self.exit_sent) {
            wire::write(&mut self.out, wire::EXIT, &code.to_be_bytes()).await?;
            self.exit_sent = true;
        }
        if !output_open && !self.end_sent {
            wire::write(&mut self.out, wire::END, &[]).await?;
            self.end_sent = true;
        }
        Ok(())
    }
}
