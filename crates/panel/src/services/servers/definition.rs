//! The definition a server's agent runs (rendered startup command, environment, stop
//! action, ports, limits, install script), and the one function that pushes it.

use std::collections::BTreeMap;

use cap_protocol::game::GameQuery;
use cap_protocol::schedule::Schedule;
use cap_protocol::server::{
    DesiredState, InstallScript, Limits, ServerDefinition, StopConfig, StopKind,
};
use cap_templates::{RenderContext, StopAction};

use super::parse_id;
use crate::db::entities::{node, server};
use crate::error::{Error, Result};
use crate::repo;
use crate::services::network::{self, Network};
use crate::services::schedules;
use crate::services::templates::{self, Template};
use crate::state::AppState;

/// What the panel knows about a server, for rendering placeholders.
pub fn render_context(
    server: &server::Model,
    node: &node::Model,
    network: &Network,
    values: &BTreeMap<String, String>,
) -> RenderContext {
    RenderContext {
        server_uuid: server.id.clone(),
        memory_mb: u64::try_from(server.memory_mb).unwrap_or(0),
        swap_mb: 0,
        disk_mb: u64::try_from(server.disk_mb).unwrap_or(0),
        cpu_percent: u64::try_from(server.cpu_percent).unwrap_or(0),
        ip: network.primary.ip.clone(),
        port: network.primary.port,
        additional: network.additional.clone(),
        allocation_limit: network.limit,
        location: node.name.clone(),
        timezone: "UTC".to_owned(),
        startup: server.startup_override.clone(),
        variables: values.clone(),
        node: BTreeMap::new(),
    }
}

/// The definition the agent runs: rendered startup command and environment, stop
/// action, done patterns, port, limits and install script.
pub fn definition(
    server: &server::Model,
    template: &Template,
    ctx: &RenderContext,
    desired: DesiredState,
) -> Result<ServerDefinition> {
    let rendered = cap_templates::render_startup(&template.alt, ctx);
    let stop = match &template.alt.stop {
        StopAction::Command(command) => StopConfig {
            kind: StopKind::Command,
            value: command.clone(),
            ..StopConfig::default()
        },
        StopAction::Signal { signal, .. } => StopConfig {
            kind: StopKind::Signal,
            value: signal.name().to_owned(),
            ..StopConfig::default()
        },
    };
    let positive = |v: i64| u64::try_from(v).ok().filter(|v| *v > 0);
    let install = &template.alt.install;
    Ok(ServerDefinition {
        id: parse_id(&server.id)?,
        name: server.name.clone(),
        startup: rendered.command,
        environment: rendered.env,
        stop,
        done_patterns: template.alt.done_patterns(),
        ports: std::iter::once(ctx.port)
            .chain(ctx.additional.iter().map(|b| b.port))
            .collect(),
        limits: Limits {
            memory_mib: positive(server.memory_mb),
            cpu_percent: u32::try_from(server.cpu_percent).ok().filter(|v| *v > 0),
            disk_mib: positive(server.disk_mb),
            ..Limits::default()
        },
        install: (!install.script.trim().is_empty()).then(|| InstallScript {
            script: install.script.clone(),
            interpreter: if install.entrypoint.is_empty() {
                "bash".into()
            } else {
                install.entrypoint.clone()
            },
            timeout_seconds: 3600,
            container: Some(install.container.trim())
                .filter(|image| !image.is_empty())
                .map(str::to_owned),
        }),
        crash_policy: server.crash_policy(),
        runtime: super::runtime::kind_of(server.image.as_deref()),
        image: server.image.clone(),
        desired_state: desired,
        schedules: Vec::new(),
        game_query: template.alt.game_query.and_then(|query| {
            query.port(ctx.port).map(|port| GameQuery {
                protocol: query.protocol,
                port,
            })
        }),
        config_files: cap_templates::render_config_files(&template.alt, ctx)
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

/// Everything needed to (re)define a server on its agent.
pub(super) struct Context {
    pub(super) node: node::Model,
    pub(super) template: Template,
    pub(super) values: BTreeMap<String, String>,
    pub(super) network: Network,
    pub(super) schedules: Vec<Schedule>,
}

pub(super) async fn context(state: &AppState, server: &server::Model) -> Result<Context> {
    let node_id = server
        .node_id
        .as_deref()
        .ok_or_else(|| Error::Conflict("this server has no node; its node was deleted".into()))?;
    let node = repo::nodes::find(state.db(), node_id)
        .await?
        .ok_or_else(|| Error::not_found("node"))?;
    let template = templates::load(state.db(), &server.alt_id).await?;
    let values = stored_values(state, server, &template).await?;
    let network = network::of_server(state.db(), server, &template.alt.extra_port_offsets).await?;
    let schedules = schedules::stored(state, &server.id).await?;
    Ok(Context {
        node,
        template,
        values,
        network,
        schedules,
    })
}

/// The server's variable values by env name.
pub async fn stored_values(
    state: &AppState,
    server: &server::Model,
    template: &Template,
) -> Result<BTreeMap<String, String>> {
    let rows = repo::server_variables::for_server(state.db(), &server.id).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            template
                .variables
                .iter()
                .find(|v| v.id == row.variable_id)
                .map(|v| (v.env_variable.clone(), row.value))
        })
        .collect())
}

/// Sends the current definition to the agent (after limits or variables changed).
pub async fn sync(state: &AppState, server: &server::Model) -> Result<()> {
    let ctx = context(state, server).await?;
    define(state, server, &ctx).await
}

/// Sends the definition the server will have with `network` to the agent (before the
/// database records a change of allocations).
pub async fn sync_network(
    state: &AppState,
    server: &server::Model,
    network: Network,
) -> Result<()> {
    let ctx = context(state, server).await?;
    define(state, server, &Context { network, ..ctx }).await
}

/// Sends the definition with `schedules` instead of the stored ones (before the database
/// records a change of schedules).
pub async fn sync_schedules(
    state: &AppState,
    server: &server::Model,
    schedules: Vec<Schedule>,
) -> Result<()> {
    let ctx = context(state, server).await?;
    define(state, server, &Context { schedules, ..ctx }).await
}

/// Pushes the definition `server` has in `ctx` to its agent: the one place a server's
/// definition leaves the panel after creation.
pub(super) async fn define(state: &AppState, server: &server::Model, ctx: &Context) -> Result<()> {
    let client = state.hub().online_client(&ctx.node.id)?;
    let render = render_context(server, &ctx.node, &ctx.network, &ctx.values);
    let mut pushed = definition(server, &ctx.template, &render, DesiredState::Offline)?;
    pushed.schedules.clone_from(&ctx.schedules);
    client.define(&pushed).await.map(drop)
}

/// What a start would run: the rendered startup command and config-file edits.
pub async fn preview(state: &AppState, server: &server::Model) -> Result<StartupPreview> {
    let ctx = context(state, server).await?;
    let render = render_context(server, &ctx.node, &ctx.network, &ctx.values);
    Ok(StartupPreview {
        startup: cap_templates::render_startup(&ctx.template.alt, &render),
        config_files: cap_templates::render_config_files(&ctx.template.alt, &render),
        docker_images: ctx.template.alt.docker_images.clone().into_iter().collect(),
    })
}

/// What the server's template makes of its startup, config files and images.
pub struct StartupPreview {
    /// The rendered startup command.
    pub startup: cap_templates::RenderedStartup,
    /// The rendered config-file edits.
    pub config_files: Vec<cap_templates::RenderedConfigFile>,
    /// The template's Docker images the server may run in (label → image), in order.
    pub docker_images: Vec<(String, String)>,
}
