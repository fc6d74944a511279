//! Minecraft Java edition's server-list ping (TCP): a handshake asking for the status
//! state, a status request, and one JSON answer with the version, the counts and a sample
//! of player names (no map).

use std::net::SocketAddr;

use cap_protocol::game::Players;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{non_empty, printable, QueryError};

/// "Any version" in the handshake.
const ANY_PROTOCOL: i32 = -1;
/// The handshake's next state: status.
const STATUS: i32 = 1;
/// Largest status answer accepted.
const MAX_ANSWER: usize = 256 * 1024;

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    version: Option<Version>,
    players: Counts,
}

#[derive(Deserialize)]
struct Version {
    name: String,
}

#[derive(Deserialize)]
struct Counts {
    online: u32,
    max: u32,
    #[serde(default)]
    sample: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    name: String,
}

/// Ask the game at `addr`.
pub async fn query(addr: SocketAddr) -> Result<Players, QueryError> {
    let mut stream = TcpStream::connect(addr).await?;
    let host = addr.ip().to_string();
    let mut handshake = Vec::new();
    varint(&mut handshake, 0);
    varint(&mut handshake, ANY_PROTOCOL);
    varint(&mut handshake, host.len() as i32);
    handshake.extend_from_slice(host.as_bytes());
    handshake.extend_from_slice(&addr.port().to_be_bytes());
    varint(&mut handshake, STATUS);
    let mut out = Vec::new();
    varint(&mut out, handshake.len() as i32);
    out.extend_from_slice(&handshake);
    out.extend_from_slice(&[1, 0]);
    stream.write_all(&out).await?;
    let length = read_varint(&mut stream).await?;
    let length = usize::try_from(length)
        .ok()
        .filter(|l| *l <= MAX_ANSWER)
        .ok_or(QueryError::Malformed("bad packet length"))?;
    let mut packet = vec![0; length];
    stream.read_exact(&mut packet).await?;
    let mut body = &packet[..];
    if take_varint(&mut body)? != 0 {
        return Err(QueryError::Malformed("not a status answer"));
    }
    let json_length = usize::try_from(take_varint(&mut body)?)
        .ok()
        .filter(|l| *l <= body.len())
        .ok_or(QueryError::Malformed("bad string length"))?;
    parse(&body[..json_length])
}

/// The status JSON.
fn parse(json: &[u8]) -> Result<Players, QueryError> {
    let status: Status =
        serde_json::from_slice(json).map_err(|_| QueryError::Malformed("not status JSON"))?;
    Ok(Players {
        online: status.players.online,
        max: status.players.max,
        map: None,
        version: status.version.and_then(|v| non_empty(printable(&v.name))),
        names: status
            .players
            .sample
            .into_iter()
            .map(|s| printable(&s.name))
            .collect(),
    })
}

/// Append `value` as a VarInt.
fn varint(out: &mut Vec<u8>, value: i32) {
    let mut rest = value as u32;
    loop {
        let byte = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Read a VarInt from the stream.
async fn read_varint(stream: &mut TcpStream) -> Result<i32, QueryError> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let byte = stream.read_u8().await?;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value as i32);
        }
    }
    Err(QueryError::Malformed("VarInt too long"))
}

/// Take a VarInt from the front of `bytes`.
fn take_varint(bytes: &mut &[u8]) -> Result<i32, QueryError> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or(QueryError::Malformed("truncated VarInt"))?;
        *bytes = rest;
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value as i32);
        }
    }
    Err(QueryError::Malformed("VarInt too long"))
}

#[cfg(test)]
mod tests {
    use super::{parse, take_varint, varint};

    #[test]
    fn varints_round_trip() {
        for value in [0, 1, 127, 128, 25565, -1] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(take_varint(&mut &out[..]).unwrap(), value);
        }
        let mut out = Vec::new();
        varint(&mut out, -1);
        assert_eq!(out, [0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn the_status_json_is_read() {
        let json = br#"{"version":{"name":"1.21.4","protocol":769},"players":{"max":20,"online":2,"sample":[{"name":"Steve","id":"x"}]},"description":"hi"}"#;
        let players = parse(json).unwrap();
        assert_eq!((players.online, players.max), (2, 20));
        assert_eq!(players.version.as_deref(), Some("1.21.4"));
        assert_eq!(players.names, ["Steve"]);
        assert!(parse(b"{}").is_err());
    }
}
