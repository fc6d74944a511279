//! What a template says about talking to its game: the query protocol the agent asks
//! who is playing with, and on which port.
//!
//! In an egg these are extra top-level keys Pterodactyl ignores:
//! `"game_query": {"protocol": "quake3", "port_offset": 0}`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::MAX_PORT_OFFSET;

/// Query protocols (the agent speaks each; see `cap_protocol::game`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryProtocol {
    /// Minecraft Java edition's server-list ping (TCP).
    Minecraft,
    /// Valve's A2S_INFO and A2S_PLAYER (UDP, with the challenge).
    Source,
    /// Quake 3's `getstatus` (OpenArena, ioquake3 games; UDP).
    Quake3,
    /// Teeworlds 0.7's server info (UDP, with the token handshake).
    Teeworlds,
}

/// A template's game query: the protocol and the query port as an offset from the
/// server's primary port (0: the game port itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameQuerySpec {
    /// The query protocol.
    pub protocol: QueryProtocol,
    /// Query port minus the primary port.
    #[serde(default)]
    pub port_offset: u16,
}

impl GameQuerySpec {
    /// The query port of a server whose primary port is `primary` (`None` past 65535).
    pub fn port(&self, primary: u16) -> Option<u16> {
        primary.checked_add(self.port_offset)
    }

    /// The offset is within [`MAX_PORT_OFFSET`].
    pub fn check(&self) -> Result<()> {
        if self.port_offset > MAX_PORT_OFFSET {
            return Err(Error::field(
                "game_query.port_offset",
                format!("must be 0 to {MAX_PORT_OFFSET} (the distance from the primary port)"),
            ));
        }
        Ok(())
    }
}
