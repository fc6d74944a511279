//! The agent's side of the shims: starting one for a game, and turning its socket into
//! a [`Process`] (also after an agent restart).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::cgroup::ServerCgroup;
use super::shim::Spec;
use super::wire::{self, Hello};
use super::Control;
use crate::runtime::STDIN_QUEUE;
use crate::runtime::{Exit, Process};

/// How long a shim may take to start its game.
const READY_WAIT: Duration = Duration::from_secs(10);
/// Output bytes between the socket and the console reader.
const PIPE_BYTES: usize = 64 * 1024;
/// The crash reason when a shim vanished without reporting its game's exit.
const LOST: &str = "lost contact with the server's supervisor process";
/// How long a release may take to reach the shim.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// A frame for the shim, with who to tell once it is written.
pub struct Outgoing {
    tag: u8,
    payload: Vec<u8>,
    written: Option<oneshot::Sender<()>>,
}

impl Outgoing {
    fn new(tag: u8, payload: Vec<u8>) -> Self {
        Self {
            tag,
            payload,
            written: None,
        }
    }
}

/// Tell the shim its game's exit is handled, and wait (briefly) until that is written.
pub async fn release(shim: &mpsc::Sender<Outgoing>) {
    let (written, done) = oneshot::channel();
    let frame = Outgoing {
        tag: wire::RELEASE,
        payload: Vec::new(),
        written: Some(written),
    };
    if shim.send(frame).await.is_ok() {
        let _ = tokio::time::timeout(RELEASE_WAIT, done).await;
    }
}

/// Where the shims' sockets and logs are, and what program runs them.
pub struct Shims {
    program: PathBuf,
    sockets: PathBuf,
    logs: PathBuf,
}

impl Shims {
    /// Shims of `program shim`, sockets in `sockets`, logs in `logs/<id>/shim.log`.
    pub fn new(program: PathBuf, sockets: PathBuf, logs: PathBuf) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&sockets)?;
        std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o700))?;
        Ok(Self {
            program,
            sockets,
            logs,
        })
    }

    /// The socket of a server's shim.
    pub fn socket(&self, server: Uuid) -> PathBuf {
        self.sockets.join(format!("{server}.sock"))
    }

    /// The servers that have a shim socket.
    pub fn servers(&self) -> Vec<Uuid> {
        let Ok(entries) = std::fs::read_dir(&self.sockets) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                Uuid::parse_str(name.to_str()?.strip_suffix(".sock")?).ok()
            })
            .collect()
    }

    /// Start a shim running `spec` and wait until its game runs.
    pub async fn start(&self, server: Uuid, spec: &Spec) -> std::io::Result<()> {
        let log_dir = self.logs.join(server.to_string());
        std::fs::create_dir_all(&log_dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join("shim.log"))?;
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg("shim")
            .arg("--socket")
            .arg(self.socket(server))
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(false);
        // SAFETY: only setsid(2) runs between fork and exec: the shim leaves the agent's
        // session so that nothing aimed at the agent's terminal or group reaches it.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command.spawn()?;
        let json = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(&json).await?;
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("shim has no stdout"))?;
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        let answered = tokio::time::timeout(READY_WAIT, stdout.read_line(&mut line)).await;
        // The agent reaps its shims; a restarted agent leaves that to init.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        match answered {
            Ok(Ok(_)) if line.starts_with("ready ") => Ok(()),
            Ok(Ok(_)) if !line.trim().is_empty() => {
                Err(std::io::Error::other(line.trim().to_owned()))
            }
            Ok(Err(e)) => Err(e),
            _ => Err(std::io::Error::other(
                "the server's supervisor process did not start",
            )),
        }
    }

    /// Connect to a server's shim: output not yet seen is replayed first.
    pub async fn connect(
        &self,
        server: Uuid,
        cgroup: Option<ServerCgroup>,
    ) -> std::io::Result<Process> {
        let stream = UnixStream::connect(self.socket(server)).await?;
        let (mut input, mut out) = stream.into_split();
        let hello = match wire::read(&mut input).await? {
            Some((wire::HELLO, json)) => {
                serde_json::from_slice::<Hello>(&json).map_err(std::io::Error::other)?
            }
            _ => return Err(std::io::Error::other("the shim did not greet")),
        };
        let (frames, mut outgoing) = mpsc::channel::<Outgoing>(STDIN_QUEUE);
        tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                if wire::write(&mut out, frame.tag, &frame.payload)
                    .await
                    .is_err()
                {
                    return;
                }
                if let Some(written) = frame.written {
                    let _ = written.send(());
                }
            }
        });
        let (stdin, mut lines) = mpsc::channel::<String>(STDIN_QUEUE);
        let input_frames = frames.clone();
        tokio::spawn(async move {
            while let Some(line) = lines.recv().await {
                if input_frames
                    .send(Outgoing::new(wire::INPUT, line.into_bytes()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
        let (exit_tx, exit_rx) = oneshot::channel::<i32>();
        tokio::spawn(relay(input, writer, exit_tx, frames.clone(), hello.offset));
        let oom = cgroup.clone();
        let exit = Box::pin(async move {
            match exit_rx.await {
                Ok(code) => Exit {
                    code,
                    reason: oom
                        .is_some_and(|c| c.oom_killed())
                        .then(|| super::OUT_OF_MEMORY.to_owned()),
                },
                Err(_) => Exit {
                    code: -1,
                    reason: Some(LOST.to_owned()),
                },
            }
        });
        Ok(Process {
            pid: hello.pid,
            started_at: DateTime::<Utc>::from_timestamp_millis(hello.started_at_ms)
                .unwrap_or_else(Utc::now),
            stdin: Some(stdin),
            output: vec![Box::pin(reader)],
            exit,
            control: crate::runtime::Control::Native(Control {
                pgid: hello.pid,
                cgroup,
                shim: Some(frames),
            }),
            lost_output_bytes: hello.dropped,
        })
    }
}

/// Pass the shim's output to the console (acknowledging it) and its exit to the
/// supervisor; ends when the shim closes the connection.
async fn relay(
    mut input: tokio::net::unix::OwnedReadHalf,
    writer: tokio::io::DuplexStream,
    exit_tx: oneshot::Sender<i32>,
    frames: mpsc::Sender<Outgoing>,
    mut offset: u64,
) {
    let mut writer = Some(writer);
    let mut exit_tx = Some(exit_tx);
    while let Ok(Some((tag, payload))) = wire::read(&mut input).await {
        match tag {
            wire::OUTPUT => {
                if let Some(w) = writer.as_mut() {
                    if w.write_all(&payload).await.is_err() {
                        writer = None;
                    }
                }
                offset += payload.len() as u64;
                let _ = frames.try_send(Outgoing::new(wire::ACK, offset.to_be_bytes().to_vec()));
            }
            wire::EXIT => {
                if let (Some(tx), Some(code)) = (exit_tx.take(), wire::i32_of(&payload)) {
                    let _ = tx.send(code);
                }
            }
            wire::END => writer = None,
            _ => {}
        }
    }
}
