//! What a server's containers look like: the game container (its image, the server
//! directory at `/home/container`, an unprivileged user, the engine-enforced limits, the
//! published allocations) and the install container (the egg's install image as root, the
//! server directory at `/mnt/server`, the script at `/mnt/install/install.sh`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigLogConfig, Mount, MountType, PortBinding,
};
use cap_protocol::server::{Limits, ServerDefinition};

/// Where the game sees its server directory (and its working directory).
pub const HOME: &str = "/home/container";
/// Where an install script sees the server directory.
pub const INSTALL_SERVER: &str = "/mnt/server";
/// Where an install script sees its own directory.
pub const INSTALL_DIR: &str = "/mnt/install";
/// The script's file name inside [`INSTALL_DIR`].
pub const INSTALL_SCRIPT: &str = "install.sh";
/// The label holding the server id.
pub const LABEL_SERVER: &str = "cap.server";
/// The label naming the agent that owns the container (its data directory), so agents
/// sharing an engine leave each other's containers alone.
pub const LABEL_OWNER: &str = "cap.agent";
/// The label holding what the container is for ([`ROLE_GAME`] or [`ROLE_INSTALL`]).
pub const LABEL_ROLE: &str = "cap.role";
/// The game container's role.
pub const ROLE_GAME: &str = "game";
/// The install container's role.
pub const ROLE_INSTALL: &str = "install";
/// Size of the writable `/tmp` of a container, MiB.
const TMPFS_MIB: u32 = 64;
/// The engine keeps at most this much of a container's output.
const LOG_MAX_SIZE: &str = "5m";
/// CPU quota period, microseconds.
const CPU_PERIOD_US: i64 = 100_000;
/// Capabilities a game container never needs.
const DROPPED_CAPS: [&str; 10] = [
    "setpcap",
    "mknod",
    "audit_write",
    "net_raw",
    "dac_override",
    "fowner",
    "fsetid",
    "net_bind_service",
    "sys_chroot",
    "setfcap",
];

/// The container name of a server's game.
pub fn game_name(server: uuid::Uuid) -> String {
    format!("cap-{server}")
}

/// The container name of a server's install script.
pub fn install_name(server: uuid::Uuid) -> String {
    format!("cap-{server}-install")
}

/// Who a container is for.
pub struct Owner<'a> {
    /// The agent ([`LABEL_OWNER`]).
    pub agent: &'a str,
    /// The server's directory.
    pub dir: &'a Path,
}

/// The game container of `definition`: `image` runs its own entrypoint when it has one
/// (yolks read `STARTUP`), otherwise the rendered startup under `/bin/sh -c`.
pub fn game(
    definition: &ServerDefinition,
    image: &str,
    image_has_entrypoint: bool,
    owner: &Owner<'_>,
    user: (u32, u32),
    pids_limit: u32,
) -> ContainerCreateBody {
    let startup = render_startup(&definition.startup);
    let env = environment(definition, &startup);
    let ports = published(definition);
    let mut host = HostConfig {
        mounts: Some(vec![bind(owner.dir, HOME, false)]),
        port_bindings: Some(ports.clone()),
        security_opt: Some(vec!["no-new-privileges".into()]),
        cap_drop: Some(DROPPED_CAPS.iter().map(|c| (*c).to_owned()).collect()),
        readonly_rootfs: Some(true),
        ..base_host()
    };
    apply_limits(&mut host, &definition.limits, pids_limit);
    ContainerCreateBody {
        image: Some(image.to_owned()),
        hostname: Some(short_id(definition.id)),
        user: Some(format!("{}:{}", user.0, user.1)),
        env: Some(env),
        cmd: (!image_has_entrypoint).then(|| vec!["/bin/sh".into(), "-c".into(), startup]),
        working_dir: Some(HOME.into()),
        exposed_ports: Some(ports.keys().cloned().collect()),
        labels: Some(labels(definition.id, ROLE_GAME, owner.agent)),
        host_config: Some(host),
        ..interactive()
    }
}

/// The install container: `interpreter /mnt/install/install.sh` in `image`, as root
/// (install scripts install packages), with the server's limits.
pub fn install(
    definition: &ServerDefinition,
    image: &str,
    interpreter: &str,
    owner: &Owner<'_>,
    script_dir: &Path,
    pids_limit: u32,
) -> ContainerCreateBody {
    let startup = render_startup(&definition.startup);
    let mut host = HostConfig {
        mounts: Some(vec![
            bind(owner.dir, INSTALL_SERVER, false),
            bind(script_dir, INSTALL_DIR, true),
        ]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        ..base_host()
    };
    apply_limits(&mut host, &definition.limits, pids_limit);
    ContainerCreateBody {
        image: Some(image.to_owned()),
        hostname: Some(short_id(definition.id)),
        env: Some(environment(definition, &startup)),
        cmd: Some(vec![
            interpreter.to_owned(),
            format!("{INSTALL_DIR}/{INSTALL_SCRIPT}"),
        ]),
        working_dir: Some(INSTALL_SERVER.into()),
        labels: Some(labels(definition.id, ROLE_INSTALL, owner.agent)),
        host_config: Some(host),
        ..interactive()
    }
}

/// A container with a TTY and an open stdin, attached to from its start.
fn interactive() -> ContainerCreateBody {
    ContainerCreateBody {
        tty: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(false),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    }
}

/// What every container of a server shares: a small `/tmp`, a capped log.
fn base_host() -> HostConfig {
    HostConfig {
        tmpfs: Some(HashMap::from([(
            "/tmp".to_owned(),
            format!("rw,exec,nosuid,size={TMPFS_MIB}m"),
        )])),
        log_config: Some(HostConfigLogConfig {
            typ: Some("local".into()),
            config: Some(HashMap::from([
                ("max-size".to_owned(), LOG_MAX_SIZE.to_owned()),
                ("max-file".to_owned(), "1".to_owned()),
                ("compress".to_owned(), "false".to_owned()),
                ("mode".to_owned(), "non-blocking".to_owned()),
            ])),
        }),
        ..Default::default()
    }
}

fn labels(server: uuid::Uuid, role: &str, agent: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_SERVER.to_owned(), server.to_string()),
        (LABEL_ROLE.to_owned(), role.to_owned()),
        (LABEL_OWNER.to_owned(), agent.to_owned()),
    ])
}

