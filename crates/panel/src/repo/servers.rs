//! Game servers.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db::entities::server::{self, ServerListRow};
use crate::domain::{ShortId, Visibility};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct NewServer {
    pub name: String,
    pub description: String,
    pub owner_id: String,
    pub node_id: Option<String>,
    pub alt_id: String,
    pub memory_mb: i64,
    pub cpu_percent: i32,
    pub disk_mb: i64,
    /// The Docker image (none: the native runtime).
    pub image: Option<String>,
}

pub async fn create(db: &impl ConnectionTrait, new: NewServer) -> Result<server::Model> {
    super::epochs::server_list_changed();
    let now = Utc::now();
    let model = server::ActiveModel {
        id: Set(super::new_id()),
        name: Set(new.name),
        description: Set(new.description),
        owner_id: Set(new.owner_id),
        node_id: Set(new.node_id),
        alt_id: Set(new.alt_id),
        state: Set("offline".to_owned()),
        memory_mb: Set(new.memory_mb),
        cpu_percent: Set(new.cpu_percent),
        disk_mb: Set(new.disk_mb),
        startup_override: Set(None),
        image: Set(new.image),
        suspended: Set(false),
        installed_at: Set(None),
        allocation_limit: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        // The crash policy starts at the columns' defaults: the node's default policy.
        ..Default::default()
    };
    Ok(model.insert(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<server::Model>> {
    Ok(server::Entity::find_by_id(id).one(db).await?)
}

/// The memory and disk limits (MiB) of a node's servers, summed, leaving out `except`.
pub async fn committed(
    db: &impl ConnectionTrait,
    node_id: &str,
    except: Option<&str>,
) -> Result<(i64, i64)> {
    use sea_orm::QuerySelect;

    let mut query = server::Entity::find()
        .select_only()
        .column(server::Column::MemoryMb)
        .column(server::Column::DiskMb)
        .filter(server::Column::NodeId.eq(node_id));
    if let Some(id) = except {
        query = query.filter(server::Column::Id.ne(id));
    }
    let rows: Vec<(i64, i64)> = query.into_tuple().all(db).await?;
    Ok(rows
        .iter()
        .fold((0, 0), |(memory, disk), (m, d)| (memory + m, disk + d)))
}

/// Mirrors the state an agent reported.
pub async fn set_state(db: &impl ConnectionTrait, id: &str, state: &str) -> Result<()> {
    super::epochs::server_list_changed();
    server::Entity::update_many()
        .col_expr(server::Column::State, Expr::value(state))
        .filter(server::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

fn list_query(visibility: &Visibility<'_>, name: Option<&str>) -> sea_orm::Select<server::Entity> {
    use sea_orm::{JoinType, QuerySelect, RelationTrait};

    use crate::db::entities::{alt, node, subuser, user};

    let mut query = server::Entity::find()
        .join(JoinType::InnerJoin, server::Relation::Owner.def())
        .join(JoinType::LeftJoin, server::Relation::Node.def())
        .join(JoinType::InnerJoin, server::Relation::Alt.def());
    if let Visibility::UserCanSee(user_id) = visibility {
        let shared = sea_orm::sea_query::Query::select()
            .column(subuser::Column::ServerId)
            .from(subuser::Entity)
            .and_where(subuser::Column::UserId.eq(*user_id))
            .to_owned();
        query = query.filter(
            sea_orm::Condition::any()
                .add(server::Column::OwnerId.eq(*user_id))
                .add(server::Column::Id.in_subquery(shared)),
        );
    }
    match visibility {
        Visibility::OwnedBy(user_id) => query = query.filter(server::Column::OwnerId.eq(*user_id)),
        Visibility::NotOwnedBy(user_id) => {
            query = query.filter(server::Column::OwnerId.ne(*user_id))
        }
        Visibility::All | Visibility::UserCanSee(_) => {}
    }
    if let Some(name) = name {
        query = query.filter(super::name_contains(server::Column::Name, name));
    }
    query
        .select_only()
        .columns([
            server::Column::Id,
            server::Column::Name,
            server::Column::Description,
            server::Column::OwnerId,
            server::Column::NodeId,
            server::Column::AltId,
            server::Column::State,
            server::Column::MemoryMb,
            server::Column::CpuPercent,
            server::Column::DiskMb,
            server::Column::Image,
            server::Column::Suspended,
            server::Column::CrashAutoRestart,
            server::Column::CrashMaxRestarts,
            server::Column::CrashWindowSeconds,
            server::Column::CrashBackoffMs,
            server::Column::CrashMaxBackoffMs,
            server::Column::CreatedAt,
            server::Column::UpdatedAt,
        ])
        .column_as(user::Column::Username, "owner_username")
        .column_as(node::Column::Name, "node_name")
        .column_as(node::Column::Status, "node_status")
        .column_as(node::Column::Address, "node_address")
        .column_as(alt::Column::Name, "alt_name")
}

/// A page of servers with totals.
pub async fn list(
    db: &impl ConnectionTrait,
    visibility: Visibility<'_>,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<ServerListRow>, u64)> {
    use sea_orm::{PaginatorTrait, QueryOrder};

    let total = list_query(&visibility, name).count(db).await?;
    let rows = list_query(&visibility, name)
        .order_by_asc(server::Column::Name)
        .order_by_asc(server::Column::Id)
        .into_model::<ServerListRow>()
        .paginate(db, per_page)
        .fetch_page(page - 1)
        .await?;
    Ok((rows, total))
}

/// One server's list row.
pub async fn list_row(db: &impl ConnectionTrait, id: &str) -> Result<Option<ServerListRow>> {
    Ok(list_query(&Visibility::All, None)
        .filter(server::Column::Id.eq(id))
        .into_model::<ServerListRow>()
        .one(db)
        .await?)
}

/// The servers with this short id (on `node` when given), at most two: more than one
/// means the short id is ambiguous.
pub async fn by_short_id(
    db: &impl ConnectionTrait,
    short: &ShortId,
    node: Option<&str>,
) -> Result<Vec<server::Model>> {
    use sea_orm::QuerySelect;

    let mut query = server::Entity::find().filter(server::Column::Id.ends_with(short.as_ref()));
    if let Some(node) = node {
        query = query.filter(server::Column::NodeId.eq(node));
    }
    Ok(query.limit(2).all(db).await?)
}

/// Which of a server's settings a save writes (the others, and the state the node's
/// events keep, are left as they are).
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    pub name: bool,
    pub description: bool,
    pub limits: bool,
    pub crash_policy: bool,
    pub image: bool,
    pub database_limit: bool,
}

/// Writes the `settings` of `updated` (a server with its new values).
pub async fn save_settings(
    db: &impl ConnectionTrait,
    updated: server::Model,
    settings: Settings,
) -> Result<server::Model> {
    use server::Column;

    let mut changed = Vec::new();
    if settings.name {
        changed.push(Column::Name);
    }
    if settings.description {
        changed.push(Column::Description);
    }
    if settings.limits {
        changed.extend([Column::MemoryMb, Column::CpuPercent, Column::DiskMb]);
    }
    if settings.image {
        changed.push(Column::Image);
    }
    if settings.database_limit {
        changed.push(Column::DatabaseLimit);
    }
    if settings.crash_policy {
        changed.extend([
            Column::CrashAutoRestart,
            Column::CrashMaxRestarts,
            Column::CrashWindowSeconds,
            Column::CrashBackoffMs,
            Column::CrashMaxBackoffMs,
        ]);
    }
    let mut model = server::ActiveModel::from(updated);
    for column in changed {
        model.reset(column);
    }
    super::epochs::server_list_changed();
    model.updated_at = Set(chrono::Utc::now());
    Ok(model.update(db).await?)
}

/// Sets how many databases a server may have.
pub async fn set_database_limit(
    db: &impl ConnectionTrait,
    existing: server::Model,
    limit: i32,
) -> Result<server::Model> {
    let mut model = server::ActiveModel::from(existing);
    model.database_limit = Set(limit);
    Ok(model.update(db).await?)
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<()> {
    super::epochs::server_list_changed();
    server::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Every server's id and mirrored state.
pub async fn states(db: &impl ConnectionTrait) -> Result<Vec<(String, String)>> {
    use sea_orm::QuerySelect;

    Ok(server::Entity::find()
        .select_only()
        .column(server::Column::Id)
        .column(server::Column::State)
        .into_tuple()
        .all(db)
        .await?)
}
