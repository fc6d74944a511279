//! Validated domain values. Parsing is the only way to obtain one, so a value of these
//! types is known to be well-formed wherever it travels. Also the plain descriptions the
//! layers hand each other (who may see which servers, a backup policy).

use std::fmt;

/// A login name: 3–32 characters of letters, digits, `_`, `-` and `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, String> {
        let value = raw.trim();
        let len = value.chars().count();
        if !(3..=32).contains(&len) {
            return Err("must be 3 to 32 characters long".into());
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err("may contain only letters, digits, '_', '-' and '.'".into());
        }
        Ok(Username(value.to_owned()))
    }
}

/// An e-mail address, lower-cased: something@domain, at most 191 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let value = raw.trim().to_lowercase();
        if value.len() > 191 {
            return Err("must be at most 191 characters long".into());
        }
        let valid = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        if !valid {
            return Err("must be an e-mail address like name@example.com".into());
        }
        Ok(Email(value))
    }
}

/// A display name (of a server, node, template category, API key): trimmed first, then
/// 1 to `MAX` characters without control characters (no NUL, newlines or escapes), so
/// what is checked is what is stored and shown. Requests carry it as a plain string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name<const MAX: usize = 191>(String);

impl<const MAX: usize> Name<MAX> {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        let len = value.chars().count();
        if len == 0 {
            return Err("must not be empty".into());
        }
        if len > MAX {
            return Err(format!("must be at most {MAX} characters long"));
        }
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters (newlines, tabs, NUL)".into());
        }
        Ok(Name(value.to_owned()))
    }
}

impl<'de, const MAX: usize> serde::Deserialize<'de> for Name<MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Name::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl<const MAX: usize> schemars::JsonSchema for Name<MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Name{MAX}").into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "minLength": 1,
            "maxLength": MAX,
            "description": "Trimmed; no control characters."
        })
    }
}

/// A new password: 8–256 characters. Never displayed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Password, String> {
        let len = raw.chars().count();
        if len < 8 {
            return Err("must be at least 8 characters long".into());
        }
        if len > 256 {
            return Err("must be at most 256 characters long".into());
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A server's short id: the last eight hex digits of its UUID (the random part; the
/// leading digits of these time-ordered ids are shared by servers created together). SFTP
/// usernames, database names and the Pterodactyl-compatible API carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortId(String);

impl ShortId {
    /// How many hex digits a short id has.
    pub const LEN: usize = 8;

    /// The short id of a server's (well-formed) id.
    pub fn of(server_id: &str) -> ShortId {
        let hex: String = server_id.chars().filter(char::is_ascii_hexdigit).collect();
        ShortId(hex[hex.len().saturating_sub(Self::LEN)..].to_ascii_lowercase())
    }

    /// A short id as a caller typed it: eight hex digits, in either case.
    pub fn parse(raw: &str) -> Result<ShortId, String> {
        if raw.len() != Self::LEN || !raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("must be {} hex digits", Self::LEN));
        }
        Ok(ShortId(raw.to_ascii_lowercase()))
    }
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_newtype {
    ($($ty:ident),*) => {$(
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }
    )*};
}

string_newtype!(Username, Email, ShortId);

impl<const MAX: usize> AsRef<str> for Name<MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> From<Name<MAX>> for String {
    fn from(value: Name<MAX>) -> String {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" alice ").unwrap().as_ref(), "alice");
        for bad in ["", "ab", "a b c", "bob!", &"x".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("Bob@Example.COM").unwrap().as_ref(),
            "bob@example.com"
        );
        for bad in ["", "bob", "@example.com", "bob@", "bob@.com", "b ob@x.y"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_before_they_are_checked() {
        assert_eq!(
            Name::<191>::parse("  Survival  ").unwrap().as_ref(),
            "Survival"
        );
        assert_eq!(Name::<3>::parse(" abc ").unwrap().as_ref(), "abc");
        assert!(Name::<3>::parse("abcd").is_err());
        for bad in [
            "",
            " ",
            "\t",
            "a\0b",
            "two\nlines",
            "a\rb",
            "bell\u{7}",
            "nel\u{85}inside",
        ] {
            assert!(Name::<191>::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn short_ids_are_the_last_eight_hex_digits() {
        let id = "0190F3C2-7A1B-7C3D-8E4F-A1B2C3D4E5F6";
        assert_eq!(ShortId::of(id).as_ref(), "c3d4e5f6");
        assert_eq!(ShortId::parse("C3D4E5F6").unwrap(), ShortId::of(id));
        for bad in ["", "c3d4e5f", "c3d4e5f6a", "c3d4e5fg", "c3d4-5f6"] {
            assert!(ShortId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_are_bounded_and_hidden() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        let password = Password::parse("long enough").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
    }
}

/// Who may see which servers in a list.
#[derive(Debug, Clone)]
pub enum Visibility<'a> {
    All,
    /// Owned by, or shared as a subuser with, this user.
    UserCanSee(&'a str),
    /// Owned by this user.
    OwnedBy(&'a str),
    /// Not owned by this user (what an administrator looks after for others).
    NotOwnedBy(&'a str),
}

/// A server's backup limit and retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupPolicy {
    pub limit: i32,
    pub keep_last: Option<i32>,
    pub keep_days: Option<i32>,
}
