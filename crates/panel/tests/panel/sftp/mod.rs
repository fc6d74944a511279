//! SFTP through a real agent, authorised by a real panel, driven by OpenSSH's `sftp`
//! (key and, through `sshpass`, password logins) and by russh-sftp's client.
//!
//! - `flows`: logins, file moves, rights, escapes, throttling.
//! - `limits`: the disk quota, open handles, sessions per user and node, the idle timeout.

mod flows;
mod limits;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use russh::client;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::e2e::{installed, register, test_game, test_server};
use crate::processes::{Agent, Session};
use crate::support::TestApp;

/// A panel, one agent serving SFTP on loopback, one installed server owned by the admin.
struct Fixture {
    app: TestApp,
    admin: Session,
    agent: Agent,
    server: String,
    /// `admin.<short id>`.
    login: String,
    port: u16,
    fingerprint: String,
    /// The server directory on the agent.
    dir: PathBuf,
    scratch: tempfile::TempDir,
    _agent_dir: tempfile::TempDir,
}

const AGENT_TOML: &str = "[sftp]\nlisten = \"127.0.0.1:0\"\nrecheck_secs = 1\n";

impl Fixture {
    /// With `extra` appended to the agent's `[sftp]` settings.
    async fn start(extra: &str) -> Fixture {
        Self::start_with_disk(extra, 512).await
    }

    /// The same, the server's disk limited to `disk_mb` MiB.
    async fn start_with_disk(extra: &str, disk_mb: i64) -> Fixture {
        let app = TestApp::spawn().await;
        let admin = Session::login(&app.url(""), &app.admin.username, &app.admin.password).await;
        let agent_dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            agent_dir.path().join("agent.toml"),
            format!("{AGENT_TOML}{extra}"),
        )
        .expect("agent.toml");
        let agent = Agent::start(agent_dir.path(), 0);
        let node = register(&admin, "node", &agent, (43000, 43100)).await;
        let game = test_game(&admin).await;
        let mut body = test_server(&node, &game, "sftp");
        body["limits"]["diskMb"] = json!(disk_mb);
        let server = installed(&admin, body).await["id"]
            .as_str()
            .expect("server id")
            .to_owned();
        let (status, detail) = admin.get(&format!("/api/agents/{node}")).await;
        assert_eq!(status, 200, "{detail}");
        let sftp = &detail["data"]["system"]["sftp"];
        let port = sftp["port"]
            .as_u64()
            .expect("the node reports its SFTP port") as u16;
        let fingerprint = sftp["hostKeyFingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_owned();
        let login = format!("{}.{}", app.admin.username, &server[server.len() - 8..]);
        let dir = agent_dir.path().join("servers").join(&server);
        Fixture {
            app,
            admin,
            agent,
            server,
            login,
            port,
            fingerprint,
            dir,
            scratch: tempfile::tempdir().expect("temp dir"),
            _agent_dir: agent_dir,
        }
    }

    fn scratch(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// A new ed25519 key pair in the scratch directory, registered on the admin's account.
    async fn admin_key(&self) -> PathBuf {
        let key = self.scratch("id_ed25519");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen");
        assert!(made.success());
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
        let (status, body) = self
            .admin
            .post(
                "/api/auth/ssh-keys",
                json!({ "name": "laptop", "publicKey": public }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["data"]["fingerprint"]
            .as_str()
            .is_some_and(|f| f.starts_with("SHA256:")));
        key
    }
}

/// How OpenSSH's client proves who it is.
enum Proof<'a> {
    Key(&'a Path),
    Password(&'a str),
}

/// Runs `batch` with OpenSSH's `sftp -b`; success and what it printed.
fn openssh(fx: &Fixture, user: &str, proof: Proof<'_>, batch: &str) -> (bool, String) {
    let file = fx.scratch(&format!("batch-{}", rand_suffix()));
    std::fs::write(&file, batch).expect("batch file");
    let mut command = match proof {
        Proof::Key(_) => Command::new("sftp"),
        Proof::Password(password) => {
            let mut command = Command::new("sshpass");
            command.args(["-p", password, "sftp", "-o", "BatchMode=no"]);
            command
        }
    };
    command
        .arg("-b")
        .arg(&file)
        .args(["-P", &fx.port.to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"]);
    match proof {
        Proof::Key(key) => {
            command
                .args([
                    "-o",
                    "PasswordAuthentication=no",
                    "-o",
                    "IdentitiesOnly=yes",
                    "-i",
                ])
                .arg(key);
        }
        Proof::Password(_) => {
            command.args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password",
            ]);
        }
    }
    command.current_dir(fx.scratch.path());
    let output = command
        .arg(format!("{user}@127.0.0.1"))
        .output()
        .expect("sftp runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A new number for each batch file.
fn rand_suffix() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn sha256_file(path: &Path) -> String {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path).expect("open");
    std::io::copy(&mut file, &mut hasher).expect("hash");
    hex::encode(hasher.finalize())
}

/// russh's client, checking the host key against the fingerprint the panel shows.
struct Client {
    fingerprint: String,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.fingerprint(HashAlg::Sha256).to_string() == self.fingerprint
            }
            PublicKeyOrCertificate::Certificate(_) => false,
        })
    }
}

