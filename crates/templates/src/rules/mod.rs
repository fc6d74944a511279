//! Variable validation rules, in the Laravel syntax eggs use
//! (`required|string|max:20`, `nullable|integer|between:1,100`, `regex:/^[a-z]+$/`).
//!
//! Semantics follow Laravel as Pterodactyl runs it:
//! - Input that is empty or only whitespace counts as *no value* (Laravel's
//!   `ConvertEmptyStringsToNull`). With no value, `required` fails; otherwise
//!   `nullable` skips every other rule, and without `nullable` the remaining rules are
//!   checked against "no value" the way Laravel checks `null` (so `string` fails,
//!   `max:20` passes, `in:,beta` passes).
//! - `min`, `max`, `between` and `size` compare the number itself when the variable has
//!   `integer` or `numeric` and the value is numeric, otherwise the length in characters.
//! - `boolean` accepts `1` and `0` (Laravel's strict check on form input; the words
//!   `true`/`false` fail there too, and eggs test for 1/0 in their scripts).
//! - `regex:` takes a PHP literal (`/.../flags`), translated to the `regex` crate.
//!
//! Unknown rules, and rules that cannot be checked (bad parameters, a regex the engine
//! cannot translate), are kept verbatim so the template exports unchanged, are reported
//! by [`Rules::problems`] (the importer turns them into warnings naming the variable),
//! and make [`validate`] fail with a message saying the rule cannot be checked: a value
//! never passes a rule that was not actually checked.
//!
//! One deliberate difference: when `required` fails, the other rules' messages are not
//! added (they would only repeat that the value is missing).

mod php_regex;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Variable;

/// The parsed rules of one variable.
#[derive(Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// One rule, as written and as understood.
#[derive(Clone)]
pub struct Rule {
    text: String,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Required,
    Nullable,
    /// Rules that only matter for forms with optional fields; no effect here.
    NoEffect,
    String,
    Integer,
    Numeric,
    Boolean,
    Min(f64),
    Max(f64),
    Between(f64, f64),
    Size(f64),
    Digits(usize),
    DigitsBetween(usize, usize),
    In(Vec<String>),
    NotIn(Vec<String>),
    Regex(regex::bytes::Regex),
    NotRegex(regex::bytes::Regex),
    Alpha,
    AlphaDash,
    AlphaNum,
    Url,
    Email,
    Ip,
    Ipv4,
    Ipv6,
    Uuid,
    Json,
    StartsWith(Vec<String>),
    EndsWith(Vec<String>),
    Lowercase,
    Uppercase,
    /// Kept verbatim; validation fails closed.
    Unsupported(String),
}

impl Rules {
    /// Parses a pipe-separated rule string. A `regex:` rule may itself contain `|`
    /// inside its delimiters (`regex:/^(a|b)$/`).
    pub fn parse(text: &str) -> Rules {
        let mut parts: Vec<String> = Vec::new();
        for segment in text.split('|') {
            if let Some(last) = parts.last_mut() {
                if let Some(literal) = regex_literal(last) {
                    if !php_regex::is_complete(literal) {
                        last.push('|');
                        last.push_str(segment);
                        continue;
                    }
                }
            }
            parts.push(segment.to_owned());
        }
        Rules::from_list(parts.iter().map(String::as_str))
    }

    /// Builds rules from a list (Pelican eggs store rules as a list).
    pub fn from_list<'a>(rules: impl IntoIterator<Item = &'a str>) -> Rules {
        Rules {
            rules: rules
                .into_iter()
                .filter(|r| !r.trim().is_empty())
                .map(Rule::parse)
                .collect(),
        }
    }

    /// The rules in order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules as written, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.rules.iter().map(|r| r.text.as_str()).collect()
    }

    /// The pipe-separated spelling (`required|string|max:20`).
    pub fn to_pipe_string(&self) -> String {
        self.texts().join("|")
    }

    /// Whether the pipe spelling would be ambiguous because a rule contains `|`.
    pub fn needs_list_form(&self) -> bool {
        self.rules.iter().any(|r| r.text.contains('|'))
    }

    /// Rules that cannot be checked, as `(rule text, reason)`.
    pub fn problems(&self) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .filter_map(|r| match &r.kind {
                Kind::Unsupported(reason) => Some((r.text.as_str(), reason.as_str())),
                _ => None,
            })
            .collect()
    }

    fn has(&self, pred: impl Fn(&Kind) -> bool) -> bool {
        self.rules.iter().any(|r| pred(&r.kind))
    }
}

