//! Game protocols: asking a running game who is playing (one module per query protocol)
//! and the poller that does so for every running server (see `cap_protocol::game`).

mod minecraft;
pub mod poller;
mod quake3;
mod source;
mod teeworlds;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use cap_protocol::game::{GameQuery, Players, QueryProtocol};
use cap_protocol::server::ServerDefinition;
use tokio::net::UdpSocket;

/// How long one query may take, all its round trips together.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(3);

/// The largest datagram a query reads.
const MAX_DATAGRAM: usize = 64 * 1024;

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The socket failed (refused, unreachable, ...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No (complete) answer in time.
    #[error("no answer within {} s", QUERY_TIMEOUT.as_secs())]
    Timeout,
    /// The answer is not what the protocol says.
    #[error("malformed answer: {0}")]
    Malformed(&'static str),
}

/// Ask the game at `addr` with `protocol`, within [`QUERY_TIMEOUT`].
pub async fn query(protocol: QueryProtocol, addr: SocketAddr) -> Result<Players, QueryError> {
    let asked = async {
        match protocol {
            QueryProtocol::Minecraft => minecraft::query(addr).await,
            QueryProtocol::Source => source::query(addr).await,
            QueryProtocol::Quake3 => quake3::query(addr).await,
            QueryProtocol::Teeworlds => teeworlds::query(addr).await,
        }
    };
    tokio::time::timeout(QUERY_TIMEOUT, asked)
        .await
        .map_err(|_| QueryError::Timeout)?
}

/// Where a definition's game answers `query`: its `SERVER_IP` when that is a specific
/// address, otherwise the loopback address.
pub fn address(definition: &ServerDefinition, query: &GameQuery) -> SocketAddr {
    let ip = definition
        .environment
        .get("SERVER_IP")
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    SocketAddr::new(ip, query.port)
}

/// A UDP socket connected to `addr`.
async fn udp(addr: SocketAddr) -> Result<UdpSocket, QueryError> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(addr).await?;
    Ok(socket)
}

/// Receive one datagram.
async fn receive(socket: &UdpSocket) -> Result<Vec<u8>, QueryError> {
    let mut buffer = vec![0; MAX_DATAGRAM];
    let read = socket.recv(&mut buffer).await?;
    buffer.truncate(read);
    Ok(buffer)
}

/// Text without Quake-style colour codes (`^1`) and control characters.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '^' => {
                chars.next();
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Text without control characters.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// `Some(text)` unless it is empty.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn colour_codes_and_controls_are_removed() {
        assert_eq!(plain("^1Red^7Tee\u{1b}"), "RedTee");
        assert_eq!(plain("plain"), "plain");
    }
}
