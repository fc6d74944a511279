//! Config-file edits for each parser against sample files: the edited keys change,
//! unrelated keys (and comments, where the format has them) stay.

use cap_templates::{edit_text, ConfigParser, Edit};
use serde_json::{json, Value};

fn set(key: &str, value: Value) -> Edit {
    Edit {
        key: key.into(),
        value,
        if_value: None,
    }
}

fn when(key: &str, current: &str, value: Value) -> Edit {
    Edit {
        key: key.into(),
        value,
        if_value: Some(current.into()),
    }
}

fn edit(parser: ConfigParser, text: Option<&str>, edits: &[Edit]) -> String {
    edit_text(parser, text, edits).unwrap_or_else(|e| panic!("{parser}: {e}"))
}

const SERVER_PROPERTIES: &str = "#Minecraft server properties\n#Mon Jan 01 00:00:00 UTC 2024\nenable-jmx-monitoring=false\nserver-ip=127.0.0.1\n# the port\nserver-port = 25565\nmotd=A Minecraft Server\nquery.port=25565\n\nlevel-name=world\n";

#[test]
fn properties_keep_comments_order_and_spacing() {
    let out = edit(
        ConfigParser::Properties,
        Some(SERVER_PROPERTIES),
        &[
            set("server-ip", json!("0.0.0.0")),
            set("server-port", json!("25600")),
            set("query.port", json!(25600)),
            set("motd", json!("§aWelcome")),
            set("new-key", json!("added")),
        ],
    );
    assert_eq!(
        out,
        "#Minecraft server properties\n#Mon Jan 01 00:00:00 UTC 2024\nenable-jmx-monitoring=false\nserver-ip=0.0.0.0\n# the port\nserver-port = 25600\nmotd=\\u00A7aWelcome\nquery.port=25600\n\nlevel-name=world\nnew-key=added\n"
    );
}

#[test]
fn properties_conditional_continuation_crlf_and_new_file() {
    let text = "a=1\r\nlong=first \\\r\n   second\r\nb=2\r\n";
    let out = edit(
        ConfigParser::Properties,
        Some(text),
        &[
            when("a", "1", json!("one")),
            when("b", "9", json!("nine")),
            when("missing", "x", json!("never")),
            set("long", json!("short")),
        ],
    );
    assert_eq!(out, "a=one\r\nlong=short\r\nb=2\r\n");
    let out = edit(
        ConfigParser::Properties,
        None,
        &[set("eula", json!("true"))],
    );
    assert_eq!(out, "eula=true\n");
}

#[test]
fn file_parser_replaces_lines_by_prefix() {
    let cfg =
        "// comment\n//set net_port \"27960\"\nhostname \"old\"\nsv_password \"\"\r\nunrelated 1\n";
    let out = edit(
        ConfigParser::File,
        Some(cfg),
        &[
            set("//set net_port \"27960\"", json!("set net_port \"27015\"")),
            set("hostname", json!("hostname \"My Server\"")),
            set("sv_password", json!("sv_password \"secret\"")),
            set("", json!("would wipe every line")),
        ],
    );
    assert_eq!(
        out,
        "// comment\nset net_port \"27015\"\nhostname \"My Server\"\nsv_password \"secret\"\r\nunrelated 1\n"
    );
    // Pterodactyl's file parser only rewrites existing lines.
    assert_eq!(
        edit(ConfigParser::File, None, &[set("a", json!("a=1"))]),
        ""
    );
}

#[test]
fn ini_sections_comments_and_new_keys() {
    let ini = "; top comment\nroot_key = 1\n\n[ServerSettings]\n# players\nMaxPlayers=10\nServerPassword=\n\n[/Script/Engine.GameSession]\nMaxPlayers=10\n";
    let out = edit(
        ConfigParser::Ini,
        Some(ini),
        &[
            set("root_key", json!(2)),
            set("ServerSettings.MaxPlayers", json!("32")),
            set("ServerSettings.AdminPassword", json!("hunter2")),
            set("[/Script/Engine.GameSession].MaxPlayers", json!("64")),
            set("NewSection.key", json!("v")),
            when("ServerSettings.ServerPassword", "nope", json!("x")),
        ],
    );
    assert_eq!(
        out,
        "; top comment\nroot_key = 2\n\n[ServerSettings]\n# players\nMaxPlayers=32\nServerPassword=\nAdminPassword=hunter2\n\n[/Script/Engine.GameSession]\nMaxPlayers=64\n\n[NewSection]\nkey=v\n"
    );
}

