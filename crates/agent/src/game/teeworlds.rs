//! Teeworlds 0.7's server info (what Debian's `teeworlds-server` 0.7.5 answers; it ignores
//! 0.6 requests). Two round trips: a token request (a control packet padded to 512 bytes
//! of data, so it cannot amplify) gets the server's token; the connectionless `gie3`
//! request carrying both tokens gets `inf3` with the server's details and its clients.

use std::net::SocketAddr;

use cap_protocol::game::Players;

use super::{non_empty, printable, receive, udp, QueryError};

/// Control packet flag, shifted into the first header byte.
const CONTROL: u8 = 1 << 2;
/// Connectionless packet flag with packet version 1.
const CONNLESS: u8 = (8 << 2) | 1;
/// The control message carrying a token.
const CTRL_TOKEN: u8 = 5;
/// Data bytes a token request is padded to.
const TOKEN_REQUEST_SIZE: usize = 512;
/// Header of a control packet.
const HEADER: usize = 7;
/// Header of a connectionless packet.
const HEADER_CONNLESS: usize = 9;
/// "No token yet".
const NO_TOKEN: [u8; 4] = [0xff; 4];
const GET_INFO: &[u8] = b"\xff\xff\xff\xffgie3";
const INFO: &[u8] = b"\xff\xff\xff\xffinf3";

/// Ask the game at `addr`.
pub async fn query(addr: SocketAddr) -> Result<Players, QueryError> {
    let socket = udp(addr).await?;
    let ours: [u8; 4] = rand::random();
    let mut request = vec![CONTROL, 0, 0];
    request.extend_from_slice(&NO_TOKEN);
    request.push(CTRL_TOKEN);
    request.extend_from_slice(&ours);
    request.resize(HEADER + TOKEN_REQUEST_SIZE, 0);
    socket.send(&request).await?;
    let theirs = loop {
        let answer = receive(&socket).await?;
        let is_token = answer.len() >= HEADER + 5
            && answer[0] & CONTROL != 0
            && answer[3..7] == ours
            && answer[HEADER] == CTRL_TOKEN;
        if is_token {
            break [answer[8], answer[9], answer[10], answer[11]];
        }
    };
    let serial: u8 = rand::random::<u8>() & 0x3f;
    let mut info = vec![CONNLESS];
    info.extend_from_slice(&theirs);
    info.extend_from_slice(&ours);
    info.extend_from_slice(GET_INFO);
    info.push(serial);
    socket.send(&info).await?;
    loop {
        let answer = receive(&socket).await?;
        if answer.len() > HEADER_CONNLESS && answer[0] == CONNLESS && answer[1..5] == ours {
            if let Some(body) = answer[HEADER_CONNLESS..].strip_prefix(INFO) {
                return parse(body);
            }
        }
    }
}

/// The body of `inf3` after its marker.
fn parse(body: &[u8]) -> Result<Players, QueryError> {
    let mut reader = Reader { rest: body };
    let _serial = reader.int()?;
    let version = non_empty(reader.string()?);
    let _name = reader.string()?;
    let _hostname = reader.string()?;
    let map = non_empty(reader.string()?);
    let _game_type = reader.string()?;
    let _flags = reader.int()?;
    let _skill = reader.int()?;
    let _players = reader.int()?;
    let _max_players = reader.int()?;
    let clients = count(reader.int()?)?;
    let max_clients = count(reader.int()?)?;
    let mut names = Vec::new();
    for _ in 0..clients {
        names.push(reader.string()?);
        let _clan = reader.string()?;
        let _country = reader.int()?;
        let _score = reader.int()?;
        let _kind = reader.int()?;
    }
    Ok(Players {
        online: clients,
        max: max_clients,
        map,
        version,
        names,
    })
}

fn count(value: i32) -> Result<u32, QueryError> {
    u32::try_from(value).map_err(|_| QueryError::Malformed("negative count"))
}

/// Teeworlds' packed fields: NUL-terminated strings and variable-length integers (sign in
/// bit 6 of the first byte, six data bits there and seven in each further byte).
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
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

    fn int(&mut self) -> Result<i32, QueryError> {
        let short = QueryError::Malformed("truncated integer");
        let (&first, mut rest) = self.rest.split_first().ok_or(short)?;
        let negative = first & 0x40 != 0;
        let mut value = i64::from(first & 0x3f);
        let mut more = first & 0x80 != 0;
        let mut shift = 6;
        while more {
            let (&next, tail) = rest
                .split_first()
                .ok_or(QueryError::Malformed("truncated integer"))?;
            if shift > 27 {
                return Err(QueryError::Malformed("integer too long"));
            }
            value |= i64::from(next & 0x7f) << shift;
            more = next & 0x80 != 0;
            shift += 7;
            rest = tail;
        }
        self.rest = rest;
        let value = if negative { !value } else { value };
        i32::try_from(value).map_err(|_| QueryError::Malformed("integer too large"))
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Reader};

    #[test]
    fn packed_integers_decode() {
        let mut reader = Reader {
            rest: &[0x05, 0x80 | 0x3f, 0x01, 0x40],
        };
        assert_eq!(reader.int().unwrap(), 5);
        assert_eq!(reader.int().unwrap(), 127);
        assert_eq!(reader.int().unwrap(), -1);
        assert!(reader.int().is_err());
    }

    #[test]
    fn an_info_answer_of_teeworlds_0_7_5_is_read() {
        // As sent by Debian's teeworlds-server 0.7.5 with sv_max_clients 10, one client.
        let mut body = b"\x050.7.5\0captest\0\0dm1\0DM\0\0\x01\x01\x08\x01\x0a".to_vec();
        body.extend_from_slice(b"name\x07\0clan\0\x40\x03\x00");
        let players = parse(&body).unwrap();
        assert_eq!((players.online, players.max), (1, 10));
        assert_eq!(players.map.as_deref(), Some("dm1"));
        assert_eq!(players.version.as_deref(), Some("0.7.5"));
        assert_eq!(players.names, ["name"]);
        assert!(parse(&body[..body.len() - 2]).is_err());
    }
}
