//! Quake 3's `getstatus` (OpenArena, ioquake3 games): one datagram out, one back with the
//! server's settings (`\key\value…`) and one line per player (`score ping "name"`).

use std::net::SocketAddr;

use cap_protocol::game::Players;

use super::{non_empty, plain, receive, udp, QueryError};

/// Out-of-band packets start with four 0xff bytes.
pub(super) const OUT_OF_BAND: &[u8] = b"\xff\xff\xff\xff";

/// Ask the game at `addr`.
pub async fn query(addr: SocketAddr) -> Result<Players, QueryError> {
    let socket = udp(addr).await?;
    socket.send(&[OUT_OF_BAND, b"getstatus"].concat()).await?;
    loop {
        let answer = receive(&socket).await?;
        if let Some(body) = answer.strip_prefix(&[OUT_OF_BAND, b"statusResponse\n"].concat()[..]) {
            return parse(&String::from_utf8_lossy(body));
        }
    }
}

/// The body of a `statusResponse` after its first line.
fn parse(body: &str) -> Result<Players, QueryError> {
    let mut lines = body.lines();
    let settings = lines.next().ok_or(QueryError::Malformed("no settings"))?;
    let mut fields = settings.split('\\').skip(1);
    let (mut max, mut map, mut version) = (None, None, None);
    while let (Some(key), Some(value)) = (fields.next(), fields.next()) {
        match key.to_ascii_lowercase().as_str() {
            "sv_maxclients" => max = value.trim().parse().ok(),
            "mapname" => map = non_empty(plain(value)),
            "version" => version = non_empty(plain(value)),
            _ => {}
        }
    }
    let names: Vec<String> = lines
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let quoted = line.split_once('"').map(|(_, rest)| rest);
            plain(quoted.unwrap_or_default().trim_end_matches('"'))
        })
        .collect();
    Ok(Players {
        online: names.len() as u32,
        max: max.ok_or(QueryError::Malformed("no sv_maxclients"))?,
        map,
        version,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn settings_and_player_lines_are_read() {
        let body = "\\sv_maxclients\\12\\mapname\\oa_dm1\\version\\ioq3 1.36\n3 0 \"^1Angel^7yss\"\n0 48 \"Tee\"\n";
        let players = parse(body).unwrap();
        assert_eq!((players.online, players.max), (2, 12));
        assert_eq!(players.map.as_deref(), Some("oa_dm1"));
        assert_eq!(players.names, ["Angelyss", "Tee"]);
        assert!(parse("\\mapname\\x\n").is_err());
    }
}
