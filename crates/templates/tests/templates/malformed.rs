//! Malformed eggs give an error that names the field, never a panic.

use cap_templates::{import_egg, Error};

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
            broken(r#""stop": "stop""#, r#""stop": "^NOPE""#),
            "config.stop",
            "unknown signal",
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
fn duplicate_env_names_are_refused() {
    let twice = broken(
        r#""variables": ["#,
        r#""variables": [{"name": "Jar again", "env_variable": "SERVER_JARFILE", "rules": ""}, "#,
    );
    let (field, message) = field_error(&twice);
    assert_eq!(field, "variables[1].env_variable");
    assert!(message.contains("more than one"), "{message}");
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
