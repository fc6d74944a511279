//! Game servers: creation with port allocation and variable validation, the definition
//! sent to the agent, power actions, console input, reinstall, updates and deletion.
//! The agent is always told first; the database follows only when the agent agreed.

use std::collections::BTreeMap;
use std::time::Duration;

use cap_protocol::command::{Action, AgentCommand, AgentResponse, CommandMetadata};
use cap_protocol::server::{
    CrashPolicy, DesiredState, InstallScript, Limits, ServerDefinition, ServerState, StopConfig,
    StopKind,
};
use cap_templates::{RenderContext, StopAction};
use chrono::Utc;
use sea_orm::TransactionTrait;
use serde_json::json;
use uuid::Uuid;

use super::audit;
use super::network::{self, Network};
use super::templates::{self, Template};
use crate::agents::AgentClient;
use crate::auth::Actor;
use crate::db::entities::{node, server};
use crate::error::{Error, FieldErrors, Result};
use crate::repo::{self, servers::NewServer, servers::Settings};
use crate::state::AppState;

pub use super::network::BIND_IP;

/// Resource limits as the API takes them (0 = unlimited CPU).
#[derive(Debug, Clone, Copy)]
pub struct LimitsSpec {
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
}

/// A server to create.
#[derive(Debug, Clone)]
pub struct CreateServer {
    pub name: String,
    pub description: String,
    /// The caller when `None`.
    pub owner_id: Option<String>,
    pub node_id: String,
    pub alt_id: String,
    pub limits: LimitsSpec,
    pub variables: BTreeMap<String, String>,
}

/// Checks values against a template's variables. `editable_only` restricts changes to
/// variables the server's users may edit. Returns every value to store (given or default).
pub fn validate_variables(
    template: &Template,
    given: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
    editable_only: bool,
) -> Result<BTreeMap<String, String>> {
    let mut details = FieldErrors::new();
    for env in given.keys() {
        match template.alt.variable(env) {
            None => {
                details.insert(
                    format!("variables.{env}"),
                    vec!["is not a variable of this template".into()],
                );
            }
            Some(v) if editable_only && !(v.user_editable && v.user_viewable) => {
                details.insert(
                    format!("variables.{env}"),
                    vec!["cannot be changed by server users".into()],
                );
            }
            Some(_) => {}
        }
    }
    let mut values = BTreeMap::new();
    for variable in &template.alt.variables {
        let value = given
            .get(&variable.env_variable)
            .or_else(|| existing.get(&variable.env_variable))
            .cloned()
            .unwrap_or_else(|| variable.default_value.clone());
        if let Err(messages) = variable.validate(&value) {
            details.insert(format!("variables.{}", variable.env_variable), messages);
        }
        values.insert(variable.env_variable.clone(), value);
    }
    if details.is_empty() {
        Ok(values)
    } else {
        let message = details
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Validation { message, details })
    }
}

fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|_| Error::internal(format!("server id {id} is not a UUID")))
}

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
        done_patterns: template
            .alt
            .startup_detection
            .done
            .iter()
            .map(|p| p.to_egg_string())
            .collect(),
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
        runtime: Default::default(),
        image: None,
        desired_state: desired,
        config_files: cap_templates::render_config_files(&template.alt, ctx)
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

/// Everything needed to (re)define a server on its agent.
struct Context {
    node: node::Model,
    template: Template,
    values: BTreeMap<String, String>,
    network: Network,
}

