//! The addresses a server binds. A node offers its free allocations (rows admins added,
//! or released ones) and, on the bind-all address, every port of its port range. A
//! server holds a primary allocation, the ports its template needs beside it (offsets
//! from the primary, e.g. port+1), and the ones its users added.

use std::collections::HashSet;

use cap_templates::Binding;
use sea_orm::ConnectionTrait;

use crate::agents::AgentClient;
use crate::db::entities::{allocation, node, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::state::AppState;

/// The address games bind to when an allocation names no address: every interface.
pub const BIND_IP: &str = "0.0.0.0";
/// How many candidate ports are checked on the agent before giving up.
const PORT_PROBES: usize = 256;

/// A server's allocations in the order the game sees them (see
/// [`cap_templates::RenderContext`]), and how many it may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub primary: Binding,
    pub additional: Vec<Binding>,
    pub limit: u64,
}

impl Network {
    /// The first binding is the primary one; `limit` as [`allowed`] computes it.
    pub fn new(mut bindings: Vec<Binding>, limit: usize) -> Result<Network> {
        if bindings.is_empty() {
            return Err(Error::Conflict("this server has no port allocated".into()));
        }
        let primary = bindings.remove(0);
        Ok(Network {
            primary,
            additional: bindings,
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
        })
    }
}

/// How many allocations a server may hold: what an admin set, and never fewer than its
/// template needs.
pub fn allowed(server: &server::Model, offsets: &[u16]) -> usize {
    usize::try_from(server.allocation_limit)
        .unwrap_or(0)
        .max(1 + offsets.len())
}

pub fn binding(row: &allocation::Model) -> Result<Binding> {
    Ok(Binding {
        ip: row.ip.clone(),
        port: u16::try_from(row.port)
            .map_err(|_| Error::internal(format!("allocation {} has port {}", row.id, row.port)))?,
    })
}

/// A server's rows in the order the game sees them: the primary, the ports its template
/// needs beside it (in the template's order), then the rest by age. Also returns how
/// many leading rows are the primary and the ports it needs (they cannot be removed).
pub fn ordered(rows: Vec<allocation::Model>, offsets: &[u16]) -> (Vec<allocation::Model>, usize) {
    let (mut primary, mut rest): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.is_primary);
    let Some(first) = primary.pop() else {
        return (rest, 0);
    };
    rest.extend(primary);
    let mut out = vec![first];
    for offset in offsets {
        let wanted = out[0].port + i32::from(*offset);
        if let Some(i) = rest
            .iter()
            .position(|r| r.ip == out[0].ip && r.port == wanted)
        {
            out.push(rest.remove(i));
        }
    }
    let needed = out.len();
    out.extend(rest);
    (out, needed)
}

/// The network of ordered rows.
pub fn of_rows(rows: &[allocation::Model], limit: usize) -> Result<Network> {
    Network::new(rows.iter().map(binding).collect::<Result<_>>()?, limit)
}

/// A server's network as stored.
pub async fn of_server(
    db: &impl ConnectionTrait,
    server: &server::Model,
    offsets: &[u16],
) -> Result<Network> {
    let (rows, _) = ordered(
        repo::allocations::for_server(db, &server.id).await?,
        offsets,
    );
    of_rows(&rows, allowed(server, offsets))
}

/// Which addresses of a node servers hold. The bind-all address shares every port with
/// the node's other addresses.
struct Usage {
    held: HashSet<(String, i32)>,
    ports: HashSet<i32>,
    everywhere: HashSet<i32>,
}

impl Usage {
    async fn of(db: &impl ConnectionTrait, node_id: &str) -> Result<Usage> {
        let held: HashSet<(String, i32)> = repo::allocations::held(db, node_id)
            .await?
            .into_iter()
            .collect();
        Ok(Usage {
            ports: held.iter().map(|(_, port)| *port).collect(),
            everywhere: held
                .iter()
                .filter(|(ip, _)| ip == BIND_IP)
                .map(|(_, port)| *port)
                .collect(),
            held,
        })
    }

    fn is_free(&self, ip: &str, port: i32) -> bool {
        if ip == BIND_IP {
            !self.ports.contains(&port)
        } else {
            !self.everywhere.contains(&port) && !self.held.contains(&(ip.to_owned(), port))
        }
    }
}

/// Picks a primary port and the ports at `offsets` from it, all offered by the node,
/// held by no server and bindable on the agent (on `ip` only, if given). Free
/// allocations come first (by address and port), then the node's port range.
pub async fn pick(
    state: &AppState,
    node: &node::Model,
    client: &AgentClient,
    ip: Option<&str>,
    offsets: &[u16],
) -> Result<Vec<Binding>> {
    let usage = Usage::of(state.db(), &node.id).await?;
    let free = repo::allocations::free(state.db(), &node.id, ip).await?;
    let listed: HashSet<(&str, i32)> = free.iter().map(|r| (r.ip.as_str(), r.port)).collect();
    let range = node.port_range_start..=node.port_range_end;
    let offered = |ip: &str, port: i32| {
        listed.contains(&(ip, port)) || (ip == BIND_IP && range.contains(&port))
    };
    let from_range = ip.is_none_or(|ip| ip == BIND_IP);
    let candidates = free.iter().map(|r| (r.ip.as_str(), r.port)).chain(
        range
            .clone()
            .filter(|_| from_range)
            .map(|port| (BIND_IP, port)),
    );
    let mut seen = HashSet::new();
    let mut probes = 0;
    'candidates: for (ip, port) in candidates {
        if !seen.insert((ip, port)) {
            continue;
        }
        let group: Vec<i32> = std::iter::once(port)
            .chain(offsets.iter().map(|o| port + i32::from(*o)))
            .collect();
        if !group
            .iter()
            .all(|p| offered(ip, *p) && usage.is_free(ip, *p))
        {
            continue;
        }
        let mut bindings = Vec::with_capacity(group.len());
        for port in group {
            let Ok(port) = u16::try_from(port) else {
                continue 'candidates;
            };
            probes += 1;
            if probes > PORT_PROBES {
                break 'candidates;
            }
            if !client.port_status(port).await?.free {
                continue 'candidates;
            }
            bindings.push(Binding {
                ip: ip.to_owned(),
                port,
            });
        }
        return Ok(bindings);
    }
    let what = if offsets.is_empty() {
        "a free port".to_owned()
    } else {
        format!(
            "{} free ports at the distances this template needs",
            1 + offsets.len()
        )
    };
    let range = format!("{}-{}", node.port_range_start, node.port_range_end);
    Err(Error::Conflict(match ip {
        Some(ip) if ip != BIND_IP => {
            format!("node {} has no {what} left on {ip}", node.name)
        }
        _ => format!(
            "node {} has no {what} left in its allocations or its range {range}",
            node.name
        ),
    }))
}

/// Assigns these addresses to a server with `notes`, the first as its primary
/// allocation when `primary`; false if a server holds one of them already (nothing is
/// kept then, once the caller rolls back).
pub async fn claim(
    db: &impl ConnectionTrait,
    node_id: &str,
    server_id: &str,
    bindings: &[Binding],
    primary: bool,
    notes: &str,
) -> Result<bool> {
    for (i, b) in bindings.iter().enumerate() {
        let claimed = repo::allocations::Claim {
            node_id,
            ip: &b.ip,
            port: i32::from(b.port),
            server_id,
            primary: primary && i == 0,
            notes,
        };
        if !repo::allocations::claim(db, claimed).await? {
            return Ok(false);
        }
    }
    Ok(true)
}
