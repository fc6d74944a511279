//! Every fixture egg imports, round-trips and has parseable rules.

use cap_templates::{export_ptdl_v2, import_egg};
use serde_json::Value;

use crate::support::egg_files;

/// Removes what is representational only: the banner, the export time, Windows line
/// endings in the install script (converted at import), and the JSON formatting of
/// `config.*` strings (parsed here; an empty list, null or empty string means an empty
/// object, and a single done pattern equals a one-item list).
fn normalise(mut egg: Value) -> Value {
    if let Some(root) = egg.as_object_mut() {
        root.remove("_comment");
        root.remove("exported_at");
    }
    if let Some(Value::String(text)) = egg.pointer_mut("/scripts/installation/script") {
        *text = text.replace("\r\n", "\n");
    }
    if let Some(config) = egg.get_mut("config").and_then(Value::as_object_mut) {
        for key in ["files", "startup", "logs"] {
            let parsed = match config.get(key) {
                Some(Value::String(text)) if !text.trim().is_empty() => {
                    serde_json::from_str(text).unwrap_or_else(|e| panic!("config.{key}: {e}"))
                }
                Some(Value::Object(map)) => Value::Object(map.clone()),
                _ => Value::Object(Default::default()),
            };
            let mut parsed = match parsed {
                Value::Array(items) if items.is_empty() => Value::Object(Default::default()),
                other => other,
            };
            if key == "startup" {
                if let Some(done) = parsed.get_mut("done") {
                    if let Value::String(one) = done {
                        *done = Value::Array(vec![Value::String(one.clone())]);
                    }
                }
            }
            config.insert(key.to_owned(), parsed);
        }
    }
    egg
}

#[test]
fn every_fixture_egg_imports_round_trips_and_parses_rules() {
    let eggs = egg_files();
    let mut failures = Vec::new();
    let (mut imported, mut round_tripped, mut variables, mut rules, mut warnings) = (0, 0, 0, 0, 0);
    let mut bad_defaults = Vec::new();
    for (name, text) in &eggs {
        let first = match import_egg(text) {
            Ok(first) => first,
            Err(e) => {
                failures.push(format!("{name}: import failed: {e}"));
                continue;
            }
        };
        imported += 1;
        warnings += first.warnings.len();
        for w in &first.warnings {
            println!("{name}: warning: {w}");
        }
        for variable in &first.alt.variables {
            variables += 1;
            rules += variable.rules.iter().count();
            if let Some(rule) = variable.rules.iter().find(|r| !r.is_supported()) {
                failures.push(format!(
                    "{name}: {} rule {:?} not supported",
                    variable.env_variable,
                    rule.text()
                ));
            }
            if let Err(errors) = variable.validate(&variable.default_value) {
                bad_defaults.push(format!(
                    "{name}: default of {}: {}",
                    variable.env_variable,
                    errors.join(" ")
                ));
            }
        }

        let exported = export_ptdl_v2(&first.alt, "2026-01-01T00:00:00+00:00");
        let second = match import_egg(&exported) {
            Ok(second) => second,
            Err(e) => {
                failures.push(format!("{name}: re-import failed: {e}"));
                continue;
            }
        };
        if second.alt != first.alt {
            failures.push(format!(
                "{name}: model changed on round-trip:\n{:#?}\n{:#?}",
                first.alt, second.alt
            ));
            continue;
        }
        let original: Value = serde_json::from_str(text).expect("fixture is JSON");
        let exported_value: Value = serde_json::from_str(&exported).expect("export is JSON");
        if normalise(original.clone()) != normalise(exported_value) {
            failures.push(format!(
                "{name}: export differs from the original egg:\n{exported}"
            ));
            continue;
        }
        // Order carries meaning: the first Docker image is the default.
        let original_images: Vec<&str> = first
            .alt
            .docker_images
            .values()
            .map(String::as_str)
            .collect();
        let reexported_images: Vec<&str> = second
            .alt
            .docker_images
            .values()
            .map(String::as_str)
            .collect();
        assert_eq!(
            original_images, reexported_images,
            "{name}: docker image order"
        );
        round_tripped += 1;
    }
    println!(
        "{} eggs: {imported} imported, {round_tripped} round-tripped; {variables} variables, {rules} rules, {warnings} warnings",
        eggs.len()
    );
    println!(
        "{} default values that their own rules refuse:",
        bad_defaults.len()
    );
    for line in &bad_defaults {
        println!("  {line}");
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(round_tripped, eggs.len());
}
