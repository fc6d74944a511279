//! The Docker runtime: each server's game runs in a container of its own (labelled with
//! the server id) from the server's image, its install script in a container of the
//! egg's install image; the engine enforces the limits and keeps the containers running
//! while no agent is there.

mod engine;
pub mod spec;
mod usage;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListImagesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use bollard::Docker as Client;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use uuid::Uuid;

use super::{Exit, Launch, Process, Task, Usage};
use crate::config::Config;
use crate::runtime::native::users::{hand_over, Identity};
use crate::runtime::native::OUT_OF_MEMORY;
pub use engine::Engine;

/// The Docker runtime.
pub struct Docker {
    engine: Engine,
    user: (u32, u32),
    pids_limit: u32,
    install_dir: PathBuf,
    /// This agent's [`spec::LABEL_OWNER`].
    owner: String,
    /// The servers' console logs, `<logs>/<id>/console.log`.
    logs: PathBuf,
}

impl Docker {
    /// The runtime for `config` (the engine is asked only when needed: it may start
    /// after the agent).
    pub fn new(config: &Config) -> Self {
        let user = if nix::unistd::geteuid().is_root() {
            config.docker_user
        } else {
            (
                nix::unistd::geteuid().as_raw(),
                nix::unistd::getegid().as_raw(),
            )
        };
        Self {
            engine: Engine::new(config.docker_socket.clone()),
            user,
            pids_limit: config.pids_limit,
            install_dir: config.data_dir.join("install"),
            owner: config.data_dir.display().to_string(),
            logs: config.data_dir.join("logs"),
        }
    }

    /// The engine's version when it last answered.
    pub fn version(&self) -> Option<String> {
        self.engine.version()
    }

    /// Ask the engine again whether it is there.
    pub async fn refresh(&self) {
        let _ = self.engine.client().await;
    }

    /// `uid:gid` of the games' containers.
    pub fn user(&self) -> String {
        format!("container (uid {}, gid {})", self.user.0, self.user.1)
    }

