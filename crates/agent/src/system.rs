//! Node facts and port probing.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::Path;
use std::time::Instant;

use cap_protocol::system::{PortStatus, SystemInfo};
use sysinfo::{MemoryRefreshKind, System};

use crate::runtime::Runtimes;

/// Host name, CPUs, memory, disk of the server root, agent version, uptime and what the
/// runtimes offer.
pub fn info(
    server_root: &Path,
    started: Instant,
    server_count: usize,
    runtimes: &Runtimes,
) -> SystemInfo {
    let mut system = System::new();
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let (disk_total_bytes, disk_available_bytes) = nix::sys::statvfs::statvfs(server_root)
        .map(|s| {
            let block = s.fragment_size();
            (s.blocks() * block, s.blocks_available() * block)
        })
        .unwrap_or((0, 0));
    SystemInfo {
        hostname: System::host_name().unwrap_or_default(),
        os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
        arch: std::env::consts::ARCH.into(),
        cpu_count: std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1),
        memory_total_bytes: system.total_memory(),
        memory_available_bytes: system.available_memory(),
        disk_total_bytes,
        disk_available_bytes,
        agent_version: env!("CARGO_PKG_VERSION").into(),
        uptime_seconds: started.elapsed().as_secs(),
        server_count,
        runtimes: runtimes.offered(),
        cgroup_version: runtimes.cgroup_version(),
        isolated_users: runtimes.isolated_users(),
        docker_version: runtimes.docker_version(),
        sftp: None,
    }
}

/// Try to bind `port` on all interfaces, TCP and UDP.
pub fn port_status(port: u16) -> PortStatus {
    let tcp = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok();
    let udp = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok();
    PortStatus {
        port,
        free: tcp && udp,
        tcp,
        udp,
    }
}
