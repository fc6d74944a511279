//! Names and literals sent to database hosts. Every name a user chooses is checked here
//! (letters, digits and underscores, within each engine's length limit) before it is
//! quoted by its engine's rules; literals are limited to characters that need no escape
//! under any SQL mode, so nothing user-typed is ever interpreted by a host.

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;

use super::Engine;
use crate::error::{Error, Result};

/// The longest database name: MySQL allows 64 characters, PostgreSQL 63 bytes.
pub const fn max_database_name(engine: Engine) -> usize {
    match engine {
        Engine::Mysql => 64,
        Engine::Postgres => 63,
    }
}

/// The part a user chooses of a database's name: letters, digits and underscores,
/// lowercased (MySQL folds database names to lower case on some systems, PostgreSQL
/// folds unquoted ones: one spelling avoids surprises).
pub fn user_part(name: &str, room: usize) -> Result<String> {
    let invalid = |message: String| Error::validation("name", message);
    if name.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(
            "may contain only letters, digits and underscores".into(),
        ));
    }
    if name.len() > room {
        return Err(invalid(format!("must be at most {room} characters")));
    }
    Ok(name.to_ascii_lowercase())
}

/// A server's database: `s<server>_<name>`.
pub fn database_name(engine: Engine, server_short: &str, name: &str) -> Result<String> {
    let prefix = format!("s{server_short}_");
    let part = user_part(name, max_database_name(engine) - prefix.len())?;
    Ok(format!("{prefix}{part}"))
}

/// A database's user: `u<server>_<10 random letters and digits>`, 20 characters, within
/// MySQL's 32 (MariaDB allows 80, PostgreSQL 63).
pub fn username(server_short: &str) -> String {
    let suffix = Alphanumeric
        .sample_string(&mut OsRng, 10)
        .to_ascii_lowercase();
    format!("u{server_short}_{suffix}")
}

/// A random password: 32 letters and digits (about 190 bits).
pub fn password() -> String {
    Alphanumeric.sample_string(&mut OsRng, 32)
}

/// The characters of a MySQL host pattern: letters, digits and `. % _ : / -` (host
/// names, IPv4 and IPv6 addresses, wildcards and netmasks).
pub fn remote(pattern: &str) -> Result<String> {
    let invalid = |message: &str| Error::validation("remote", message);
    if pattern.is_empty() || pattern.len() > 255 {
        return Err(invalid("must be 1 to 255 characters"));
    }
    if !pattern.chars().all(literal_safe) {
        return Err(invalid(
            "may contain only letters, digits and . % _ : / - (a MySQL host pattern)",
        ));
    }
    Ok(pattern.to_owned())
}

fn literal_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '%' | '_' | ':' | '/' | '-')
}

/// `text` as a string literal. Only characters that no SQL mode treats specially are
/// accepted (no quotes, no backslashes), so single quotes around them are a complete
/// and safe literal on MySQL (with or without `NO_BACKSLASH_ESCAPES`) and PostgreSQL.
pub fn literal(text: &str) -> Result<String> {
    if text.chars().all(literal_safe) {
        Ok(format!("'{text}'"))
    } else {
        Err(Error::internal(
            "a literal for a database host holds unsafe characters",
        ))
    }
}

/// `name` as an identifier of `engine`: backticks on MySQL, double quotes on PostgreSQL,
/// the quote character doubled inside.
pub fn ident(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Mysql => format!("`{}`", name.replace('`', "``")),
        Engine::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// A MySQL database name as a `GRANT ... ON <db>.*` takes it: `_` and `%` are wildcards
/// there, so they are escaped and the grant covers this one database only.
pub fn mysql_grant_database(name: &str) -> String {
    ident(
        Engine::Mysql,
        &name
            .replace('\\', "\\\\")
            .replace('_', "\\_")
            .replace('%', "\\%"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_chosen_names_are_letters_digits_and_underscores() {
        for bad in ["", "a'b", "a;b", "a`b", "a\"b", "ünï", "a b", "a-b", "a\\b"] {
            assert!(user_part(bad, 48).is_err(), "{bad:?}");
        }
        assert!(user_part(&"a".repeat(200), 48).is_err());
        assert_eq!(user_part("Luck_Perms2", 48).unwrap(), "luck_perms2");
        let name = database_name(Engine::Postgres, "0a1b2c3d", &"x".repeat(53)).unwrap();
        assert_eq!(name.len(), 63);
        assert!(database_name(Engine::Postgres, "0a1b2c3d", &"x".repeat(54)).is_err());
    }

    #[test]
    fn identifiers_and_literals_are_quoted_by_each_engine() {
        assert_eq!(ident(Engine::Mysql, "a`b"), "`a``b`");
        assert_eq!(ident(Engine::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(mysql_grant_database("s1_my_db"), "`s1\\_my\\_db`");
        assert_eq!(literal("192.168.%").unwrap(), "'192.168.%'");
        assert!(literal("x'; DROP USER root; --").is_err());
        assert!(literal("back\\slash").is_err());
        assert!(remote("10.0.0.0/255.0.0.0").is_ok());
        assert!(remote("%' OR '1").is_err());
        let user = username("0a1b2c3d");
        assert_eq!(user.len(), 20);
        assert!(user.len() <= 32);
        assert!(password().chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