#[test]
fn ini_for_minetest_conf_without_sections() {
    let conf = "# Luanti\nserver_name = Old\nmax_users = 15\n";
    let out = edit(
        ConfigParser::Ini,
        Some(conf),
        &[
            set("server_name", json!("New name")),
            set("port", json!("30000")),
        ],
    );
    assert_eq!(
        out,
        "# Luanti\nserver_name = New name\nmax_users = 15\nport=30000\n"
    );
}

#[test]
fn json_dotted_paths_types_and_order() {
    let text = "{\n  \"name\": \"old\",\n  \"max_players\": 0,\n  \"visibility\": {\n    \"public\": true,\n    \"lan\": true\n  },\n  \"tags\": [\"a\"],\n  \"zzz\": \"kept\"\n}\n";
    let out = edit(
        ConfigParser::Json,
        Some(text),
        &[
            set("name", json!("123")),
            set("max_players", json!("16")),
            set("visibility.public", json!("false")),
            set("game.port", json!("34197")),
            set("tags[0]", json!("b")),
        ],
    );
    assert_eq!(
        out,
        "{\n  \"name\": \"123\",\n  \"max_players\": 16,\n  \"visibility\": {\n    \"public\": false,\n    \"lan\": true\n  },\n  \"tags\": [\n    \"b\"\n  ],\n  \"zzz\": \"kept\",\n  \"game\": {\n    \"port\": 34197\n  }\n}\n"
    );
    let created = edit(ConfigParser::Json, None, &[set("port", json!("2000"))]);
    assert_eq!(created, "{\n    \"port\": 2000\n}\n");
    assert!(edit_text(ConfigParser::Json, Some("{broken"), &[]).is_err());
}

#[test]
fn yaml_wildcards_list_indexes_and_unrelated_content() {
    let text = "listeners:\n- host: 127.0.0.1:25577\n  query_port: 25577\n  motd: hello\nservers:\n  lobby:\n    address: localhost:25566\n    restricted: false\n  games:\n    address: localhost:25567\n    restricted: false\nip_forward: false\n";
    let out = edit(
        ConfigParser::Yaml,
        Some(text),
        &[
            set("listeners[0].host", json!("0.0.0.0:25600")),
            set("listeners[0].query_port", json!("25600")),
            set("servers.*.address", json!("127.0.0.1:30000")),
            set("ip_forward", json!("true")),
        ],
    );
    let parsed: serde_json::Value = yaml_value(&out);
    assert_eq!(parsed["listeners"][0]["host"], "0.0.0.0:25600");
    assert_eq!(parsed["listeners"][0]["query_port"], 25600);
    assert_eq!(parsed["listeners"][0]["motd"], "hello");
    assert_eq!(parsed["servers"]["lobby"]["address"], "127.0.0.1:30000");
    assert_eq!(parsed["servers"]["games"]["address"], "127.0.0.1:30000");
    assert_eq!(parsed["servers"]["games"]["restricted"], false);
    assert_eq!(parsed["ip_forward"], true);
    // Key order is kept.
    let order: Vec<&str> = out.lines().filter(|l| !l.starts_with([' ', '-'])).collect();
    assert_eq!(order, ["listeners:", "servers:", "ip_forward: true"]);
    assert!(edit_text(ConfigParser::Yaml, Some("a: [unclosed"), &[]).is_err());
}

fn yaml_value(text: &str) -> serde_json::Value {
    yaml_serde::from_str(text).unwrap_or_else(|e| panic!("edited YAML parses: {e}\n{text}"))
}

#[test]
fn xml_text_attributes_creation_and_comments() {
    let text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Settings>\n  <!-- network -->\n  <Port>7777</Port>\n  <Server name=\"old\"/>\n  <Other>kept</Other>\n</Settings>\n";
    let out = edit(
        ConfigParser::Xml,
        Some(text),
        &[
            set("Settings.Port", json!("7800")),
            set("Settings.Server", json!("[name='My Server']")),
            set("Settings.Limits.MaxPlayers", json!(16)),
            when("Settings.Other", "nope", json!("changed")),
        ],
    );
    assert_eq!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Settings>\n  <!-- network -->\n  <Port>7800</Port>\n  <Server name=\"My Server\"/>\n  <Other>kept</Other>\n<Limits><MaxPlayers>16</MaxPlayers></Limits></Settings>\n"
    );
    let created = edit(ConfigParser::Xml, None, &[set("Config.Port", json!("1"))]);
    assert_eq!(
        created,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Config><Port>1</Port></Config>\n"
    );
    assert!(edit_text(ConfigParser::Xml, Some("<a><b></a>"), &[]).is_err());
}