/// A second client library: the connection and its SFTP session, or `None` when the
/// login is refused.
async fn connect(fx: &Fixture, user: &str, password: &str) -> Option<Connection> {
    let config = Arc::new(client::Config::default());
    let handler = Client {
        fingerprint: fx.fingerprint.clone(),
    };
    let mut ssh = client::connect(config, ("127.0.0.1", fx.port), handler)
        .await
        .expect("connects and the host key matches the panel's fingerprint");
    if !ssh
        .authenticate_password(user, password)
        .await
        .expect("auth exchange")
        .success()
    {
        return None;
    }
    let channel = ssh.channel_open_session().await.expect("session channel");
    channel
        .request_subsystem(true, "sftp")
        .await
        .expect("sftp subsystem");
    let sftp = SftpSession::new(channel.into_stream())
        .await
        .expect("sftp session");
    Some(Connection { ssh, sftp })
}

/// An SSH connection with its SFTP session.
struct Connection {
    ssh: client::Handle<Client>,
    sftp: SftpSession,
}

impl Connection {
    /// Ends the connection (the server frees its session place).
    async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self
            .ssh
            .disconnect(russh::Disconnect::ByApplication, "done", "en")
            .await;
    }
}

/// [`connect`]'s SFTP session alone; the connection lives as long as the session uses it.
async fn library(fx: &Fixture, user: &str, password: &str) -> Option<SftpSession> {
    let Connection { ssh, sftp } = connect(fx, user, password).await?;
    std::mem::forget(ssh);
    Some(sftp)
}

async fn library_key(fx: &Fixture, key: &Path) -> Option<SftpSession> {
    let config = Arc::new(client::Config::default());
    let handler = Client {
        fingerprint: fx.fingerprint.clone(),
    };
    let mut session = client::connect(config, ("127.0.0.1", fx.port), handler)
        .await
        .ok()?;
    let private = PrivateKey::from_openssh(std::fs::read_to_string(key).ok()?).ok()?;
    let proof = PrivateKeyWithHashAlg::new(Arc::new(private), None);
    if !session
        .authenticate_publickey(&fx.login, proof)
        .await
        .ok()?
        .success()
    {
        return None;
    }
    let channel = session.channel_open_session().await.ok()?;
    channel.request_subsystem(true, "sftp").await.ok()?;
    let sftp = SftpSession::new(channel.into_stream()).await.ok()?;
    std::mem::forget(session);
    Some(sftp)
}

/// Adds `name` as a subuser of the fixture's server with `permissions`; the subuser id.
async fn subuser(fx: &Fixture, name: &str, permissions: &[&str]) -> String {
    fx.app.create_user(name).await;
    let (status, body) = fx
        .admin
        .post(
            &format!("/api/servers/{}/subusers", fx.server),
            json!({ "username": name, "permissions": permissions }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["username"] == name))
        .and_then(|s| s["id"].as_str())
        .expect("subuser id")
        .to_owned()
}
