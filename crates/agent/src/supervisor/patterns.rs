//! Done patterns: a console line that means "the server has started".

use cap_protocol::server::FieldError;
use regex::Regex;

/// Compiled done patterns (substring, or regular expression after `regex:`).
#[derive(Debug, Clone, Default)]
pub struct DonePatterns {
    substrings: Vec<String>,
    regexes: Vec<Regex>,
}

impl DonePatterns {
    /// Compile; invalid regular expressions are reported per field.
    pub fn compile(patterns: &[String]) -> Result<Self, Vec<FieldError>> {
        let mut compiled = Self::default();
        let mut errors = Vec::new();
        for (i, pattern) in patterns.iter().enumerate() {
            match pattern.strip_prefix("regex:") {
                Some(expr) => match regex::RegexBuilder::new(expr).size_limit(1 << 20).build() {
                    Ok(re) => compiled.regexes.push(re),
                    Err(e) => errors.push(FieldError {
                        field: format!("donePatterns[{i}]"),
                        message: format!("invalid regular expression: {e}"),
                    }),
                },
                None => compiled.substrings.push(pattern.clone()),
            }
        }
        if errors.is_empty() {
            Ok(compiled)
        } else {
            Err(errors)
        }
    }

    /// No patterns: the server counts as running once spawned.
    pub fn is_empty(&self) -> bool {
        self.substrings.is_empty() && self.regexes.is_empty()
    }

    /// Does this line match any pattern?
    pub fn matches(&self, line: &str) -> bool {
        self.substrings.iter().any(|s| line.contains(s.as_str()))
            || self.regexes.iter().any(|re| re.is_match(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_and_regexes() {
        let patterns =
            DonePatterns::compile(&[")! For help".into(), r"regex:^Done \(\d+\.\d+s\)".into()])
                .unwrap();
        assert!(patterns.matches("Done (0.012s)! For help, type \"help\""));
        assert!(patterns.matches("Done (1.5s)"));
        assert!(!patterns.matches("Loading world"));
        let errors = DonePatterns::compile(&["ok".into(), "regex:(".into()]).unwrap_err();
        assert_eq!(errors[0].field, "donePatterns[1]");
    }
}