    /// Create, attach to and start the server's game or install container (any previous
    /// container of the same kind is removed first).
    pub async fn start(&self, launch: Launch<'_>) -> std::io::Result<Process> {
        let docker = self.engine.client().await?;
        let definition = launch.definition;
        let server = definition.id;
        let owner = spec::Owner {
            agent: &self.owner,
            dir: launch.dir,
        };
        let (name, body) = match launch.task {
            Task::Game { .. } => {
                let image = definition
                    .image
                    .as_deref()
                    .ok_or_else(|| std::io::Error::other("the server has no image"))?;
                let entrypoint = engine::ensure_image(&docker, image, launch.say).await?;
                let (dir, user) = (launch.dir.to_path_buf(), self.user);
                tokio::task::spawn_blocking(move || give_to(&dir, user))
                    .await
                    .map_err(std::io::Error::other)??;
                let body = spec::game(
                    definition,
                    image,
                    entrypoint,
                    &owner,
                    self.user,
                    self.pids_limit,
                );
                (spec::game_name(server), body)
            }
            Task::Install {
                interpreter,
                script,
                image,
            } => {
                let image = image.ok_or_else(|| {
                    std::io::Error::other("the install script names no container image")
                })?;
                engine::ensure_image(&docker, image, launch.say).await?;
                let script_dir = self.install_dir.join(server.to_string());
                write_script(&script_dir, script)?;
                let body = spec::install(
                    definition,
                    image,
                    interpreter,
                    &owner,
                    &script_dir,
                    self.pids_limit,
                );
                (spec::install_name(server), body)
            }
        };
        remove(&docker, &name).await;
        let options = bollard::query_parameters::CreateContainerOptionsBuilder::default()
            .name(&name)
            .build();
        docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| engine::failed("cannot create the container", e))?;
        let process = attach(&docker, &name, None, None).await;
        let process = match process {
            Ok(process) => process,
            Err(e) => {
                remove(&docker, &name).await;
                return Err(e);
            }
        };
        if let Err(e) = docker.start_container(&name, None).await {
            remove(&docker, &name).await;
            return Err(engine::failed("cannot start the container", e));
        }
        let pid = inspect(&docker, &name)
            .await
            .ok()
            .and_then(|i| i.state.and_then(|s| s.pid))
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0);
        Ok(Process { pid, ..process })
    }

    /// Attach to the game container a previous agent left (running or exited while no
    /// agent was there); a left install container is removed (installs are not taken
    /// over).
    pub async fn reattach(&self, server: Uuid) -> Option<Process> {
        let docker = match self.engine.client().await {
            Ok(docker) => docker,
            Err(e) => {
                tracing::warn!(%server, error = %e, "cannot look for the server's container");
                return None;
            }
        };
        remove(&docker, &spec::install_name(server)).await;
        let name = spec::game_name(server);
        let found = inspect(&docker, &name).await.ok()?;
        let state = found.state.clone().unwrap_or_default();
        let started_at = state
            .started_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let pid = state.pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(0);
        // The console log was last written when an agent last read the game's output.
        let read_until = std::fs::metadata(self.logs.join(server.to_string()).join("console.log"))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        match attach(&docker, &name, started_at, Some(read_until)).await {
            Ok(process) => Some(Process { pid, ..process }),
            Err(e) => {
                tracing::warn!(%server, error = %e, "cannot attach to the server's container");
                remove(&docker, &name).await;
                None
            }
        }
    }

    /// Remove the containers of servers that are not among `known`.
    pub async fn end_orphans(&self, known: &[Uuid]) {
        let Ok(docker) = self.engine.client().await else {
            return;
        };
        let mine = format!("{}={}", spec::LABEL_OWNER, self.owner);
        let filters = HashMap::from([("label".to_owned(), vec![mine])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let Ok(containers) = docker.list_containers(Some(options)).await else {
            return;
        };
        for container in containers {
            let server = container
                .labels
                .as_ref()
                .and_then(|l| l.get(spec::LABEL_SERVER))
                .and_then(|id| id.parse::<Uuid>().ok());
            if server.is_some_and(|s| !known.contains(&s)) {
                if let Some(id) = container.id {
                    tracing::warn!(container = %id, "removing the container of a server that no longer exists");
                    remove(&docker, &id).await;
                }
            }
        }
    }

    /// A deleted server: remove its containers and install script.
    pub async fn forget(&self, server: Uuid) {
        if let Ok(docker) = self.engine.client().await {
            remove(&docker, &spec::game_name(server)).await;
            remove(&docker, &spec::install_name(server)).await;
        }
        let _ = std::fs::remove_dir_all(self.install_dir.join(server.to_string()));
    }

    /// The images the engine holds, newest first.
    pub async fn images(&self) -> std::io::Result<Vec<cap_protocol::system::ImageInfo>> {
        let docker = self.engine.client().await?;
        let options = ListImagesOptionsBuilder::default().build();
        let mut images: Vec<_> = docker
            .list_images(Some(options))
            .await
            .map_err(|e| engine::failed("cannot list the images", e))?
            .into_iter()
            .map(|image| cap_protocol::system::ImageInfo {
                id: image.id,
                tags: image.repo_tags,
                size_bytes: u64::try_from(image.size).unwrap_or(0),
                created: DateTime::from_timestamp(image.created, 0).unwrap_or_default(),
            })
            .collect();
        images.sort_by_key(|image| std::cmp::Reverse(image.created));
        Ok(images)
    }

    /// Measure the containers (blocking: call from a blocking task).
    pub fn usage(&self, controls: &[&Control]) -> Vec<Usage> {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return vec![Usage::default(); controls.len()];
        };
        handle.block_on(futures_util::future::join_all(
            controls
                .iter()
                .map(|c| usage::sample(&c.docker, &c.container, &c.cpu)),
        ))
    }
}

/// The script file in its own directory (mounted read-only at `/mnt/install`).
fn write_script(dir: &Path, script: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(spec::INSTALL_SCRIPT);
    crate::tls::write_private(&path, script.as_bytes())
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The server directory belongs to the containers' user (install containers run as
/// root and leave root's files behind).
fn give_to(dir: &Path, (uid, gid): (u32, u32)) -> std::io::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let identity = Identity {
        uid,
        gid,
        name: "container".into(),
    };
    hand_over(dir, &identity)
}

