//! Talking to the game itself: the query protocol a definition declares, and what a query
//! answers.
//!
//! A definition with a [`GameQuery`] is asked, while its game runs, every
//! `query_interval_secs` of the agent (10 s by default) on the query port; the answer is
//! published as [`Players`] in the server's stats. A query that fails or times out
//! changes nothing about the server's state: after three failures in a row the players
//! are no longer reported (`players` absent) until the game answers again.
//!
//! The query is sent to the definition's `SERVER_IP` environment variable when it is a
//! specific address, otherwise to 127.0.0.1.

use serde::{Deserialize, Serialize};

pub use cap_templates::QueryProtocol;

use crate::validation::FieldError;

/// How to ask a running game who is playing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameQuery {
    /// The query protocol.
    pub protocol: QueryProtocol,
    /// The UDP (TCP for `minecraft`) port the game answers queries on.
    pub port: u16,
}

impl GameQuery {
    /// Check the query's fields, reporting problems under `field`.
    pub fn check(&self, field: &str, errors: &mut Vec<FieldError>) {
        if self.port == 0 {
            errors.push(FieldError {
                field: format!("{field}.port"),
                message: "must be 1-65535".into(),
            });
        }
    }
}

/// What a game's query answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Players {
    /// Players connected now.
    pub online: u32,
    /// Most players the game accepts.
    pub max: u32,
    /// The current map, where the protocol tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<String>,
    /// The game's version, where the protocol tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Names of the players, where the protocol gives them (Minecraft gives a sample
    /// only; colour codes removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}
