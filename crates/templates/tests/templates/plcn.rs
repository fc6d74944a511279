//! Pelican eggs: PLCN_v3 YAML with nested config, list rules and several startup
//! commands, and its round-trip through PTDL_v2.

use cap_templates::{export_ptdl_v2, import_egg, EggFormat, Replacement, Signal, StopAction};
use serde_json::json;

const PELICAN_YAML: &str = r#"_comment: 'DO NOT EDIT: FILE GENERATED AUTOMATICALLY BY PANEL'
meta:
  version: PLCN_v3
  update_url: null
exported_at: '2025-01-15T12:00:00+00:00'
name: 'Vanilla Minecraft'
author: panel@example.com
uuid: 9ac39f3d-0000-4000-8000-000000000001
description: 'Minecraft is a game about placing blocks.'
image: null
tags:
  - minecraft
  - java
features:
  - eula
  - java_version
docker_images:
  'Java 21': 'ghcr.io/pelican-eggs/yolks:java_21'
  'Java 17': 'ghcr.io/pelican-eggs/yolks:java_17'
file_denylist: {  }
startup_commands:
  Default: 'java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}'
  'Low memory': 'java -Xmx512M -jar {{SERVER_JARFILE}}'
config:
  files:
    server.properties:
      parser: properties
      find:
        server-ip: ''
        server-port: '{{server.allocations.default.port}}'
        max-players: 20
        online-mode:
          'false': 'true'
  startup:
    done:
      - ')! For help, type '
      - 'regex:^Done \('
  logs: {  }
  stop: '^SIGTERM'
scripts:
  installation:
    script: |
      #!/bin/ash
      echo installing
    container: 'ghcr.io/pelican-eggs/installers:alpine'
    entrypoint: ash
variables:
  -
    sort: 2
    name: 'Server Jar File'
    description: 'The jar to run.'
    env_variable: SERVER_JARFILE
    default_value: server.jar
    user_viewable: true
    user_editable: true
    rules:
      - required
      - 'regex:/^([\w\d._-]+)(\.jar)$/'
  -
    sort: 1
    name: 'Max players'
    description: ''
    env_variable: MAX_PLAYERS
    default_value: 20
    user_viewable: true
    user_editable: false
    rules:
      - required
      - 'regex:/^(\d|[1-9]\d)$/'
"#;

#[test]
fn pelican_yaml_imports_with_everything() {
    let imported = import_egg(PELICAN_YAML).expect("imports");
    assert_eq!(imported.format, EggFormat::PlcnV3);
    // Only notes about what a node without a container runtime cannot honour.
    let fields: Vec<&str> = imported.warnings.iter().map(|w| w.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "scripts.installation.container",
            "docker_images",
            "features"
        ],
        "{:?}",
        imported.warnings
    );
    let alt = &imported.alt;
    assert_eq!(
        alt.uuid.as_deref(),
        Some("9ac39f3d-0000-4000-8000-000000000001")
    );
    assert_eq!(alt.tags, ["minecraft", "java"]);
    assert_eq!(
        alt.default_image(),
        Some("ghcr.io/pelican-eggs/yolks:java_21")
    );
    assert!(alt.file_denylist.is_empty());
    assert_eq!(alt.startup_commands.len(), 2);
    assert_eq!(
        alt.startup(),
        "java -Xms128M -XX:MaxRAMPercentage=95.0 -jar {{SERVER_JARFILE}}"
    );
    assert_eq!(
        alt.stop,
        StopAction::Signal {
            signal: Signal::Terminate,
            written: "^SIGTERM".into()
        }
    );
    assert_eq!(alt.startup_detection.done.len(), 2);
    let matcher = alt.startup_detection.matcher().expect("compiles");
    assert!(matcher.is_match("[12:00:00 INFO]: Done (3.2s)! For help, type \"help\""));
    assert!(matcher.is_match("Done (1s)"));
    assert!(!matcher.is_match("Loading"));
    let find = &alt.config_files[0].find;
    assert_eq!(find["max-players"], Replacement::Value(json!(20)));
    assert!(
        matches!(&find["online-mode"], Replacement::Conditional(c) if c["false"] == json!("true"))
    );
    assert_eq!(alt.install.script, "#!/bin/ash\necho installing\n");
    assert_eq!(alt.variables[1].default_value, "20");
    assert_eq!(alt.variables[1].sort, Some(1));
    assert_eq!(
        alt.variables[1].rules.texts(),
        ["required", r"regex:/^(\d|[1-9]\d)$/"]
    );
    assert!(alt.variables[1].validate("42").is_ok());
    assert!(alt.variables[1].validate("420").is_err());
    // The icon field is kept.
    assert!(alt.extra.contains_key("image"));
}

#[test]
fn pelican_round_trips_through_ptdl_v2() {
    let first = import_egg(PELICAN_YAML).expect("imports").alt;
    let exported = export_ptdl_v2(&first, "2026-01-01T00:00:00+00:00");
    let value: serde_json::Value = serde_json::from_str(&exported).expect("json");
    assert_eq!(value["meta"]["version"], "PTDL_v2");
    assert_eq!(value["startup"], first.startup());
    // A rule with `|` inside its regex cannot be written in the pipe form.
    assert_eq!(
        value["variables"][1]["rules"],
        json!(["required", r"regex:/^(\d|[1-9]\d)$/"])
    );
    assert_eq!(
        value["variables"][0]["rules"],
        json!(r"required|regex:/^([\w\d._-]+)(\.jar)$/")
    );
    let second = import_egg(&exported).expect("re-imports");
    assert_eq!(second.format, EggFormat::PtdlV2);
    assert_eq!(second.alt, first);
}

#[test]
fn pelican_json_and_ptdl_v1() {
    let plcn_json = r#"{"meta":{"version":"PLCN_v1"},"name":"P","author":"x","startup":"./run","docker_images":{"a":"img"},
        "config":{"files":"{}","startup":"{\"done\":\"ok\"}","logs":"{}","stop":"^C"},"scripts":{"installation":{"script":null,"container":"c","entrypoint":"bash"}},"variables":[]}"#;
    let imported = import_egg(plcn_json).expect("PLCN_v1 json");
    assert_eq!(imported.format, EggFormat::PlcnV1);
    assert_eq!(imported.alt.install.script, "");

    let v1 = r#"{"meta":{"version":"PTDL_v1"},"name":"Old","author":"x","image":"quay.io/pterodactyl/core:java","startup":"java -jar server.jar",
        "config":{"files":"[]","startup":"{\"done\":\")! For help\",\"userInteraction\":[]}","logs":"{\"custom\":false,\"location\":\"logs/latest.log\"}","stop":"stop"},
        "scripts":{"installation":{"script":"x","container":"alpine","entrypoint":"ash"}},
        "variables":[{"name":"V","description":"d","env_variable":"V","default_value":"1","user_viewable":1,"user_editable":0,"rules":"required|numeric"}]}"#;
    let imported = import_egg(v1).expect("PTDL_v1");
    assert_eq!(imported.format, EggFormat::PtdlV1);
    let alt = &imported.alt;
    assert_eq!(alt.default_image(), Some("quay.io/pterodactyl/core:java"));
    assert!(alt.variables[0].user_viewable && !alt.variables[0].user_editable);
    assert_eq!(alt.logs.location.as_deref(), Some("logs/latest.log"));
    assert!(alt.startup_detection.extra.contains_key("userInteraction"));
    let again = import_egg(&export_ptdl_v2(alt, "now")).expect("re-imports");
    assert_eq!(&again.alt, alt);
}
