//! Unprivileged users and cgroup limits, with real users, real cgroups and real
//! processes. They need root (CI runs as root); elsewhere each test says once that it
//! was skipped.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{game, Client, TestAgent};

const LIMIT: Duration = Duration::from_secs(20);

/// An agent with one user per server; `None` (after saying why) when the tests do not
/// run as root or cgroups cannot be written.
async fn isolated_agent(test: &str) -> Option<TestAgent> {
    let agent = TestAgent::start_with(|config| config.shared_user = None).await;
    let (_, system) = agent.client.get("/api/system").await;
    let data = &system["data"];
    if data["isolatedUsers"] != true || data["cgroupVersion"].is_null() {
        eprintln!("{test}: skipped: needs root and writable cgroups (the agent reports {data})");
        agent.shutdown().await;
        return None;
    }
    Some(agent)
}

/// `Uid:` and `NoNewPrivs:` of `pid`.
fn credentials(pid: u64) -> (u32, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().next().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    (field("Uid:").parse().expect("uid"), field("NoNewPrivs:"))
}

async fn remove(api: &Client, id: Uuid) {
    let (status, body) = api.delete(&format!("/api/servers/{id}?purge=true")).await;
    assert!(status.is_success(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn games_run_unprivileged_and_cannot_write_outside_their_directory() {
    let Some(agent) = isolated_agent("games_run_unprivileged").await else {
        return;
    };
    let api = &agent.client;
    let (id, other) = (Uuid::new_v4(), Uuid::new_v4());
    api.define(game(other)).await;
    api.command("start", other).await;
    api.wait_state(other, "running", LIMIT).await;
    let data_dir = agent.dir.path().join("data");
    let mut definition = game(id);
    let probe = "for target in /etc/cap-probe \"$OTHER/cap-probe\" \"$DATA/cap-probe\" ./mine; do \
         if echo x > \"$target\"; then echo \"wrote $target\"; else echo \"denied $target\"; fi; \
         done; exec cap-testgame";
    definition["startup"] = probe.into();
    definition["environment"]["OTHER"] = agent.server_dir(other).display().to_string().into();
    definition["environment"]["DATA"] = data_dir.display().to_string().into();
    definition["environment"]["PATH"] = format!(
        "{}:/usr/bin:/bin",
        crate::support::testgame_bin()
            .parent()
            .expect("dir")
            .display()
    )
    .into();
    api.define(definition).await;
    api.command("start", id).await;
    let status = api.wait_state(id, "running", LIMIT).await;
    let history = api.history(id).await;
    for denied in ["/etc/cap-probe", "/cap-probe"] {
        assert!(
            history
                .iter()
                .any(|l| l.starts_with("denied") && l.ends_with(denied)),
            "{denied} must be refused: {history:?}"
        );
    }
    assert_eq!(
        history.iter().filter(|l| l.starts_with("denied")).count(),
        3,
        "{history:?}"
    );
    assert!(history.iter().any(|l| l == "wrote ./mine"), "{history:?}");
    assert!(!std::path::Path::new("/etc/cap-probe").exists());
    let (uid, no_new_privs) = credentials(status["pid"].as_u64().expect("pid"));
    assert_ne!(uid, 0);
    assert_eq!(no_new_privs, "1");
    let user = status["user"].as_str().expect("status names the user");
    assert!(user.contains(&format!("(uid {uid})")), "{user}");
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(agent.server_dir(id)).expect("dir").uid();
    assert_eq!(owner, uid);
    remove(api, id).await;
    remove(api, other).await;
    assert!(nix::unistd::User::from_uid(uid.into())
        .expect("lookup")
        .is_none());
    agent.shutdown().await;
}

async fn wait_crashed_with(api: &Client, id: Uuid, needle: &str) -> Value {
    let status = api.wait_state(id, "crashed", LIMIT).await;
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{status}");
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kernel_kills_a_game_over_its_memory_limit_and_says_so() {
    let Some(agent) = isolated_agent("memory_limit").await else {
        return;
    };
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["limits"] = json!({"memoryMib": 48});
    definition["crashPolicy"] = json!({"autoRestart": false});
    api.define(definition).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    api.console(id, "alloc 8").await;
    api.wait_console(id, "allocated 8 MiB", LIMIT).await;
    api.console(id, "alloc 200").await;
    let status = wait_crashed_with(api, id, "out of memory").await;
    // SIGKILL, seen directly or through the shell that started the game.
    let code = status["exitCode"].as_i64();
    assert!(code == Some(-9) || code == Some(137), "{status}");
    let history = api.history(id).await;
    assert!(
        history.iter().any(|l| l.contains("out of memory")),
        "{history:?}"
    );
    assert!(!history.iter().any(|l| l.contains("allocated 200")));
    remove(api, id).await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pids_limit_stops_a_fork_bomb_without_hurting_the_agent() {
    let Some(agent) = isolated_agent("pids_limit").await else {
        return;
    };
    let api = &agent.client;
    let id = Uuid::new_v4();
    let bomb = "import os, time\n\
        n = 0\n\
        try:\n    while True:\n        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n        n += 1\n\
        except OSError:\n    print('fork failed after', n, flush=True)\n    time.sleep(600)\n";
    std::fs::create_dir_all(agent.server_dir(id)).expect("dir");
    std::fs::write(agent.server_dir(id).join("bomb.py"), bomb).expect("script");
    let definition = json!({
        "id": id,
        "startup": "exec /usr/bin/python3 bomb.py",
        "limits": {"pids": 24},
        "crashPolicy": {"autoRestart": false},
    });
    api.define(definition).await;
    api.command("start", id).await;
    let history = api.wait_console(id, "fork failed after", LIMIT).await;
    let line = history
        .iter()
        .find(|l| l.starts_with("fork failed after"))
        .expect("line");
    let forked: u32 = line
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(forked < 24, "{line}");
    // The agent still answers, and its stats count the capped processes.
    let deadline = std::time::Instant::now() + LIMIT;
    let processes = loop {
        let (_, stats) = api.get(&format!("/api/servers/{id}/stats")).await;
        if let Some(count) = stats["data"]["processCount"].as_u64().filter(|c| *c > 1) {
            break count;
        }
        assert!(std::time::Instant::now() < deadline, "no stats: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(processes <= 24, "{processes}");
    let (status, _) = api.get("/health").await;
    assert!(status.is_success());
    api.command("kill", id).await;
    api.wait_state(id, "offline", LIMIT).await;
    remove(api, id).await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_info_lists_runtimes_and_the_cgroup_layout() {
    let agent = TestAgent::start().await;
    let (_, system) = agent.client.get("/api/system").await;
    let data = &system["data"];
    assert_eq!(data["runtimes"][0], "native", "{data}");
    let root = nix::unistd::geteuid().is_root();
    assert_eq!(data["isolatedUsers"], root);
    if root {
        let expected = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            "v2"
        } else {
            "v1"
        };
        assert_eq!(data["cgroupVersion"], expected, "{data}");
    } else {
        assert!(data["cgroupVersion"].is_null(), "{data}");
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_script_needing_root_fails_with_a_clear_message() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["install"] =
        json!({"script": "apt-get install -y cap-no-such-package\n", "interpreter": "sh"});
    api.define(definition).await;
    let (status, body) = api
        .post(&format!("/api/servers/{id}/install"), json!({}))
        .await;
    assert!(status.is_success(), "{body}");
    let status = api.wait_state(id, "install_failed", LIMIT).await;
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("commands that need root"), "{status}");
    agent.shutdown().await;
}
