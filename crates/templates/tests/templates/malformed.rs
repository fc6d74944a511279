//! Malformed eggs give an error that names the field, never a panic.

use cap_templates::{import_egg, Error, Signal, StopAction};

const GOOD: &str = r#"{
    "meta": {"version": "PTDL_v2", "update_url": null},
    "name": "Good",
    "author": "a@example.com",
    "docker_images": {"Java 21": "ghcr.io/example/java:21"},
    "startup": "java -jar {{SERVER_JARFILE}}",
    "config": {"files": "{\"server.properties\":{\"parser\":\"properties\",\"find\":{\"server-port\":\"{{server.build.default.port}}\"}}}", "startup": "{\"done\":\"Done (\"}", "logs": "{}", "stop": "stop"},
    "scripts": {"installation": {"script": "echo hi", "container": "debian", "entrypoint": "bash"}},
    "variables": [
        {"name": "Jar", "description": "", "env_variable": "SERVER_JARFILE", "default_value": "server.jar", "user_viewable": true, "user_editable": true, "rules": "required|string"}
    ]
}"#;

fn field_error(text: &str) -> (String, String) {
    match import_egg(text) {
        Err(Error::Field { field, message }) => (field, message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn broken(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "fixture lacks {from}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_base_egg_is_fine() {
    import_egg(GOOD).expect("imports");
}

#[test]
fn each_malformation_names_its_field() {
    let cases: Vec<(String, &str, &str)> = vec![
        (broken(r#""name": "Good","#, ""), "name", "missing"),
        (
            broken(r#""version": "PTDL_v2""#, r#""version": "EGG_v9""#),
            "meta.version",
            "not a known",
        ),
        (
            broken(r#""stop": "stop""#, r#""stop": 5"#),
            "config.stop",
            "not a number",
        ),
        (
            broken(r#""files": "{\"server"#, r#""files": "{oops\"server"#),
            "config.files",
            "invalid JSON",
        ),
        (
            broken(
                r#""startup": "{\"done\":\"Done (\"}""#,
                r#""startup": "[1,2]""#,
            ),
            "config.startup",
            "JSON object",
        ),
        (
            broken(r#"\"parser\":\"properties\""#, r#"\"parser\":\"toml\""#),
            "config.files[\"server.properties\"].parser",
            "not a parser",
        ),
        (
            broken(
                r#",\"find\":{\"server-port\":\"{{server.build.default.port}}\"}"#,
                "",
            ),
            "config.files[\"server.properties\"].find",
            "missing",
        ),
        (
            broken(r#"{\"server-port\""#, r#"{\"a\":[1],\"server-port\""#),
            "config.files[\"server.properties\"].find[\"a\"]",
            "list",
        ),
        (
            broken(r#""rules": "required|string""#, r#""rules": 5"#),
            "variables[0].rules",
            "rule string",
        ),
        (
            broken(
                r#""env_variable": "SERVER_JARFILE""#,
                r#""env_variable": "BAD NAME""#,
            ),
            "variables[0].env_variable",
            "letters",
        ),
        (
            broken(
                r#""user_viewable": true"#,
                r#""user_viewable": "sometimes""#,
            ),
            "variables[0].user_viewable",
            "true or false",
        ),
        (
            broken(r#""variables": ["#, r#""variables": [5, "#),
            "variables[0]",
            "mapping",
        ),
        (
            broken(
                r#""docker_images": {"Java 21": "ghcr.io/example/java:21"}"#,
                r#""docker_images": "java""#,
            ),
            "docker_images",
            "mapping",
        ),
        (
            broken(r#""startup": "java -jar {{SERVER_JARFILE}}","#, ""),
            "startup",
            "missing",
        ),
        (
            broken(
                r#""config": {"files": ""#,
                r#""config": {"files": "{\"../../etc/passwd\":{\"parser\":\"file\",\"find\":{}}}", "old_files": ""#,
            ),
            "config.files[\"../../etc/passwd\"]",
            "inside the server directory",
        ),
        (
            broken(r#"\"done\":\"Done (\""#, r#"\"done\":\"regex:([\""#),
            "config.startup.done[0]",
            "invalid regex",
        ),
    ];
    for (text, field, message) in cases {
        let (got_field, got_message) = field_error(&text);
        assert_eq!(got_field, field, "message was: {got_message}");
        assert!(got_message.contains(message), "{field}: {got_message}");
    }
}

#[test]
fn a_repeated_env_name_keeps_the_first_variable_and_warns() {
    let twice = broken(
        r#""variables": ["#,
        r#""variables": [{"name": "Jar first", "env_variable": "SERVER_JARFILE", "default_value": "first.jar", "rules": ""}, "#,
    );
    let imported = import_egg(&twice).expect("imports, as Wings does");
    assert_eq!(imported.alt.variables.len(), 1);
    assert_eq!(imported.alt.variables[0].default_value, "first.jar");
    let warning = imported
        .warnings
        .iter()
        .find(|w| w.field == "variables[1].env_variable")
        .unwrap_or_else(|| panic!("a warning: {:?}", imported.warnings));
    assert!(
        warning
            .message
            .contains("Jar uses SERVER_JARFILE, like the earlier variable Jar first"),
        "{}",
        warning.message
    );
    // A template given whole (not an egg) must not carry one twice.
    let mut alt = imported.alt;
    alt.variables.push(alt.variables[0].clone());
    let err = alt.check().expect_err("duplicate env names");
    assert!(err.to_string().contains("more than one"), "{err}");
}

#[test]
fn a_caret_before_something_that_is_not_a_signal_is_a_console_command() {
    let imported = import_egg(&broken(r#""stop": "stop""#, r#""stop": "^X""#)).expect("imports");
    assert_eq!(imported.alt.stop, StopAction::Command("^X".into()));
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.field == "config.stop" && w.message.contains("written to the console")),
        "{:?}",
        imported.warnings
    );
    let signal = import_egg(&broken(r#""stop": "stop""#, r#""stop": "^^C""#)).expect("imports");
    assert!(matches!(
        signal.alt.stop,
        StopAction::Signal {
            signal: Signal::Interrupt,
            ..
        }
    ));
}

#[test]
fn file_denylist_may_be_one_text() {
    let with = |value: &str| {
        let text = broken(
            r#""startup": "java"#,
            &format!(r#""file_denylist": {value}, "startup": "java"#),
        );
        import_egg(&text).expect("imports").alt.file_denylist
    };
    assert_eq!(with(r#""*.jar""#), ["*.jar"]);
    assert_eq!(with(r#""""#), Vec::<String>::new());
    assert_eq!(
        with(r#""*.jar\n config/secret.txt\n""#),
        ["*.jar", "config/secret.txt"]
    );
    assert_eq!(with(r#"["a", "", "b"]"#), ["a", "b"]);
}

#[test]
fn unparseable_documents_and_limits() {
    assert!(matches!(
        import_egg("{\"meta\": "),
        Err(Error::Syntax { format: "JSON", .. })
    ));
    assert!(matches!(
        import_egg("a: [b"),
        Err(Error::Syntax { format: "YAML", .. })
    ));
    assert!(matches!(import_egg("   "), Err(Error::Field { .. })));
    assert!(matches!(
        import_egg("[1, 2]"),
        Err(Error::Field { .. }) | Err(Error::Syntax { .. })
    ));
    let huge = " ".repeat(cap_templates::MAX_EGG_BYTES + 1);
    assert!(matches!(import_egg(&huge), Err(Error::Field { .. })));
    let message = import_egg("{\"meta\": ").expect_err("broken").to_string();
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn truncations_of_real_text_never_panic() {
    for cut in (0..GOOD.len()).step_by(7) {
        if GOOD.is_char_boundary(cut) {
            let _ = import_egg(&GOOD[..cut]);
        }
    }
}
