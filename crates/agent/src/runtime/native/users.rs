//! The system users servers run as: one per server (`cap-<last 16 hex digits of its
//! id>`, uid and gid from the configured range), or one shared user, created with
//! `groupadd`/`useradd` when missing. An agent that is not root runs everything as itself.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use nix::unistd::{Gid, Group, Uid, User};
use uuid::Uuid;

/// How many times creating a user is tried before it is given up.
const CREATE_ATTEMPTS: usize = 32;
/// Pause after a failed creation before looking again.
const RACE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

/// A user processes run as.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// User name.
    pub name: String,
}

impl Identity {
    /// `name (uid N)`.
    pub fn describe(&self) -> String {
        format!("{} (uid {})", self.name, self.uid)
    }
}

/// Who runs the servers.
pub enum Users {
    /// The agent is not root: games run as the agent's own user.
    Agent,
    /// One user per server.
    PerServer {
        /// The uids (and gids) new users get.
        range: RangeInclusive<u32>,
        /// Users known so far, and the lock that serialises creating them.
        known: Mutex<HashMap<Uuid, Identity>>,
    },
    /// Every server runs as this user.
    Shared(Identity),
}

impl Users {
    /// The policy for an agent running as `euid`: per server from `range`, or the
    /// `shared` user (created from `range` when missing).
    pub fn new(
        euid: Uid,
        range: RangeInclusive<u32>,
        shared: Option<&str>,
    ) -> std::io::Result<Self> {
        if !euid.is_root() {
            return Ok(Self::Agent);
        }
        match shared {
            Some(name) => Ok(Self::Shared(find_or_create(name, &range, None)?)),
            None => Ok(Self::PerServer {
                range,
                known: Mutex::default(),
            }),
        }
    }

    /// Whether servers run as users other than the agent's.
    pub fn isolated(&self) -> bool {
        !matches!(self, Self::Agent)
    }

    /// The user `server` runs as (created when missing); `None` for the agent itself.
    pub fn identity(&self, server: Uuid, home: &Path) -> std::io::Result<Option<Identity>> {
        match self {
            Self::Agent => Ok(None),
            Self::Shared(identity) => Ok(Some(identity.clone())),
            Self::PerServer { range, known } => {
                let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(identity) = known.get(&server) {
                    return Ok(Some(identity.clone()));
                }
                let identity = find_or_create(&user_name(server), range, Some((server, home)))?;
                known.insert(server, identity.clone());
                Ok(Some(identity))
            }
        }
    }

    /// The user `server` runs as, when it exists (never creates one).
    pub fn existing(&self, server: Uuid) -> Option<Identity> {
        match self {
            Self::Agent => None,
            Self::Shared(identity) => Some(identity.clone()),
            Self::PerServer { known, .. } => {
                let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(identity) = known.get(&server) {
                    return Some(identity.clone());
                }
                let identity = lookup(&user_name(server))?;
                known.insert(server, identity.clone());
                Some(identity)
            }
        }
    }

    /// `name (uid N)` of the user `server` runs as (the agent's own when it is not root).
    pub fn describe(&self, server: Uuid) -> Option<String> {
        match self {
            Self::Agent => {
                let uid = nix::unistd::geteuid();
                let name = User::from_uid(uid).ok().flatten().map(|u| u.name);
                Some(format!(
                    "{} (uid {uid})",
                    name.unwrap_or_else(|| uid.to_string())
                ))
            }
            _ => self.existing(server).map(|i| i.describe()),
        }
    }

    /// Delete the user of a deleted server (per-server users only).
    pub fn remove(&self, server: Uuid) {
        let Self::PerServer { known, .. } = self else {
            return;
        };
        let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
        known.remove(&server);
        let name = user_name(server);
        if lookup(&name).is_none() {
            return;
        }
        if let Err(e) = run("userdel", &[&name]) {
            tracing::warn!(%server, error = %e, "cannot delete the server's user");
        }
        if Group::from_name(&name).ok().flatten().is_some() {
            let _ = run("groupdel", &[&name]);
        }
    }
}

/// The user name of a server: the id's last 16 hex digits. The panel's ids are
/// time-ordered (UUIDv7), so their first digits are a millisecond timestamp that servers
/// created together share; the last ones are random.
pub fn user_name(server: Uuid) -> String {
    format!("cap-{}", &server.simple().to_string()[16..])
}

fn uid_free(id: u32) -> bool {
    User::from_uid(Uid::from_raw(id)).ok().flatten().is_none()
}

fn gid_free(id: u32) -> bool {
    Group::from_gid(Gid::from_raw(id)).ok().flatten().is_none()
}

fn lookup(name: &str) -> Option<Identity> {
    let user = User::from_name(name).ok().flatten()?;
    Some(Identity {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        name: user.name,
    })
}