impl Rule {
    fn parse(text: &str) -> Rule {
        let trimmed = text.trim();
        let (name, param) = match trimmed.split_once(':') {
            Some((name, param)) => (name.trim(), Some(param)),
            None => (trimmed, None),
        };
        let name = name.to_ascii_lowercase();
        let kind = match name.as_str() {
            "regex" | "not_regex" => match param.map(php_regex::compile) {
                None => {
                    Kind::Unsupported(format!("{name} needs a pattern, e.g. {name}:/^[a-z]+$/"))
                }
                Some(Err(reason)) => Kind::Unsupported(reason),
                Some(Ok(re)) if name == "regex" => Kind::Regex(re),
                Some(Ok(re)) => Kind::NotRegex(re),
            },
            _ => parse_plain(&name, param.map(csv).unwrap_or_default())
                .unwrap_or_else(Kind::Unsupported),
        };
        Rule {
            text: text.to_owned(),
            kind,
        }
    }

    /// The rule as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the rule is understood and checked.
    pub fn is_supported(&self) -> bool {
        !matches!(self.kind, Kind::Unsupported(_))
    }
}

fn regex_literal(rule: &str) -> Option<&str> {
    let (name, literal) = rule.split_once(':')?;
    let name = name.trim().to_ascii_lowercase();
    (name == "regex" || name == "not_regex").then_some(literal)
}

/// Laravel splits rule parameters like CSV (`in:"a,b",c`).
fn csv(param: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = param.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

fn parse_plain(name: &str, params: Vec<String>) -> Result<Kind, String> {
    let number = |i: usize| -> Result<f64, String> {
        params
            .get(i)
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("{name} needs a number parameter, e.g. {name}:10"))
    };
    let count = |i: usize| -> Result<usize, String> {
        params
            .get(i)
            .and_then(|p| p.trim().parse::<usize>().ok())
            .ok_or_else(|| format!("{name} needs a whole-number parameter"))
    };
    let list = || -> Result<Vec<String>, String> {
        if params.is_empty() {
            Err(format!("{name} needs a list of values, e.g. {name}:a,b"))
        } else {
            Ok(params.clone())
        }
    };
    Ok(match name {
        "required" => Kind::Required,
        "nullable" => Kind::Nullable,
        "sometimes" | "present" | "filled" | "bail" => Kind::NoEffect,
        "string" => Kind::String,
        "integer" | "int" => Kind::Integer,
        "numeric" => Kind::Numeric,
        "boolean" | "bool" => Kind::Boolean,
        "min" => Kind::Min(number(0)?),
        "max" => Kind::Max(number(0)?),
        "size" => Kind::Size(number(0)?),
        "between" => Kind::Between(number(0)?, number(1)?),
        "digits" => Kind::Digits(count(0)?),
        "digits_between" => Kind::DigitsBetween(count(0)?, count(1)?),
        "in" => Kind::In(list()?),
        "not_in" => Kind::NotIn(list()?),
        "alpha" => Kind::Alpha,
        "alpha_dash" => Kind::AlphaDash,
        "alpha_num" => Kind::AlphaNum,
        "url" | "active_url" => Kind::Url,
        "email" => Kind::Email,
        "ip" => Kind::Ip,
        "ipv4" => Kind::Ipv4,
        "ipv6" => Kind::Ipv6,
        "uuid" => Kind::Uuid,
        "json" => Kind::Json,
        "starts_with" => Kind::StartsWith(list()?),
        "ends_with" => Kind::EndsWith(list()?),
        "lowercase" => Kind::Lowercase,
        "uppercase" => Kind::Uppercase,
        _ => return Err(format!("unknown rule {name:?}")),
    })
}

