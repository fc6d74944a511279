//! Config-file edits before every start: applied through the file jail, unrelated content
//! kept, re-applied on restart; paths leading outside the server directory refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::support::{game, testgame_bin, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_and_yaml_are_edited_before_each_start() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    // The game prints the edited line, proving the edit happened before it started.
    definition["startup"] = json!(format!(
        "grep '^motd' server.properties; exec {}",
        testgame_bin().display()
    ));
    definition["configFiles"] = json!([
        {"path": "server.properties", "parser": "properties", "edits": [
            {"key": "server-port", "value": 25565},
            {"key": "motd", "value": "Edited by the agent"}
        ]},
        {"path": "config/game.yml", "parser": "yaml", "edits": [
            {"key": "network.port", "value": 25565},
            {"key": "network.host", "value": "0.0.0.0"}
        ]}
    ]);
    let defined = api.define(definition).await;
    assert_eq!(defined["definition"]["configFiles"][1]["parser"], "yaml");
    let dir = agent.server_dir(id);
    std::fs::write(
        dir.join("server.properties"),
        "# Minecraft server properties\nserver-port=1\nmotd=old\nother=kept\n",
    )
    .unwrap();

    let (status, body) = api.command("start", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.wait_state(id, "running", LIMIT).await;
    let history = api.history(id).await;
    assert!(
        history.iter().any(|l| l == "motd=Edited by the agent"),
        "{history:?}"
    );
    let properties = std::fs::read_to_string(dir.join("server.properties")).unwrap();
    assert_eq!(
        properties,
        "# Minecraft server properties\nserver-port=25565\nmotd=Edited by the agent\nother=kept\n"
    );
    // A missing file (and its directory) is created.
    let yaml = std::fs::read_to_string(dir.join("config/game.yml")).unwrap();
    assert!(yaml.contains("port: 25565"), "{yaml}");
    assert!(yaml.contains("host: 0.0.0.0"), "{yaml}");

    // The game changes its files; a restart edits them again, keeping the game's other
    // changes.
    std::fs::write(
        dir.join("config/game.yml"),
        "network:\n  port: 1\n  host: 0.0.0.0\nworld: saved\n",
    )
    .unwrap();
    std::fs::write(dir.join("server.properties"), "motd=changed\nlevel=2\n").unwrap();
    let (status, body) = api.command("restart", id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.wait_state(id, "running", LIMIT).await;
    let yaml = std::fs::read_to_string(dir.join("config/game.yml")).unwrap();
    assert!(
        yaml.contains("port: 25565") && yaml.contains("world: saved"),
        "{yaml}"
    );
    let properties = std::fs::read_to_string(dir.join("server.properties")).unwrap();
    assert_eq!(
        properties,
        "motd=Edited by the agent\nlevel=2\nserver-port=25565\n"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_files_outside_the_server_directory_are_refused() {
    let agent = TestAgent::start().await;
    let api = &agent.client;

    // Escaping paths never get into a definition.
    let id = Uuid::new_v4();
    for path in ["../escape.properties", "/etc/passwd"] {
        let mut definition = game(id);
        definition["configFiles"] =
            json!([{"path": path, "parser": "properties", "edits": [{"key": "a", "value": 1}]}]);
        let (status, body) = api.put(&format!("/api/servers/{id}"), definition).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["details"][0]["field"], "configFiles[0].path", "{body}");
    }

    // Symlinks made inside the directory (by a game or an upload) are not followed out.
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("secret.properties");
    std::fs::write(&target, "a=1\n").unwrap();
    for path in ["link.properties", "linked-dir/secret.properties"] {
        let id = Uuid::new_v4();
        let mut definition = game(id);
        definition["configFiles"] =
            json!([{"path": path, "parser": "properties", "edits": [{"key": "a", "value": 2}]}]);
        api.define(definition).await;
        let dir = agent.server_dir(id);
        std::os::unix::fs::symlink(&target, dir.join("link.properties")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.join("linked-dir")).unwrap();

        let (status, body) = api.command("start", id).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        let error = body["error"].as_str().unwrap_or_default();
        assert!(error.contains(&format!("config file {path}")), "{body}");
        let status = api.status(id).await;
        assert_eq!(status["state"], "crashed", "{status}");
        assert_eq!(status["desiredState"], "offline", "{status}");
        assert!(status["pid"].is_null(), "{status}");
        assert_eq!(status["message"].as_str(), Some(error), "{status}");
        let history = api.history(id).await;
        assert!(history.iter().any(|l| l.contains(error)), "{history:?}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a=1\n");
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    agent.shutdown().await;
}