async fn context(state: &AppState, server: &server::Model) -> Result<Context> {
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
    Ok(Context {
        node,
        template,
        values,
        network,
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

/// Creates a server: validates, allocates a port the agent confirms is free, stores it
/// with its audit entry, defines it on the agent and starts its installation. If the
/// agent refuses, nothing is left behind (the audit entry neither).
pub async fn create(state: &AppState, actor: &Actor, spec: CreateServer) -> Result<server::Model> {
    let owner_id = spec
        .owner_id
        .clone()
        .unwrap_or_else(|| actor.id().to_owned());
    if owner_id != actor.id() && !actor.is_admin() {
        return Err(Error::Forbidden(
            "only administrators create servers for other users".into(),
        ));
    }
    let template = match templates::load(state.db(), &spec.alt_id).await {
        Err(Error::NotFound(_)) => return Err(Error::validation("altId", "no such template")),
        other => other?,
    };
    let node = repo::nodes::find(state.db(), &spec.node_id)
        .await?
        .ok_or_else(|| Error::validation("nodeId", "no such node"))?;
    if repo::users::find(state.db(), &owner_id).await?.is_none() {
        return Err(Error::validation("ownerId", "no such user"));
    }
    let values = validate_variables(&template, &spec.variables, &BTreeMap::new(), false)?;
    let client = state.hub().online_client(&node.id)?;
    let installs = !template.alt.install.script.trim().is_empty();

    let allocating = state.hub().allocation_lock(&node.id).await;
    super::capacity::check(state, &node, spec.limits, None).await?;
    let mut attempts = 0;
    let offsets = &template.alt.extra_port_offsets;
    let (server, ports) = loop {
        attempts += 1;
        let ports = network::pick(state, &node, &client, None, offsets).await?;
        let txn = state.db().begin().await?;
        let server = repo::servers::create(
            &txn,
            NewServer {
                name: spec.name.clone(),
                description: spec.description.clone(),
                owner_id: owner_id.clone(),
                node_id: Some(node.id.clone()),
                alt_id: spec.alt_id.clone(),
                memory_mb: spec.limits.memory_mb,
                cpu_percent: spec.limits.cpu_percent,
                disk_mb: spec.limits.disk_mb,
            },
        )
        .await?;
        if !network::claim(&txn, &node.id, &server.id, &ports, true, "").await? {
            txn.rollback().await?;
            if attempts >= 3 {
                return Err(Error::Conflict(
                    "ports are being allocated concurrently; try again".into(),
                ));
            }
            continue;
        }
        for variable in &template.variables {
            if let Some(value) = values.get(&variable.env_variable) {
                repo::server_variables::upsert(&txn, &server.id, &variable.id, value).await?;
            }
        }
        if installs {
            // Installing from the start: nobody can start it before the agent says the
            // install is over (its events take over from here).
            repo::servers::set_state(&txn, &server.id, "installing").await?;
        }
        let details = json!({ "name": server.name });
        audit::record_by(&txn, actor, "server.created", "server", &server.id, details).await?;
        txn.commit().await?;
        break (server, ports);
    };
    drop(allocating);

    let network = Network::new(ports, network::allowed(&server, offsets))?;
    let ctx = render_context(&server, &node, &network, &values);
    let defined = async {
        client
            .define(&definition(
                &server,
                &template,
                &ctx,
                DesiredState::Offline,
            )?)
            .await?;
        if installs {
            client.install(parse_id(&server.id)?).await?;
        }
        Ok::<(), Error>(())
    }
    .await;
    if let Err(e) = defined {
        // The agent did not take it: undo, so no half-created server remains.
        let txn = state.db().begin().await?;
        repo::allocations::release(&txn, &server.id).await?;
        repo::servers::delete(&txn, &server.id).await?;
        repo::audit::forget_request(&txn, &actor.client.request_id, &server.id).await?;
        txn.commit().await?;
        return Err(e);
    }
    Ok(server)
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

/// Pushes the definition `server` has in `ctx` to its agent: the one place a server's
/// definition leaves the panel after creation.
async fn define(state: &AppState, server: &server::Model, ctx: &Context) -> Result<()> {
    let client = state.hub().online_client(&ctx.node.id)?;
    let render = render_context(server, &ctx.node, &ctx.network, &ctx.values);
    client
        .define(&definition(
            server,
            &ctx.template,
            &render,
            DesiredState::Offline,
        )?)
        .await
        .map(drop)
}

/// The client of the node a server lives on, failing fast when the node is offline.
pub fn client_for(state: &AppState, server: &server::Model) -> Result<AgentClient> {
    let node_id = server
        .node_id
        .as_deref()
        .ok_or_else(|| Error::Conflict("this server has no node; its node was deleted".into()))?;
    state.hub().online_client(node_id)
}

/// Refuses a power action that cannot work, before anything reaches the node: any action
/// while the node is offline, and starting a server whose installation failed (its files
/// are incomplete; it would only crash).
pub fn check_power(state: &AppState, server: &server::Model, action: Action) -> Result<()> {
    client_for(state, server)?;
    if !matches!(action, Action::Start | Action::Restart) {
        return Ok(());
    }
    let live = parse_id(&server.id)
        .ok()
        .and_then(|id| state.hub().live(id));
    let failed = live.as_ref().map_or(
        server.state == crate::agents::state_name(ServerState::InstallFailed),
        |l| l.state == ServerState::InstallFailed,
    );
    if !failed {
        return Ok(());
    }
    let reason = live
        .and_then(|l| l.message)
        .unwrap_or_else(|| "the install script failed".into());
    Err(Error::Conflict(format!(
        "this server cannot start because its installation failed ({reason}); \
         reinstall it first"
    )))
}

/// How long a power request waits for the agent before answering "in progress".
const POWER_WAIT: Duration = Duration::from_secs(5);

/// What became of a power action.
pub enum PowerOutcome {
    /// The agent answered.
    Done(AgentResponse),
    /// Still running after [`POWER_WAIT`] (a graceful stop can take its whole grace
    /// period); the console shows the outcome.
    InProgress(AgentResponse),
}

/// start / stop / restart / kill / status: checked, recorded, then sent to the agent as
/// an [`AgentCommand`] that keeps running if the caller stops waiting.
pub async fn power(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    action: Action,
) -> Result<PowerOutcome> {
    // Fail fast, before anything is recorded or spawned.
    check_power(state, server, action)?;
    let details = json!({ "action": action });
    audit::record_by(
        state.db(),
        actor,
        "server.power",
        "server",
        &server.id,
        details,
    )
    .await?;
    let server_id = parse_id(&server.id)?;
    let client = client_for(state, server)?;
    let command = AgentCommand {
        action,
        server_id,
        timestamp: Utc::now(),
        metadata: CommandMetadata {
            request_id: actor.client.request_id.clone(),
            user_id: actor.id().to_owned(),
        },
    };
    let request_id = actor.client.request_id.clone();
    let task = tokio::spawn(crate::request_id::scope(request_id, async move {
        client.command(&command).await
    }));
    match tokio::time::timeout(POWER_WAIT, task).await {
        Ok(joined) => Ok(PowerOutcome::Done(joined.map_err(Error::internal)??)),
        Err(_) => Ok(PowerOutcome::InProgress(AgentResponse {
            status: cap_protocol::command::CommandStatus::Stopped,
            state: ServerState::Stopping,
            server_id,
            timestamp: Utc::now(),
            message: "in progress; the console shows the result".into(),
            data: None,
        })),
    }
}

pub async fn console_command(
    state: &AppState,
    server: &server::Model,
    command: &str,
) -> Result<()> {
    client_for(state, server)?
        .console_input(parse_id(&server.id)?, command)
        .await
}

/// Re-sends the definition and runs the install script again.
pub async fn reinstall(state: &AppState, actor: &Actor, server: &server::Model) -> Result<()> {
    sync(state, server).await?;
    client_for(state, server)?
        .install(parse_id(&server.id)?)
        .await?;
    let details = json!({});
    audit::record_by(
        state.db(),
        actor,
        "server.reinstalled",
        "server",
        &server.id,
        details,
    )
    .await
}

/// Removes the server from its agent (files too), then from the database; its port
/// returns to the pool. A server whose node is gone is removed from the database only.
pub async fn delete(state: &AppState, actor: &Actor, server: &server::Model) -> Result<()> {
    if server.node_id.is_some() {
        match client_for(state, server)?
            .remove(parse_id(&server.id)?, true)
            .await
        {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let txn = state.db().begin().await?;
    repo::allocations::release(&txn, &server.id).await?;
    repo::servers::delete(&txn, &server.id).await?;
    let details = json!({ "name": server.name });
    audit::record_by(&txn, actor, "server.deleted", "server", &server.id, details).await?;
    txn.commit().await?;
    state.hub().forget_live(parse_id(&server.id)?);
    Ok(())
}

/// Changes to a server's settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct ServerChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub limits: Option<LimitsSpec>,
    pub crash_policy: Option<CrashPolicy>,
}

/// The checks one field cannot make alone: the back-off ceiling is not below the first
/// back-off.
fn check_crash_policy(policy: &CrashPolicy) -> Result<()> {
    let mut details = FieldErrors::new();
    if policy.max_backoff_ms < policy.backoff_ms {
        details.insert(
            "crashPolicy.maxBackoffMs".into(),
            vec!["must be at least the first back-off (backoffMs)".into()],
        );
    }
    Error::unless_invalid(details)
}

/// Changes name, description, limits or crash policy; limit and crash-policy changes are
/// pushed to the agent first. Changing limits needs `server:create`.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    server: server::Model,
    changes: ServerChanges,
) -> Result<server::Model> {
    if changes.limits.is_some() && !actor.has("server:create") {
        return Err(Error::Forbidden(
            "changing resource limits needs server:create".into(),
        ));
    }
    if let Some(policy) = &changes.crash_policy {
        check_crash_policy(policy)?;
    }
    let mut updated = server.clone();
    if let Some(name) = &changes.name {
        updated.name = name.clone();
    }
    if let Some(description) = &changes.description {
        updated.description = description.clone();
    }
    // Held while the node's capacity is checked and the new limits stored.
    let mut resizing = None;
    if let Some(limits) = changes.limits {
        if let Some(node_id) = server.node_id.as_deref() {
            resizing = Some(state.hub().allocation_lock(node_id).await);
            let node = repo::nodes::find(state.db(), node_id)
                .await?
                .ok_or_else(|| Error::not_found("node"))?;
            super::capacity::check(state, &node, limits, Some(&server.id)).await?;
        }
        updated.memory_mb = limits.memory_mb;
        updated.cpu_percent = limits.cpu_percent;
        updated.disk_mb = limits.disk_mb;
    }
    if let Some(policy) = &changes.crash_policy {
        updated.set_crash_policy(policy);
    }
    if changes.limits.is_some() || changes.crash_policy.is_some() {
        sync(state, &updated).await?;
    }
    let settings = Settings {
        name: changes.name.is_some(),
        description: changes.description.is_some(),
        limits: changes.limits.is_some(),
        crash_policy: changes.crash_policy.is_some(),
    };
    let txn = state.db().begin().await?;
    let saved = repo::servers::save_settings(&txn, updated, settings).await?;
    let details = json!({
        "name": saved.name,
        "limitsChanged": changes.limits.is_some(),
        "crashPolicy": changes.crash_policy,
    });
    audit::record_by(&txn, actor, "server.updated", "server", &saved.id, details).await?;
    txn.commit().await?;
    drop(resizing);
    Ok(saved)
}

/// Validates and stores variable values, pushing the new environment to the agent first.
/// Only administrators change variables their users may not edit.
pub async fn set_variables(
    state: &AppState,
    actor: &Actor,
    server: &server::Model,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let ctx = context(state, server).await?;
    let values = validate_variables(&ctx.template, given, &ctx.values, !actor.is_admin())?;
    let ctx = Context { values, ..ctx };
    define(state, server, &ctx).await?;
    let txn = state.db().begin().await?;
    for variable in &ctx.template.variables {
        if let Some(value) = ctx.values.get(&variable.env_variable) {
            repo::server_variables::upsert(&txn, &server.id, &variable.id, value).await?;
        }
    }
    let details = json!({ "variables": given.keys().collect::<Vec<_>>() });
    audit::record_by(
        &txn,
        actor,
        "server.variables_changed",
        "server",
        &server.id,
        details,
    )
    .await?;
    txn.commit().await?;
    Ok(ctx.values)
}

/// What a start would run: the rendered startup command and config-file edits.
pub async fn preview(
    state: &AppState,
    server: &server::Model,
) -> Result<(
    cap_templates::RenderedStartup,
    Vec<cap_templates::RenderedConfigFile>,
)> {
    let ctx = context(state, server).await?;
    let render = render_context(server, &ctx.node, &ctx.network, &ctx.values);
    Ok((
        cap_templates::render_startup(&ctx.template.alt, &render),
        cap_templates::render_config_files(&ctx.template.alt, &render),
    ))
}

/// The primary port of a server, if any.
pub async fn port_of(state: &AppState, server_id: &str) -> Result<Option<u16>> {
    Ok(
        repo::allocations::primary_for(state.db(), &[server_id.to_owned()])
            .await?
            .first()
            .and_then(|a| u16::try_from(a.port).ok()),
    )
}