/// Checks a value against a variable's rules. Errors name the variable by its human
/// name and env name, e.g. `Server Jar File (SERVER_JARFILE) must be at most 20
/// characters.` See the module docs for the semantics.
pub fn validate(variable: &Variable, value: &str) -> Result<(), Vec<String>> {
    let label = format!("{} ({})", variable.name, variable.env_variable);
    let rules = &variable.rules;
    let mut errors: Vec<String> = rules
        .problems()
        .into_iter()
        .map(|(text, reason)| {
            format!("{label}: the rule {text:?} cannot be checked ({reason}); the template needs fixing")
        })
        .collect();

    let value = (!value.trim().is_empty()).then_some(value);
    if value.is_none() {
        if rules.has(|k| matches!(k, Kind::Required)) {
            errors.push(format!("{label} is required."));
            return Err(errors);
        }
        if rules.has(|k| matches!(k, Kind::Nullable)) {
            return if errors.is_empty() {
                Ok(())
            } else {
                Err(errors)
            };
        }
    }

    let numeric_typed = rules.has(|k| matches!(k, Kind::Integer | Kind::Numeric));
    let measure = Measure::of(value, numeric_typed);
    for rule in rules.iter() {
        if let Some(problem) = check(&rule.kind, value, &measure) {
            errors.push(format!("{label} {problem}."));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// What `min`/`max`/`between`/`size` compare: the number, or the length.
struct Measure {
    size: f64,
    numeric: bool,
}

impl Measure {
    fn of(value: Option<&str>, numeric_typed: bool) -> Measure {
        match value {
            Some(v) if numeric_typed && is_numeric(v) => Measure {
                size: v.trim().parse().unwrap_or(0.0),
                numeric: true,
            },
            Some(v) => Measure {
                size: v.chars().count() as f64,
                numeric: false,
            },
            None => Measure {
                size: 0.0,
                numeric: false,
            },
        }
    }

    fn unit(&self) -> &'static str {
        if self.numeric {
            ""
        } else {
            " characters"
        }
    }
}

/// Returns the failure message (without the label), or `None` if the rule passes.
fn check(kind: &Kind, value: Option<&str>, m: &Measure) -> Option<String> {
    let fails = |ok: bool, message: String| (!ok).then_some(message);
    let text = value.unwrap_or("");
    let present = value.is_some();
    match kind {
        Kind::Required | Kind::Nullable | Kind::NoEffect | Kind::Unsupported(_) => None,
        Kind::String => fails(present, "must be text".into()),
        Kind::Integer => fails(present && is_integer(text), "must be a whole number".into()),
        Kind::Numeric => fails(present && is_numeric(text), "must be a number".into()),
        Kind::Boolean => fails(
            matches!(text, "0" | "1"),
            "must be 1 (true) or 0 (false)".into(),
        ),
        Kind::Min(min) => fails(
            m.size >= *min,
            format!("must be at least {}{}", num(*min), m.unit()),
        ),
        Kind::Max(max) => fails(
            m.size <= *max,
            format!("must be at most {}{}", num(*max), m.unit()),
        ),
        Kind::Between(lo, hi) => fails(
            m.size >= *lo && m.size <= *hi,
            format!("must be between {} and {}{}", num(*lo), num(*hi), m.unit()),
        ),
        Kind::Size(n) => fails(
            m.size == *n,
            format!("must be exactly {}{}", num(*n), m.unit()),
        ),
        Kind::Digits(n) => fails(
            all_digits(text) && text.len() == *n,
            format!("must be {n} digits"),
        ),
        Kind::DigitsBetween(lo, hi) => fails(
            all_digits(text) && (*lo..=*hi).contains(&text.len()),
            format!("must be between {lo} and {hi} digits"),
        ),
        Kind::In(options) => fails(
            options.iter().any(|o| o == text),
            format!("must be one of: {}", show_list(options)),
        ),
        Kind::NotIn(options) => fails(
            !options.iter().any(|o| o == text),
            format!("must not be any of: {}", show_list(options)),
        ),
        Kind::Regex(re) => fails(
            present && re.is_match(text.as_bytes()),
            "has an invalid format".into(),
        ),
        Kind::NotRegex(re) => fails(
            present && !re.is_match(text.as_bytes()),
            "has an invalid format".into(),
        ),
        Kind::Alpha => fails(
            present && text.chars().all(char::is_alphabetic),
            "must contain only letters".into(),
        ),
        Kind::AlphaDash => fails(
            present
                && text
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-'),
            "must contain only letters, numbers, dashes and underscores".into(),
        ),
        Kind::AlphaNum => fails(
            present && text.chars().all(char::is_alphanumeric),
            "must contain only letters and numbers".into(),
        ),
        Kind::Url => fails(present && is_url(text), "must be a valid URL".into()),
        Kind::Email => fails(
            present && is_email(text),
            "must be a valid e-mail address".into(),
        ),
        Kind::Ip => fails(
            text.parse::<std::net::IpAddr>().is_ok(),
            "must be a valid IP address".into(),
        ),
        Kind::Ipv4 => fails(
            text.parse::<std::net::Ipv4Addr>().is_ok(),
            "must be a valid IPv4 address".into(),
        ),
        Kind::Ipv6 => fails(
            text.parse::<std::net::Ipv6Addr>().is_ok(),
            "must be a valid IPv6 address".into(),
        ),
        Kind::Uuid => fails(is_uuid(text), "must be a valid UUID".into()),
        Kind::Json => fails(
            present && serde_json::from_str::<serde_json::Value>(text).is_ok(),
            "must be valid JSON".into(),
        ),
        Kind::StartsWith(options) => fails(
            present && options.iter().any(|o| text.starts_with(o.as_str())),
            format!("must start with one of: {}", show_list(options)),
        ),
        Kind::EndsWith(options) => fails(
            present && options.iter().any(|o| text.ends_with(o.as_str())),
            format!("must end with one of: {}", show_list(options)),
        ),
        Kind::Lowercase => fails(
            present && text.to_lowercase() == text,
            "must be lowercase".into(),
        ),
        Kind::Uppercase => fails(
            present && text.to_uppercase() == text,
            "must be uppercase".into(),
        ),
    }
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn show_list(options: &[String]) -> String {
    options
        .iter()
        .map(|o| if o.is_empty() { "(empty)" } else { o.as_str() })
        .collect::<Vec<_>>()
        .join(", ")
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// PHP `FILTER_VALIDATE_INT`: optional sign, no leading zeros, fits in 64 bits.
fn is_integer(text: &str) -> bool {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    !digits.is_empty()
        && all_digits(digits)
        && (digits == "0" || !digits.starts_with('0'))
        && t.parse::<i64>().is_ok()
}

/// PHP `is_numeric`: decimal numbers with optional sign, fraction and exponent.
fn is_numeric(text: &str) -> bool {
    let t = text.trim();
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && all_digits(int) && all_digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exponent_ok
}

fn is_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or("");
    scheme_ok && !host.is_empty() && !text.chars().any(char::is_whitespace)
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl PartialEq for Rules {
    fn eq(&self, other: &Self) -> bool {
        self.texts() == other.texts()
    }
}

impl fmt::Debug for Rules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.texts()).finish()
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// Stored as the list of rule strings.
impl Serialize for Rules {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.texts().serialize(s)
    }
}

/// Accepts a list of rule strings or one pipe-separated string.
impl<'de> Deserialize<'de> for Rules {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            List(Vec<String>),
            Pipe(String),
        }
        Ok(match Form::deserialize(d)? {
            Form::List(list) => Rules::from_list(list.iter().map(String::as_str)),
            Form::Pipe(text) => Rules::parse(&text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pipes_but_not_inside_regexes() {
        let rules = Rules::parse("nullable|regex:/^(a|b)$/|max:5");
        assert_eq!(rules.texts(), ["nullable", "regex:/^(a|b)$/", "max:5"]);
        assert!(rules.needs_list_form());
        assert!(rules.problems().is_empty());
    }

    #[test]
    fn php_number_shapes() {
        for ok in ["0", "-5", "+7", "123"] {
            assert!(is_integer(ok), "{ok}");
        }
        for bad in ["007", "1.0", "", "-", "1e3", "99999999999999999999"] {
            assert!(!is_integer(bad), "{bad}");
        }
        for ok in ["1", "1.5", ".5", "5.", "-1e3", "+2E-2", " 3 "] {
            assert!(is_numeric(ok), "{ok}");
        }
        for bad in ["", ".", "e5", "0x1A", "1e", "abc", "1.2.3"] {
            assert!(!is_numeric(bad), "{bad}");
        }
    }

    #[test]
    fn csv_parameters() {
        assert_eq!(csv("a,b,c"), ["a", "b", "c"]);
        assert_eq!(csv(",beta"), ["", "beta"]);
        assert_eq!(csv(r#""a,b",c"#), ["a,b", "c"]);
    }
}
