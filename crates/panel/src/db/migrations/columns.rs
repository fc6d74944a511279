//! The column, key and index shapes the migrations are written in, so that each
//! migration reads as a description of its tables. A helper renders exactly the
//! statement its builder calls spell out; a nullable variant ends in `_null`.

use sea_orm_migration::prelude::*;

/// Text primary key holding a UUID (v7, so ids sort by creation time).
pub(super) fn id<T: IntoIden>(name: T) -> ColumnDef {
    reference(name).primary_key().to_owned()
}

/// A required reference to another table's text id.
pub(super) fn reference<T: IntoIden>(name: T) -> ColumnDef {
    string(name, 36)
}

/// An optional reference to another table's text id.
pub(super) fn reference_null<T: IntoIden>(name: T) -> ColumnDef {
    string_null(name, 36)
}

/// A name people choose (a user, a server, a key…): up to 191 characters, the longest
/// string MySQL-family databases index in full.
pub(super) fn name_column<T: IntoIden>(name: T) -> ColumnDef {
    string(name, 191)
}

pub(super) fn string<T: IntoIden>(name: T, length: u32) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(length)
        .not_null()
        .to_owned()
}

pub(super) fn string_null<T: IntoIden>(name: T, length: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(length).null().to_owned()
}

pub(super) fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}

pub(super) fn text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}

pub(super) fn json<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).json().not_null().to_owned()
}

/// A required boolean the writer always sets.
pub(super) fn boolean<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().to_owned()
}

/// A required boolean with a default.
pub(super) fn flag<T: IntoIden>(name: T, default: bool) -> ColumnDef {
    boolean(name).default(default).to_owned()
}

pub(super) fn int<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().not_null().to_owned()
}

pub(super) fn int_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).integer().null().to_owned()
}

pub(super) fn big_int<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

pub(super) fn big_int_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}

pub(super) fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub(super) fn timestamp_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

/// A foreign key from `from` to `to`; updates of the referenced key cascade.
pub(super) fn fk<F: IntoIden + 'static, T: IntoIden + 'static, C: IntoIden + 'static>(
    from: (F, C),
    to: (T, impl IntoIden + 'static),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

pub(super) fn index<T: IntoIden + Clone + 'static, C: IntoIden + Clone + 'static>(
    name: &str,
    table: T,
    columns: &[C],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for column in columns {
        stmt.col(column.clone());
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

/// Adds columns to an existing table, one statement each: SQLite adds a single column
/// per ALTER TABLE.
pub(super) async fn add_columns<T: IntoIden + Clone + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: impl IntoIterator<Item = ColumnDef>,
) -> Result<(), DbErr> {
    alter_each(manager, table, columns, |alter, column| {
        alter.add_column(column);
    })
    .await
}

/// Drops columns from a table, one statement each (see [`add_columns`]).
pub(super) async fn drop_columns<T: IntoIden + Clone + 'static, C: IntoIden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    columns: impl IntoIterator<Item = C>,
) -> Result<(), DbErr> {
    alter_each(manager, table, columns, |alter, column| {
        alter.drop_column(column);
    })
    .await
}

/// One ALTER TABLE of `table` per item, each made by `change`.
async fn alter_each<T: IntoIden + Clone + 'static, I>(
    manager: &SchemaManager<'_>,
    table: T,
    items: impl IntoIterator<Item = I>,
    change: impl Fn(&mut TableAlterStatement, I),
) -> Result<(), DbErr> {
    for item in items {
        let mut alter = Table::alter();
        alter.table(table.clone());
        change(&mut alter, item);
        manager.alter_table(alter).await?;
    }
    Ok(())
}