fn short_id(server: uuid::Uuid) -> String {
    server.simple().to_string()[..12].to_owned()
}

fn bind(source: &Path, target: &str, read_only: bool) -> Mount {
    Mount {
        source: Some(source.display().to_string()),
        target: Some(target.to_owned()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    }
}

/// Memory (with headroom for runtimes such as the JVM that overshoot their heap
/// setting, as Wings gives), swap, CPU quota, processes and IO weight.
fn apply_limits(host: &mut HostConfig, limits: &Limits, pids_limit: u32) {
    if let Some(mib) = limits.memory_mib {
        let memory = bounded_memory(mib);
        host.memory = Some(memory);
        host.memory_reservation = Some(to_bytes(mib));
        host.memory_swap = Some(memory + to_bytes(limits.swap_mib.unwrap_or(0)));
    }
    if let Some(percent) = limits.cpu_percent {
        host.cpu_period = Some(CPU_PERIOD_US);
        host.cpu_quota = Some(i64::from(percent) * CPU_PERIOD_US / 100);
    }
    host.pids_limit = Some(i64::from(limits.pids.unwrap_or(pids_limit)));
    host.blkio_weight = limits.io_weight;
}

fn to_bytes(mib: u64) -> i64 {
    i64::try_from(mib.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX)
}

/// The container memory limit for `mib` of server memory: 15 % more up to 2 GiB, 10 %
/// up to 4 GiB, 5 % above.
pub fn bounded_memory(mib: u64) -> i64 {
    let factor = match mib {
        0..=2048 => 1.15,
        2049..=4096 => 1.10,
        _ => 1.05,
    };
    (to_bytes(mib) as f64 * factor).round() as i64
}

/// The startup command as the container's shell runs it: `{{VAR}}` placeholders become
/// `${VAR}` references (as yolks do), so values come from the environment and are never
/// parsed as shell code; `${VAR}` is left to the shell.
pub fn render_startup(startup: &str) -> String {
    let mut out = String::with_capacity(startup.len());
    let mut rest = startup;
    while let Some(at) = rest.find("{{") {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let name = after[2..].split_once("}}").map(|(name, _)| name.trim());
        match name {
            Some(name)
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
                let close = after.find("}}").unwrap_or(after.len() - 2);
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = &after[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The server's variables plus what eggs expect: `STARTUP`, `SERVER_MEMORY`,
/// `SERVER_IP`, `SERVER_PORT` (the panel sets them; an agent-only definition gets them
/// from its limits and ports), and `HOME`.
pub fn environment(definition: &ServerDefinition, startup: &str) -> Vec<String> {
    let mut env: BTreeMap<String, String> = definition.environment.clone();
    let defaults = [
        ("STARTUP", startup.to_owned()),
        (
            "SERVER_MEMORY",
            definition.limits.memory_mib.unwrap_or(0).to_string(),
        ),
        ("SERVER_IP", "0.0.0.0".to_owned()),
    ];
    let port = definition
        .ports
        .first()
        .map(|p| ("SERVER_PORT", p.to_string()));
    for (key, value) in defaults.into_iter().chain(port) {
        env.entry(key.to_owned()).or_insert(value);
    }
    env.insert("HOME".into(), HOME.into());
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Every port of the server, TCP and UDP, on its allocation's IP (`SERVER_IP` for the
/// first, `SERVER_IP_<n>` for the others, all interfaces when unset or not an address).
fn published(definition: &ServerDefinition) -> HashMap<String, Option<Vec<PortBinding>>> {
    let ip_of = |key: &str| {
        definition
            .environment
            .get(key)
            .and_then(|ip| ip.parse::<IpAddr>().ok())
    };
    let primary = ip_of("SERVER_IP");
    let mut ports = HashMap::new();
    for (n, port) in definition.ports.iter().enumerate() {
        let ip = if n == 0 {
            primary
        } else {
            ip_of(&format!("SERVER_IP_{n}")).or(primary)
        };
        let binding = PortBinding {
            host_ip: Some(ip.map(|ip| ip.to_string()).unwrap_or_default()),
            host_port: Some(port.to_string()),
        };
        for proto in ["tcp", "udp"] {
            ports.insert(format!("{port}/{proto}"), Some(vec![binding.clone()]));
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_environment_references() {
        assert_eq!(
            render_startup(
                "java -Xmx{{SERVER_MEMORY}}M -jar {{ SERVER_JARFILE }} --port ${SERVER_PORT}"
            ),
            "java -Xmx${SERVER_MEMORY}M -jar ${SERVER_JARFILE} --port ${SERVER_PORT}"
        );
        assert_eq!(render_startup("echo {{a b}} {{"), "echo {{a b}} {{");
        assert_eq!(
            render_startup("{{server.build.memory}}"),
            "{{server.build.memory}}"
        );
    }

    #[test]
    fn memory_gets_headroom_like_wings() {
        assert_eq!(bounded_memory(1024), 1_234_803_098);
        assert_eq!(bounded_memory(4096), 4_724_464_026);
        assert_eq!(bounded_memory(8192), 9_019_431_322);
    }
}
