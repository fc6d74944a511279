//! Usernames and e-mail addresses become unique regardless of letter case (`Alice` and
//! `alice` are one name), enforced by unique indexes on `lower(...)`, which SQLite and
//! PostgreSQL both support.
//!
//! Accounts that already clash are not deleted and the migration does not fail: the
//! oldest account keeps its name, each later one is renamed to the first free
//! `<name>-2`, `<name>-3`, … (an e-mail to `<local>+2@<domain>`, …), and every rename is
//! logged as a warning. Those users then sign in with the new name (or their unchanged
//! e-mail), and an administrator can give them a proper one. E-mail addresses are also
//! stored lower-cased, as the panel has always written them. `down` restores the
//! case-sensitive indexes but not the old names.

use std::collections::HashSet;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_case_insensitive_accounts"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Username,
    Email,
    CreatedAt,
}

/// Usernames are at most this long (see `domain::Username`).
const MAX_USERNAME_CHARS: usize = 32;

struct Account {
    id: String,
    username: String,
    email: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let accounts = accounts(db).await?;
        let mut usernames = Taken::new(accounts.iter().map(|a| a.username.as_str()));
        let mut emails = Taken::new(accounts.iter().map(|a| a.email.as_str()));
        for account in &accounts {
            let username = usernames.claim(&account.username, |n| {
                numbered_username(&account.username, n)
            });
            let email = emails
                .claim(&account.email, |n| numbered_email(&account.email, n))
                .to_lowercase();
            if username != account.username || email != account.email {
                rename(db, account, &username, &email).await?;
            }
        }
        manager
            .drop_index(
                Index::drop()
                    .name("ux_users_username")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_users_email")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        for column in ["username", "email"] {
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX ux_users_{column}_lower ON users (lower({column}))"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["username", "email"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("ux_users_{column}_lower"))
                        .table(Users::Table)
                        .to_owned(),
                )
                .await?;
        }
        for (name, column) in [
            ("ux_users_username", Users::Username),
            ("ux_users_email", Users::Email),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Users::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Every account, oldest first: the oldest keeps a contested name.
async fn accounts(db: &SchemaManagerConnection<'_>) -> Result<Vec<Account>, DbErr> {
    let query = Query::select()
        .columns([Users::Id, Users::Username, Users::Email])
        .from(Users::Table)
        .order_by(Users::CreatedAt, Order::Asc)
        .order_by(Users::Id, Order::Asc)
        .to_owned();
    let backend = db.get_database_backend();
    db.query_all(backend.build(&query))
        .await?
        .into_iter()
        .map(|row| {
            Ok(Account {
                id: row.try_get("", "id")?,
                username: row.try_get("", "username")?,
                email: row.try_get("", "email")?,
            })
        })
        .collect()
}

/// Names already given out, compared case-insensitively.
struct Taken {
    /// Every name present in the table, so a new name never collides with a later one.
    present: HashSet<String>,
    claimed: HashSet<String>,
}

impl Taken {
    fn new<'a>(names: impl Iterator<Item = &'a str>) -> Taken {
        Taken {
            present: names.map(str::to_lowercase).collect(),
            claimed: HashSet::new(),
        }
    }

    /// `name` if no earlier account holds it in any case, otherwise the first free
    /// `numbered(n)` for n = 2, 3, ….
    fn claim(&mut self, name: &str, numbered: impl Fn(u32) -> String) -> String {
        let mut candidate = name.to_owned();
        let mut n = 1;
        while self.claimed.contains(&candidate.to_lowercase())
            || (n > 1 && self.present.contains(&candidate.to_lowercase()))
        {
            n += 1;
            candidate = numbered(n);
        }
        self.claimed.insert(candidate.to_lowercase());
        candidate
    }
}

fn numbered_username(name: &str, n: u32) -> String {
    let suffix = format!("-{n}");
    let keep = MAX_USERNAME_CHARS.saturating_sub(suffix.len());
    format!("{}{suffix}", name.chars().take(keep).collect::<String>())
}

fn numbered_email(email: &str, n: u32) -> String {
    let email = email.to_lowercase();
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{n}@{domain}"),
        None => format!("{email}+{n}"),
    }
}

async fn rename(
    db: &SchemaManagerConnection<'_>,
    account: &Account,
    username: &str,
    email: &str,
) -> Result<(), DbErr> {
    if username != account.username {
        tracing::warn!(
            user_id = %account.id,
            "username {:?} differs from an older account's only in letter case: renamed to {username:?}",
            account.username
        );
    }
    if email != account.email.to_lowercase() {
        tracing::warn!(
            user_id = %account.id,
            "e-mail {:?} differs from an older account's only in letter case: changed to {email:?}",
            account.email
        );
    }
    let update = Query::update()
        .table(Users::Table)
        .values([
            (Users::Username, username.into()),
            (Users::Email, email.into()),
        ])
        .and_where(Expr::col(Users::Id).eq(account.id.as_str()))
        .to_owned();
    let backend = db.get_database_backend();
    let statement: Statement = backend.build(&update);
    db.execute(statement).await?;
    Ok(())
}
