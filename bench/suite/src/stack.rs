//! A panel with one registered agent: the set-up most scenarios start from.

use std::path::PathBuf;
use std::time::Duration;

use crate::panel_api::PanelClient;
use crate::procs::{reap_games, Agent, Binaries, Panel, PanelOptions};
use crate::Result;

/// What every scenario gets.
pub struct Ctx {
    pub bins: Binaries,
    /// A fresh directory for this run; every data directory lives under it.
    pub scratch: PathBuf,
    /// Shorter runs and smaller counts, to check the suite itself works.
    pub quick: bool,
    /// An empty PostgreSQL database for the API scenario, if one was provided.
    pub postgres_url: Option<String>,
    /// Agents and servers per agent for the scale scenario.
    pub scale: (usize, usize),
}

impl Ctx {
    /// `full` normally, `quick` with `--quick`.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

pub struct Stack {
    pub panel: Panel,
    pub agent: Agent,
    pub client: PanelClient,
    pub node: String,
    pub alt: String,
    root: PathBuf,
}

impl Stack {
    /// Starts a panel and an agent under `<scratch>/<name>` and registers the agent.
    pub async fn start(
        ctx: &Ctx,
        name: &str,
        options: &PanelOptions,
        agent_toml: &str,
    ) -> Result<Self> {
        let root = ctx.scratch.join(name);
        let panel = Panel::start(&ctx.bins, &root.join("panel"), options).await?;
        let agent = Agent::start(&ctx.bins, &root.join("agent"), agent_toml).await?;
        let password = panel.admin_password().await?;
        let client = PanelClient::login(&panel.daemon.url, &password).await?;
        let node = client
            .add_node("bench-node", &agent, (30000, 30999))
            .await?;
        let alt = client.test_game_alt().await?;
        Ok(Self {
            panel,
            agent,
            client,
            node,
            alt,
            root,
        })
    }

    /// Creates `count` test-game servers and waits until their install is done.
    pub async fn servers(&self, prefix: &str, count: usize) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            ids.push(
                self.client
                    .create_server(&format!("{prefix}-{i}"), &self.node, &self.alt)
                    .await?,
            );
        }
        self.client
            .wait_all(&ids, "offline", Duration::from_secs(60 + count as u64))
            .await?;
        Ok(ids)
    }

    /// Starts servers and waits until all are running.
    pub async fn start_all(&self, ids: &[String]) -> Result<()> {
        for id in ids {
            self.client.power(id, "start").await?;
        }
        self.client
            .wait_all(ids, "running", Duration::from_secs(60 + ids.len() as u64))
            .await
    }

    pub async fn stop(self) {
        self.panel.daemon.stop().await;
        self.agent.daemon.stop().await;
        reap_games(&self.root);
    }
}