/// The user `name`, or a new one with the first uid of `range` that is free both as a
/// uid and as a gid (its group has the same name and id).
fn find_or_create(
    name: &str,
    range: &RangeInclusive<u32>,
    server: Option<(Uuid, &Path)>,
) -> std::io::Result<Identity> {
    let comment = match server {
        Some((id, _)) => format!("cap-agent server {id}"),
        None => "cap-agent game servers".to_owned(),
    };
    let home = server.map_or_else(
        || "/nonexistent".to_owned(),
        |(_, h)| h.display().to_string(),
    );
    // groupadd/useradd/groupdel fail at once while another process (another agent on
    // this machine) holds the account database's lock, and uids are claimed concurrently:
    // every attempt looks afresh and failures are retried after a pause.
    let mut last_error = None;
    for _ in 0..CREATE_ATTEMPTS {
        if let Some(identity) = lookup(name) {
            return Ok(identity);
        }
        let id = match Group::from_name(name).ok().flatten() {
            // Left by an attempt that failed half-way: use it again while its id is free
            // as a uid, otherwise remove it and start over.
            Some(group) if uid_free(group.gid.as_raw()) => group.gid.as_raw(),
            Some(_) => {
                if let Err(e) = run("groupdel", &[name]) {
                    last_error = Some(e);
                }
                std::thread::sleep(RACE_WAIT);
                continue;
            }
            None => {
                let Some(id) = range.clone().find(|id| uid_free(*id) && gid_free(*id)) else {
                    break;
                };
                if let Err(e) = run("groupadd", &["--system", "--gid", &id.to_string(), name]) {
                    last_error = Some(e);
                    std::thread::sleep(RACE_WAIT);
                    continue;
                }
                id
            }
        };
        let id_text = id.to_string();
        let created = run(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--home-dir",
                &home,
                "--shell",
                "/usr/sbin/nologin",
                "--uid",
                &id_text,
                "--gid",
                &id_text,
                "--comment",
                &comment,
                name,
            ],
        );
        match created {
            Ok(()) => {
                tracing::info!(
                    user = name,
                    uid = id,
                    "created a system user for game servers"
                );
                return Ok(Identity {
                    uid: id,
                    gid: id,
                    name: name.to_owned(),
                });
            }
            Err(e) => {
                last_error = Some(e);
                std::thread::sleep(RACE_WAIT);
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::other(format!(
            "no free uid left in {}-{} for user {name}",
            range.start(),
            range.end()
        ))
    }))
}

fn run(program: &str, args: &[&str]) -> std::io::Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot run {program}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    )))
}

/// Give `dir` and everything in it (not following symbolic links) to `identity`, and
/// make `dir` private to it.
pub fn hand_over(dir: &Path, identity: &Identity) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::create_dir_all(dir)?;
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(std::io::Error::other)?;
        let meta = entry.metadata().map_err(std::io::Error::other)?;
        if meta.uid() != identity.uid || meta.gid() != identity.gid {
            std::os::unix::fs::lchown(entry.path(), Some(identity.uid), Some(identity.gid))?;
        }
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Fails when users other than a directory's owner cannot reach `dir` because one of its
/// ancestors lacks the search bit for others (a data directory below a private home such
/// as `/root`): the server's own user could not even enter its directory.
pub fn ensure_reachable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for ancestor in dir.ancestors().skip(1) {
        let mode = std::fs::metadata(ancestor)?.permissions().mode() & 0o7777;
        if mode & 0o001 == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "{} (mode {mode:04o}) does not let other users pass, so the server's own \
                     user cannot reach {}; put the agent's data directory or --server-root \
                     below directories every user may pass (for example /var/lib/cap-agent)",
                    ancestor.display(),
                    dir.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_fit_useradd_and_differ_per_server() {
        let a = user_name(Uuid::new_v4());
        assert!(a.len() <= 32 && a.starts_with("cap-"));
        assert_ne!(a, user_name(Uuid::new_v4()));
    }

    #[test]
    fn a_group_left_by_a_half_finished_creation_is_used_again() {
        if !Uid::effective().is_root() {
            eprintln!("skipped: creating system users needs root");
            return;
        }
        let range = 79_000..=79_999;
        let users = Users::new(Uid::effective(), range.clone(), None).unwrap();
        let server = Uuid::new_v4();
        let name = user_name(server);
        let gid = range
            .clone()
            .find(|id| uid_free(*id) && gid_free(*id))
            .unwrap();
        run("groupadd", &["--system", "--gid", &gid.to_string(), &name]).unwrap();
        let identity = users.identity(server, Path::new("/nonexistent"));
        users.remove(server);
        let identity = identity.unwrap().expect("a user of its own");
        assert_eq!((identity.name.as_str(), identity.gid), (name.as_str(), gid));
    }

    #[test]
    fn a_directory_below_a_private_one_is_unreachable() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let private = root.path().join("home");
        let server = private.join("data/servers/1");
        std::fs::create_dir_all(&server).unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let refused = ensure_reachable(&server).unwrap_err().to_string();
        assert!(
            refused.contains(&private.display().to_string()),
            "{refused}"
        );
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o711)).unwrap();
        ensure_reachable(&server).unwrap();
    }

    #[test]
    fn servers_created_in_the_same_millisecond_get_different_users() {
        let first = Uuid::from_u128(0x0193_7a2b_4c5d_7000_8000_0000_0000_0001);
        let second = Uuid::from_u128(0x0193_7a2b_4c5d_7000_8000_0000_0000_0002);
        assert_ne!(user_name(first), user_name(second));
    }

    #[test]
    fn a_non_root_agent_runs_servers_as_itself() {
        let users = Users::new(Uid::from_raw(1000), 70_000..=70_010, None).unwrap();
        assert!(!users.isolated());
        assert_eq!(
            users.identity(Uuid::new_v4(), Path::new("/x")).unwrap(),
            None
        );
    }
}
