//! Repositories: the only place that talks SQL (through SeaORM). Database errors are
//! mapped by `From<DbErr> for Error`: unique → Conflict, foreign key → Validation.

use sea_orm::sea_query::{Expr, Func, LikeExpr, SimpleExpr};

pub mod allocations;
pub mod alts;
pub mod api_keys;
pub mod audit;
pub mod backups;
pub mod ctrls;
pub mod database_hosts;
pub mod epochs;
pub mod monitoring;
pub mod nodes;
pub mod permissions;
pub mod schedules;
pub mod server_databases;
pub mod server_variables;
pub mod servers;
pub mod sessions;
pub mod settings;
pub mod ssh_keys;
pub mod subusers;
pub mod two_factor;
pub mod users;

/// A new time-ordered id for a row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Case-insensitive "name contains" filter for list endpoints: `LOWER(table.column) LIKE
/// %fragment%`, with LIKE wildcards in the fragment escaped. The column is qualified with
/// its table, so the filter stays unambiguous in joins (servers with nodes and templates
/// all have a `name`).
pub fn name_contains<C: sea_orm::ColumnTrait>(column: C, fragment: &str) -> SimpleExpr {
    let escaped = fragment
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column.as_column_ref())))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// One page of `query` (pages count from 1) and the total number of rows.
pub async fn fetch_page<E>(
    db: &impl sea_orm::ConnectionTrait,
    query: sea_orm::Select<E>,
    page: u64,
    per_page: u64,
) -> crate::error::Result<(Vec<E::Model>, u64)>
where
    E: sea_orm::EntityTrait,
    E::Model: sea_orm::FromQueryResult + Sized + Send + Sync,
{
    use sea_orm::PaginatorTrait;

    let paginator = query.paginate(db, per_page);
    let total = paginator.num_items().await?;
    Ok((paginator.fetch_page(page.saturating_sub(1)).await?, total))
}

/// A page of `E` ordered by `name_column`, optionally narrowed to names containing `name`.
pub async fn page_by_name<E>(
    db: &impl sea_orm::ConnectionTrait,
    name_column: E::Column,
    name: Option<&str>,
    page: u64,
    per_page: u64,
) -> crate::error::Result<(Vec<E::Model>, u64)>
where
    E: sea_orm::EntityTrait,
    E::Model: sea_orm::FromQueryResult + Sized + Send + Sync,
{
    use sea_orm::{QueryFilter, QueryOrder};

    let mut query = E::find().order_by_asc(name_column);
    if let Some(name) = name {
        query = query.filter(name_contains(name_column, name));
    }
    fetch_page(db, query, page, per_page).await
}
