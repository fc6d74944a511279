//! Valve's A2S queries (Source and most Steam games): `A2S_INFO` for the name, map,
//! counts and version, then `A2S_PLAYER` for the names. Either may be answered with a
//! challenge (`A` + 4 bytes) first, which is repeated in the request; answers too long
//! for one datagram come split (`FE FF FF FF` headers) and are put together.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use cap_protocol::game::Players;
use tokio::net::UdpSocket;

use super::{non_empty, printable, receive, udp, QueryError};

const SINGLE: &[u8] = b"\xff\xff\xff\xff";
const SPLIT: &[u8] = b"\xfe\xff\xff\xff";
const INFO_REQUEST: &[u8] = b"TSource Engine Query\0";
const CHALLENGE: u8 = b'A';
const INFO: u8 = b'I';
const PLAYER_REQUEST: u8 = b'U';
const PLAYER: u8 = b'D';
/// Most parts of one split answer accepted.
const MAX_PARTS: u8 = 32;

/// Ask the game at `addr`.
pub async fn query(addr: SocketAddr) -> Result<Players, QueryError> {
    let socket = udp(addr).await?;
    let info = ask(&socket, INFO_REQUEST, &[], INFO).await?;
    let mut players = parse_info(&info)?;
    let list = ask(&socket, &[PLAYER_REQUEST], &[0xff; 4], PLAYER).await?;
    players.names = parse_players(&list)?;
    Ok(players)
}

/// Send `request` (with `challenge` appended) until the answer is of `kind`; returns the
/// answer after its kind byte.
async fn ask(
    socket: &UdpSocket,
    request: &[u8],
    challenge: &[u8],
    kind: u8,
) -> Result<Vec<u8>, QueryError> {
    let mut challenge = challenge.to_vec();
    for _ in 0..3 {
        socket.send(&[SINGLE, request, &challenge].concat()).await?;
        let answer = answer(socket).await?;
        match answer.split_first() {
            Some((&CHALLENGE, number)) if number.len() >= 4 => challenge = number[..4].to_vec(),
            Some((found, body)) if *found == kind => return Ok(body.to_vec()),
            _ => return Err(QueryError::Malformed("unexpected answer")),
        }
    }
    Err(QueryError::Malformed("challenged again and again"))
}

/// One whole answer without its `FF FF FF FF` prefix, its parts put together.
async fn answer(socket: &UdpSocket) -> Result<Vec<u8>, QueryError> {
    let mut parts = BTreeMap::new();
    loop {
        let datagram = receive(socket).await?;
        if let Some(body) = datagram.strip_prefix(SINGLE) {
            return Ok(body.to_vec());
        }
        let Some(split) = datagram.strip_prefix(SPLIT) else {
            continue;
        };
        // id (4, compressed when its top bit is set), total (1), number (1), size (2).
        if split.len() < 8 || split[3] & 0x80 != 0 {
            return Err(QueryError::Malformed("compressed or short split answer"));
        }
        let (total, number) = (split[4], split[5]);
        if total == 0 || total > MAX_PARTS || number >= total {
            return Err(QueryError::Malformed("bad split answer header"));
        }
        parts.insert(number, split[8..].to_vec());
        if parts.len() == usize::from(total) {
            let whole = parts.into_values().flatten().collect::<Vec<u8>>();
            return whole
                .strip_prefix(SINGLE)
                .map(<[u8]>::to_vec)
                .ok_or(QueryError::Malformed("split answer without header"));
        }
    }
}

/// `A2S_INFO`'s answer after its kind byte.
fn parse_info(body: &[u8]) -> Result<Players, QueryError> {
    let mut reader = Reader { rest: body };
    let _protocol = reader.byte()?;
    let _name = reader.string()?;
    let map = non_empty(reader.string()?);
    let _folder = reader.string()?;
    let _game = reader.string()?;
    let _app_id = reader.bytes(2)?;
    let online = reader.byte()?;
    let max = reader.byte()?;
    let _bots = reader.byte()?;
    let _details = reader.bytes(4)?;
    let version = non_empty(reader.string()?);
    Ok(Players {
        online: u32::from(online),
        max: u32::from(max),
        map,
        version,
        names: Vec::new(),
    })
}

/// `A2S_PLAYER`'s answer after its kind byte: names of the players who have one.
fn parse_players(body: &[u8]) -> Result<Vec<String>, QueryError> {
    let mut reader = Reader { rest: body };
    let count = reader.byte()?;
    let mut names = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let _index = reader.byte()?;
        let name = reader.string()?;
        let _score_and_time = reader.bytes(8)?;
        if !name.is_empty() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Bytes and NUL-terminated strings.
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn bytes(&mut self, count: usize) -> Result<&[u8], QueryError> {
        if self.rest.len() < count {
            return Err(QueryError::Malformed("answer too short"));
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, QueryError> {
        Ok(self.bytes(1)?[0])
    }

    fn string(&mut self) -> Result<String, QueryError> {
        let end = self
            .rest
            .iter()
            .position(|b| *b == 0)
            .ok_or(QueryError::Malformed("unterminated string"))?;
        let text = printable(&String::from_utf8_lossy(&self.rest[..end]));
        self.rest = &self.rest[end + 1..];
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_info, parse_players};

    #[test]
    fn info_and_player_answers_are_read() {
        let info = b"\x11Name\0de_dust2\0cstrike\0Counter-Strike\0\x0a\x00\x05\x20\x01dl\x00\x011.38.7.9\0";
        let players = parse_info(info).unwrap();
        assert_eq!((players.online, players.max), (5, 32));
        assert_eq!(players.map.as_deref(), Some("de_dust2"));
        assert_eq!(players.version.as_deref(), Some("1.38.7.9"));
        assert!(parse_info(&info[..20]).is_err());
        let list = b"\x02\x00alice\0\x01\x00\x00\x00\x00\x00\x80\x3f\x01\0\x00\x00\x00\x00\x00\x00\x80\x3f";
        assert_eq!(parse_players(list).unwrap(), ["alice"]);
    }
}