async fn inspect(
    docker: &Client,
    name: &str,
) -> Result<ContainerInspectResponse, bollard::errors::Error> {
    docker.inspect_container(name, None).await
}

/// Remove a container whatever its state (nothing when there is none).
async fn remove(docker: &Client, name: &str) {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(e) => tracing::warn!(container = name, error = %e, "cannot remove container"),
    }
}

/// Attach to the container's TTY (stdin and output) and watch for its exit; with
/// `replay_since` (Unix seconds) the output the engine logged from then until now comes
/// first (what no agent read; up to a second of it may be shown again).
async fn attach(
    docker: &Client,
    name: &str,
    started_at: Option<DateTime<Utc>>,
    replay_since: Option<u64>,
) -> std::io::Result<Process> {
    let options = AttachContainerOptionsBuilder::default()
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .stream(true)
        .logs(false)
        .build();
    let attached = docker
        .attach_container(name, Some(options))
        .await
        .map_err(|e| engine::failed("cannot attach to the container", e))?;
    let live = attached.output;
    let output = match replay_since {
        Some(since) => {
            let until = Utc::now().timestamp() + 1;
            let options = LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .since(i32::try_from(since).unwrap_or(0))
                .until(i32::try_from(until).unwrap_or(i32::MAX))
                .build();
            docker.logs(name, Some(options)).chain(live).boxed()
        }
        None => live.boxed(),
    };
    let output = output.map(|item| {
        item.map(|chunk| chunk.into_bytes())
            .map_err(std::io::Error::other)
    });
    let reader = tokio_util::io::StreamReader::new(output);
    let container = inspect(docker, name)
        .await
        .ok()
        .and_then(|i| i.id)
        .unwrap_or_else(|| name.to_owned());
    let exit = {
        let docker = docker.clone();
        let container = container.clone();
        Box::pin(async move { wait(&docker, &container).await })
    };
    Ok(Process {
        pid: 0,
        started_at: started_at.unwrap_or_else(Utc::now),
        stdin: Some(super::stdin_writer(attached.input)),
        output: vec![Box::pin(reader)],
        exit,
        lost_output_bytes: 0,
        control: super::Control::Docker(Control {
            docker: docker.clone(),
            container,
            cpu: usage::CpuSample::default(),
        }),
    })
}

/// Wait for the container to stop; its exit code, and `out of memory` when the kernel
/// killed it for that.
async fn wait(docker: &Client, container: &str) -> Exit {
    let options = WaitContainerOptionsBuilder::default()
        .condition("not-running")
        .build();
    let waited = docker.wait_container(container, Some(options)).next().await;
    let code = match waited {
        Some(Ok(response)) => response.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => {
            return Exit {
                code: -1,
                reason: Some(format!("lost the container: {e}")),
            }
        }
        None => -1,
    };
    let state = inspect(docker, container).await.ok().and_then(|i| i.state);
    let oom = state.as_ref().and_then(|s| s.oom_killed).unwrap_or(false);
    let code = state.and_then(|s| s.exit_code).unwrap_or(code);
    Exit {
        code: i32::try_from(code).unwrap_or(-1),
        reason: oom.then(|| OUT_OF_MEMORY.to_owned()),
    }
}

/// A server's container.
#[derive(Clone)]
pub struct Control {
    docker: Client,
    container: String,
    cpu: usage::CpuSample,
}

impl Control {
    /// Have the engine send `signal` to the container's main process.
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        let (docker, container) = (self.docker.clone(), self.container.clone());
        let options = KillContainerOptionsBuilder::default()
            .signal(signal.as_str())
            .build();
        tokio::spawn(async move {
            match docker.kill_container(&container, Some(options)).await {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                }) => {}
                Err(e) => tracing::warn!(%container, error = %e, "cannot signal the container"),
            }
        });
        Ok(())
    }

    /// When the main process is gone the container is too.
    pub async fn wait_gone(&self, _deadline: Instant) {}

    /// The engine ends a container's other processes with its main one.
    pub fn kill_all(&self) {}

    /// The kernel enforces the container's memory limit.
    pub fn enforces_memory(&self) -> bool {
        true
    }

    /// The exit has been handled: the container goes.
    pub async fn finished(&self) {
        remove(&self.docker, &self.container).await;
    }
}
