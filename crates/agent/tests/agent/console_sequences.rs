//! Terminal control sequences on the console: games may colour their output, nobody may
//! send viewers hyperlinks, screen clears or cursor moves.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::support::{game, game_after, TestAgent};

const LIMIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn game_output_keeps_colours_and_loses_other_sequences() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let definition = game_after(
        id,
        "printf 'painted \\033[1;31mred\\033[0m \\033]8;;http://x.example\\007link\\033]8;;\\033\\\\ \
         \\033[2J\\033[Hcleared\\033P1$qm\\033\\\\\\n'",
    );
    api.define(definition).await;
    api.command("start", id).await;
    let lines = api.wait_console(id, "painted", LIMIT).await;
    let line = lines.iter().find(|l| l.contains("painted")).unwrap();
    assert_eq!(line, "painted \u{1b}[1;31mred\u{1b}[0m link cleared");
    let log = std::fs::read_to_string(agent.dir.path().join(format!("data/logs/{id}/console.log")))
        .unwrap_or_default();
    assert!(
        !log.contains("\u{1b}]") && !log.contains("\u{1b}[2J"),
        "{log:?}"
    );
    api.command("kill", id).await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_input_loses_control_characters() {
    let agent = TestAgent::start().await;
    let api = &agent.client;
    let id = Uuid::new_v4();
    let mut definition = game(id);
    definition["startup"] = json!("exec cat > typed.txt");
    definition["donePatterns"] = json!([]);
    definition["stop"] = json!({"type": "signal", "value": "SIGTERM", "graceSeconds": 2});
    api.define(definition).await;
    api.command("start", id).await;
    api.wait_state(id, "running", LIMIT).await;
    api.console(
        id,
        "say \u{1b}]8;;http://x.example\u{7}hi\u{1b}]8;;\u{7} \u{1b}[2J\u{1b}[31mthere\u{8}\u{9b}",
    )
    .await;
    api.console(id, "done").await;
    let typed = agent.server_dir(id).join("typed.txt");
    let deadline = std::time::Instant::now() + LIMIT;
    let text = loop {
        let text = std::fs::read_to_string(&typed).unwrap_or_default();
        if text.contains("done") || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(text, "say hi there\ndone\n");
    api.command("stop", id).await;
    agent.shutdown().await;
}
