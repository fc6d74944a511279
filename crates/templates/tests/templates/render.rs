//! Startup and config rendering against real eggs, run through a real shell.

use std::process::Command;

use cap_templates::{edit_text, import_egg, render_config_files, render_startup, RenderContext};
use serde_json::json;

use crate::support::egg_files;

fn egg(name: &str) -> cap_templates::Alt {
    let (_, text) = egg_files()
        .into_iter()
        .find(|(file, _)| file == name)
        .unwrap_or_else(|| panic!("fixture {name} missing"));
    import_egg(&text).expect("imports").alt
}

fn context() -> RenderContext {
    RenderContext {
        server_uuid: "11111111-2222-4333-8444-555555555555".into(),
        memory_mb: 2048,
        ip: "0.0.0.0".into(),
        port: 25600,
        location: "home".into(),
        timezone: "UTC".into(),
        ..Default::default()
    }
}

#[test]
fn paper_startup_renders_for_display_and_for_the_shell() {
    let alt = egg("minecraft_java_paper_egg-paper.json");
    let mut ctx = context();
    ctx.variables
        .insert("SERVER_JARFILE".into(), "paper.jar".into());
    let rendered = render_startup(&alt, &ctx);
    assert_eq!(
        rendered.display,
        "java -Xms128M -Xmx2048M -Dterminal.jline=false -Dterminal.ansi=true -jar paper.jar"
    );
    assert_eq!(
        rendered.command,
        "java -Xms128M -Xmx${SERVER_MEMORY}M -Dterminal.jline=false -Dterminal.ansi=true -jar ${SERVER_JARFILE}"
    );
    assert!(rendered.unresolved.is_empty());
    assert_eq!(rendered.env["SERVER_JARFILE"], "paper.jar");
    assert_eq!(rendered.env["BUILD_NUMBER"], "latest");
    assert_eq!(rendered.env["SERVER_PORT"], "25600");
    assert_eq!(rendered.env["P_SERVER_UUID"], ctx.server_uuid);
    assert_eq!(rendered.env["TZ"], "UTC");
    assert_eq!(rendered.env["STARTUP"], alt.startup());
}

#[test]
fn values_reach_the_shell_as_data_not_code() {
    let alt = egg("generic_java_egg-java.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ctx = context();
    let hostile = "x.jar; touch pwned $(touch pwned2)";
    ctx.variables.insert("JARFILE".into(), hostile.into());
    ctx.startup = Some("printf '%s|' {{JARFILE}} {{server.build.default.port}} {{NOPE}}".into());
    let rendered = render_startup(&alt, &ctx);
    assert_eq!(rendered.unresolved, ["NOPE"]);
    let output = Command::new("sh")
        .arg("-c")
        .arg(&rendered.command)
        .env_clear()
        .envs(&rendered.env)
        .current_dir(dir.path())
        .output()
        .expect("sh runs");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "x.jar;|touch|pwned|$(touch|pwned2)|25600|{{NOPE}}|"
    );
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
}

#[test]
fn config_placeholders_render_and_apply_to_real_files() {
    let alt = egg("minecraft_java_paper_egg-paper.json");
    let files = render_config_files(&alt, &context());
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(file.path, "server.properties");
    assert!(file.unresolved.is_empty());
    assert_eq!(file.edits[1].value, json!("25600"));

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(&file.path);
    std::fs::write(&path, "# settings\nserver-port=25565\nmotd=hi\n").expect("write");
    let current = std::fs::read_to_string(&path).expect("read");
    let updated = edit_text(file.parser, Some(&current), &file.edits).expect("edits");
    std::fs::write(&path, &updated).expect("write");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "# settings\nserver-port=25600\nmotd=hi\nserver-ip=0.0.0.0\nquery.port=25600\n"
    );
}

#[test]
fn env_placeholders_in_every_style() {
    let muse = egg("bots_discord_muse_egg-muse.json");
    let mut ctx = context();
    ctx.variables.insert("discord_token".into(), "tok".into());
    let files = render_config_files(&muse, &ctx);
    assert_eq!(files[0].edits[0].value, json!("DISCORD_TOKEN=tok"));
    assert!(files[0].unresolved.is_empty(), "{:?}", files[0].unresolved);

    let truck = egg("steamcmd_servers_truck-simulator_euro-truck-simulator2_egg-euro-truck-simulator2-dedicated-server.json");
    let files = render_config_files(&truck, &ctx);
    assert_eq!(
        files[0].path,
        ".local/share/Euro Truck Simulator 2/server_config.sii"
    );
    assert!(files[0].unresolved.is_empty(), "{:?}", files[0].unresolved);

    let mut alt = muse.clone();
    alt.config_files[0].find.insert(
        "BIND".into(),
        cap_templates::Replacement::Value(json!("{{config.docker.interface}}:{{server.allocations.default.port}} {{server.build.memory}} {{server.nope}}")),
    );
    ctx.node
        .insert("docker.network.interface".into(), "172.18.0.1".into());
    let files = render_config_files(&alt, &ctx);
    let last = files[0].edits.last().expect("edit");
    assert_eq!(last.value, json!("172.18.0.1:25600 2048 {{server.nope}}"));
    assert_eq!(files[0].unresolved, ["server.nope"]);
}

#[test]
fn extra_ports_reach_the_environment_and_survive_an_egg_round_trip() {
    let mut alt = egg("generic_java_egg-java.json");
    alt.extra_port_offsets = vec![1, 10];
    alt.check().expect("offsets 1 and 10 are valid");
    let again = import_egg(&cap_templates::export_ptdl_v2(
        &alt,
        "2026-01-01T00:00:00+00:00",
    ))
    .expect("exported egg imports")
    .alt;
    assert_eq!(again.extra_port_offsets, [1, 10]);

    let mut ctx = context();
    ctx.allocation_limit = 4;
    ctx.additional = vec![
        cap_templates::Binding {
            ip: "0.0.0.0".into(),
            port: 25601,
        },
        cap_templates::Binding {
            ip: "203.0.113.7".into(),
            port: 25610,
        },
    ];
    ctx.startup = Some("echo -sp{{SERVER_PORT}} {{SERVER_PORT_1}} {{SERVER_IP_2}}".into());
    let rendered = render_startup(&alt, &ctx);
    assert!(rendered.unresolved.is_empty(), "{:?}", rendered.unresolved);
    assert_eq!(rendered.display, "echo -sp25600 25601 203.0.113.7");
    assert_eq!(rendered.env["SERVER_PORT_2"], "25610");
    assert_eq!(rendered.env["SERVER_PORTS"], "25600,25601,25610");
    assert_eq!(rendered.env["P_SERVER_ALLOCATION_LIMIT"], "4");
    assert!(!rendered.env.contains_key("SERVER_PORT_3"));

    for (offsets, field) in [
        (vec![0], "extra_port_offsets[0]"),
        (vec![1, 1], "extra_port_offsets[1]"),
        (vec![101], "extra_port_offsets[0]"),
        ((1..=17).collect(), "extra_port_offsets"),
    ] {
        alt.extra_port_offsets = offsets;
        match alt.check() {
            Err(cap_templates::Error::Field { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}
