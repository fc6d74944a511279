//! Validated domain values. Parsing is the only way to obtain one, so a value of these
//! types is known to be well-formed wherever it travels.

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

string_newtype!(Username, Email);

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
    fn passwords_are_bounded_and_hidden() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(257)).is_err());
        let password = Password::parse("long enough").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
    }
}
