//! Translation of PHP (PCRE) regex literals such as `/^[a-z]+$/i` to the `regex` crate.
//!
//! Laravel's `regex:` rule takes a full PHP literal: a delimiter, the pattern, the
//! delimiter again, then flags. The pattern language is mostly shared with the `regex`
//! crate; what the crate cannot do (look-around, back-references, possessive
//! quantifiers, atomic groups) is reported as an error rather than approximated.
//!
//! Without the `u` flag PCRE works on bytes and `\w`, `\d` are ASCII-only, so patterns
//! are compiled as byte regexes with Unicode off unless `u` is given.

use regex::bytes::{Regex, RegexBuilder};

/// Compiles a PHP regex literal.
pub(crate) fn compile(literal: &str) -> Result<Regex, String> {
    let mut chars = literal.chars();
    let open = chars
        .next()
        .ok_or_else(|| "empty regex; write it as /pattern/".to_owned())?;
    if open.is_alphanumeric() || open == '\\' || open.is_whitespace() {
        return Err(format!(
            "{literal:?} has no delimiter; write it as /pattern/ with optional flags"
        ));
    }
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        other => other,
    };
    let (body, flags) = split_body(chars.as_str(), open, close)
        .ok_or_else(|| format!("{literal:?} is missing its closing {close:?} delimiter"))?;

    let mut builder_flags = Flags::default();
    for flag in flags.chars() {
        match flag {
            'i' => builder_flags.case_insensitive = true,
            'm' => builder_flags.multi_line = true,
            's' => builder_flags.dot_all = true,
            'x' => builder_flags.extended = true,
            'u' => builder_flags.unicode = true,
            'U' => builder_flags.ungreedy = true,
            'A' => builder_flags.anchored = true,
            // D (dollar matches only at the very end) is how the regex crate already
            // behaves; S (extra analysis) changes nothing about what matches.
            'D' | 'S' => {}
            '\n' | '\r' | ' ' => {}
            other => return Err(format!("the PHP regex flag {other:?} is not supported")),
        }
    }
    let pattern = if builder_flags.anchored {
        format!("^(?:{body})")
    } else {
        body
    };
    RegexBuilder::new(&pattern)
        .case_insensitive(builder_flags.case_insensitive)
        .multi_line(builder_flags.multi_line)
        .dot_matches_new_line(builder_flags.dot_all)
        .ignore_whitespace(builder_flags.extended)
        .swap_greed(builder_flags.ungreedy)
        .unicode(builder_flags.unicode)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            format!(
                "this PHP regex cannot be used here (look-around, back-references and possessive quantifiers are not supported): {}",
                first_line(&e.to_string())
            )
        })
}

#[derive(Default)]
struct Flags {
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
    extended: bool,
    unicode: bool,
    ungreedy: bool,
    anchored: bool,
}

/// Splits `pattern<close>flags` at the first unescaped closing delimiter (bracket
/// delimiters nest), turning escaped delimiters into what the regex crate expects.
fn split_body(rest: &str, open: char, close: char) -> Option<(String, &str)> {
    let mut body = String::with_capacity(rest.len());
    let mut depth = 0usize;
    let mut iter = rest.char_indices();
    while let Some((i, c)) = iter.next() {
        match c {
            '\\' => {
                let (_, next) = iter.next()?;
                if next == open || next == close {
                    body.push_str(&regex::escape(&next.to_string()));
                } else {
                    body.push('\\');
                    body.push(next);
                }
            }
            c if c == close && depth == 0 => return Some((body, &rest[i + c.len_utf8()..])),
            c if c == close => {
                depth -= 1;
                body.push(c);
            }
            c if c == open && open != close => {
                depth += 1;
                body.push(c);
            }
            c => body.push(c),
        }
    }
    None
}

/// Whether `text` (what follows `regex:`) already holds a complete literal. Used when
/// splitting a `a|regex:/x|y/|b` rule string on `|`.
pub(crate) fn is_complete(text: &str) -> bool {
    let mut chars = text.chars();
    let Some(open) = chars.next() else {
        return true;
    };
    let close = match open {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        '<' => '>',
        other => other,
    };
    if open.is_alphanumeric() || open == '\\' || open.is_whitespace() {
        return true;
    }
    split_body(chars.as_str(), open, close).is_some()
}

fn first_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(literal: &str, value: &str) -> bool {
        compile(literal)
            .unwrap_or_else(|e| panic!("{literal}: {e}"))
            .is_match(value.as_bytes())
    }

    #[test]
    fn translates_delimiters_flags_and_escapes() {
        assert!(matches(r"/^([\w\d._-]+)(\.jar)$/", "server.jar"));
        assert!(!matches(r"/^([\w\d._-]+)(\.jar)$/", "server.zip"));
        assert!(matches(r"/^[0-9\.\-]+$/", "1.20-4"));
        assert!(matches(r"#^a/b$#", "a/b"));
        assert!(matches(r"/^a\/b$/", "a/b"));
        assert!(matches(r"/^abc$/i", "ABC"));
        assert!(matches(r"{^a{2}$}", "aa"));
        assert!(matches(r"/b/A", "bc") && !matches(r"/b/A", "ab"));
    }

    #[test]
    fn ascii_classes_without_u_flag() {
        assert!(!matches(r"/^\w+$/", "é"));
        assert!(matches(r"/^\w+$/u", "é"));
    }

    #[test]
    fn reports_what_cannot_be_translated() {
        assert!(compile(r"/^(?=a)a$/").is_err());
        assert!(compile(r"/(a)\1/").is_err());
        assert!(compile("/abc").is_err());
        assert!(compile("abc").is_err());
        assert!(compile("/a/q").is_err());
    }

    #[test]
    fn completeness_for_rule_splitting() {
        assert!(!is_complete("/^(a"));
        assert!(is_complete("/^(a|b)$/"));
    }
}
