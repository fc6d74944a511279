//! Table-driven validation for every supported rule, including regex rules taken from
//! the fixture eggs.

use cap_templates::{import_egg, Rules, Variable};

use crate::support::egg_files;

fn variable(rules: &str) -> Variable {
    Variable {
        name: "Server Name".into(),
        description: String::new(),
        env_variable: "SERVER_NAME".into(),
        default_value: String::new(),
        user_viewable: true,
        user_editable: true,
        rules: Rules::parse(rules),
        field_type: None,
        sort: None,
        extra: Default::default(),
    }
}

/// (rules, value, passes)
const CASES: &[(&str, &str, bool)] = &[
    ("required", "x", true),
    ("required", "", false),
    ("required", "   ", false),
    ("nullable|string|max:3", "", true),
    ("nullable|integer", "", true),
    ("string", "", false),
    ("max:3", "", true),
    ("string|max:20", "abc", true),
    ("string|max:3", "abcd", false),
    ("string|max:3", "äöü", true),
    ("string|min:2", "a", false),
    ("string|min:2", "ab", true),
    ("string|between:3,12", "ab", false),
    ("string|between:3,12", "abc", true),
    ("string|size:4", "abcd", true),
    ("string|size:4", "abc", false),
    ("integer", "42", true),
    ("int", "42", true),
    ("integer", "-7", true),
    ("integer", "4.2", false),
    ("integer", "007", false),
    ("integer", "x", false),
    ("integer|min:1025|max:65535", "25565", true),
    ("integer|min:1025|max:65535", "80", false),
    ("integer|min:1025|max:65535", "70000", false),
    ("integer|between:1,65535", "0", false),
    ("numeric|max:30", "30", true),
    ("numeric|max:30", "30.5", false),
    ("numeric|between:-1,255", "-1", true),
    ("numeric", "1e3", true),
    ("numeric", "abc", false),
    ("max:20", "12345678901234567890", true),
    ("max:20", "123456789012345678901", false),
    ("boolean", "1", true),
    ("boolean", "0", true),
    ("boolean", "yes", false),
    ("boolean", "", false),
    ("in:true,false", "true", true),
    ("in:true,false", "maybe", false),
    ("in:0,1,2,3,-1,-2,-3", "-2", true),
    ("nullable|string|in:,beta", "", true),
    ("nullable|string|in:,beta", "beta", true),
    ("nullable|string|in:,beta", "alpha", false),
    ("in:,beta", "", true),
    ("not_in:root,admin", "root", false),
    ("not_in:root,admin", "steve", true),
    ("numeric|digits_between:1,5", "27015", true),
    ("numeric|digits_between:1,5", "270150", false),
    ("numeric|digits_between:1,3", "-1", false),
    ("digits:4", "1234", true),
    ("digits:4", "123", false),
    ("alpha_dash|between:1,100", "my-world_2", true),
    ("alpha_dash|between:1,100", "my world", false),
    ("alpha_num|max:100", "abc123", true),
    ("alpha_num|max:100", "abc-123", false),
    ("alpha", "abc", true),
    ("alpha", "abc1", false),
    ("url", "https://example.com/a.jar", true),
    ("url", "example.com", false),
    ("email", "a@example.com", true),
    ("email", "a@b", false),
    ("ip", "0.0.0.0", true),
    ("ipv4", "::1", false),
    ("ipv6", "::1", true),
    ("uuid", "6f1c2a0e-5b7d-4c1e-9a53-0c4d7e2b9a01", true),
    ("uuid", "6f1c2a0e", false),
    ("json", r#"{"a":1}"#, true),
    ("json", "{a", false),
    ("starts_with:http://,https://", "https://x", true),
    ("starts_with:http://,https://", "ftp://x", false),
    ("ends_with:.jar", "server.jar", true),
    ("lowercase", "abc", true),
    ("lowercase", "Abc", false),
    ("uppercase", "ABC", true),
    ("nullable:string", "", true),
    // Regex rules from the fixture eggs.
    (
        r"required|regex:/^([\w\d._-]+)(\.jar)$/",
        "server.jar",
        true,
    ),
    (
        r"required|regex:/^([\w\d._-]+)(\.jar)$/",
        "paper-1.21.jar",
        true,
    ),
    (
        r"required|regex:/^([\w\d._-]+)(\.jar)$/",
        "server.zip",
        false,
    ),
    (
        r"required|regex:/^([\w\d._-]+)(\.jar)$/",
        "../evil.jar",
        false,
    ),
    (r"nullable|regex:/^[0-9\.\-]+$/", "", true),
    (r"nullable|regex:/^[0-9\.\-]+$/", "1.20.4", true),
    (r"nullable|regex:/^[0-9\.\-]+$/", "1.20 4", false),
    // PHP flags and a pipe inside the pattern.
    ("regex:/^[a-z]+$/i", "ABC", true),
    ("regex:/^(alpha|beta)$/", "beta", true),
    ("regex:/^(alpha|beta)$/", "gamma", false),
    ("not_regex:/^root$/", "root", false),
    ("not_regex:/^root$/", "steve", true),
];

#[test]
fn every_supported_rule_validates_per_laravel() {
    let mut wrong = Vec::new();
    for (rules, value, passes) in CASES {
        let var = variable(rules);
        assert!(
            var.rules.problems().is_empty(),
            "{rules}: {:?}",
            var.rules.problems()
        );
        let result = var.validate(value);
        if result.is_ok() != *passes {
            wrong.push(format!(
                "{rules} with {value:?}: expected pass={passes}, got {result:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn messages_name_the_variable() {
    let errors = variable("required|string|max:5")
        .validate("abcdefg")
        .expect_err("too long");
    assert_eq!(
        errors,
        ["Server Name (SERVER_NAME) must be at most 5 characters."]
    );
    let errors = variable("required|integer|between:1,10")
        .validate("11")
        .expect_err("too big");
    assert_eq!(
        errors,
        ["Server Name (SERVER_NAME) must be between 1 and 10."]
    );
    let errors = variable("required|string")
        .validate("")
        .expect_err("missing");
    assert_eq!(errors, ["Server Name (SERVER_NAME) is required."]);
}

#[test]
fn unknown_and_untranslatable_rules_fail_closed() {
    for rules in [
        "string|frobnicate:3",
        "max:abc",
        r"regex:/^(?=a)a$/",
        "regex:/(a)\\1/",
        "in",
    ] {
        let var = variable(rules);
        assert_eq!(var.rules.problems().len(), 1, "{rules}");
        let errors = var.validate("a").expect_err(rules);
        assert!(
            errors[0].contains("cannot be checked") && errors[0].contains("SERVER_NAME"),
            "{rules}: {errors:?}"
        );
    }
}

#[test]
fn unknown_rules_are_import_warnings_and_survive_export() {
    let egg = r#"{"meta":{"version":"PTDL_v2"},"name":"W","startup":"./run","config":{"files":"{}","startup":"{}","logs":"{}","stop":"^C"},
        "variables":[{"name":"Level","env_variable":"LEVEL","default_value":"a","user_viewable":true,"user_editable":true,"rules":"required|frobnicate:3"}]}"#;
    let imported = import_egg(egg).expect("imports");
    let rule_warnings: Vec<_> = imported
        .warnings
        .iter()
        .filter(|w| w.field.starts_with("variables"))
        .collect();
    assert_eq!(rule_warnings.len(), 1, "{:?}", imported.warnings);
    assert_eq!(rule_warnings[0].field, "variables[0].rules");
    assert!(
        rule_warnings[0].message.contains("Level (LEVEL)"),
        "{}",
        rule_warnings[0]
    );
    let exported = cap_templates::export_ptdl_v2(&imported.alt, "now");
    assert!(exported.contains("required|frobnicate:3"), "{exported}");
}

#[test]
fn fixture_regex_rules_all_compile() {
    let mut regexes = 0;
    for (name, text) in egg_files() {
        let imported = import_egg(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for v in &imported.alt.variables {
            for rule in v.rules.iter().filter(|r| r.text().starts_with("regex:")) {
                assert!(rule.is_supported(), "{name}: {}", rule.text());
                regexes += 1;
            }
        }
    }
    assert!(
        regexes >= 2,
        "expected the fixtures' regex rules, found {regexes}"
    );
}
