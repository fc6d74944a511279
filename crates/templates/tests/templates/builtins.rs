//! The built-in templates import, validate their own defaults, render, and the Luanti
//! one really runs Debian's `minetest-server` when it is installed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cap_templates::{
    builtins, edit_text, export_ptdl_v2, import_egg, render_config_files, render_startup,
    QueryProtocol, RenderContext, Signal, StopAction,
};

#[test]
fn builtins_import_cleanly_and_defaults_pass_their_rules() {
    let all = builtins().expect("built-ins import");
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Test Game",
            "Luanti (Minetest)",
            "Minecraft: Paper",
            "OpenArena",
            "Teeworlds"
        ]
    );
    let mut uuids: Vec<&str> = all.iter().filter_map(|a| a.uuid.as_deref()).collect();
    uuids.sort_unstable();
    uuids.dedup();
    assert_eq!(uuids.len(), 5, "each built-in has its own fixed uuid");
    for alt in &all {
        for v in &alt.variables {
            assert!(
                v.validate(&v.default_value).is_ok(),
                "{}: {} default",
                alt.name,
                v.env_variable
            );
        }
        let again = import_egg(&export_ptdl_v2(alt, "now"))
            .expect("re-imports")
            .alt;
        assert_eq!(&again, alt);
        let rendered = render_startup(alt, &RenderContext::default());
        assert!(
            rendered.unresolved.is_empty(),
            "{}: {:?}",
            alt.name,
            rendered.unresolved
        );
        for file in render_config_files(alt, &RenderContext::default()) {
            assert!(
                file.unresolved.is_empty(),
                "{}: {:?}",
                alt.name,
                file.unresolved
            );
        }
    }
    let test_game = &all[0];
    assert_eq!(test_game.stop, StopAction::Command("stop".into()));
    let matcher = test_game.startup_detection.matcher().expect("matcher");
    assert!(matcher.is_match("Done (0.010s)! For help, type \"help\""));
    assert!(matches!(
        all[1].stop,
        StopAction::Signal {
            signal: Signal::Interrupt,
            ..
        }
    ));
}

const MINETEST: &str = "/usr/games/minetestserver";

#[test]
fn luanti_builtin_runs_a_real_server_and_stops_on_sigint() {
    if !std::path::Path::new(MINETEST).exists() {
        eprintln!("SKIPPED: {MINETEST} not installed (apt-get install minetest-server)");
        return;
    }
    let alt = builtins()
        .expect("built-ins")
        .into_iter()
        .find(|a| a.name.starts_with("Luanti"))
        .expect("Luanti built-in");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let mut ctx = RenderContext {
        port,
        ip: "127.0.0.1".into(),
        memory_mb: 1024,
        timezone: "UTC".into(),
        ..Default::default()
    };
    ctx.variables
        .insert("SERVER_NAME".into(), "Test world".into());
    let rendered = render_startup(&alt, &ctx);
    let mut env = rendered.env.clone();
    env.insert(
        "PATH".into(),
        "/usr/local/bin:/usr/bin:/bin:/usr/games".into(),
    );
    env.insert("HOME".into(), dir.path().display().to_string());

    let install = Command::new(&alt.install.entrypoint)
        .arg("-c")
        .arg(&alt.install.script)
        .env_clear()
        .envs(&env)
        .current_dir(dir.path())
        .output()
        .expect("install script runs");
    assert!(
        install.status.success(),
        "install: {}",
        String::from_utf8_lossy(&install.stderr)
    );

    for file in render_config_files(&alt, &ctx) {
        let path = dir.path().join(&file.path);
        let current = std::fs::read_to_string(&path).ok();
        let text = edit_text(file.parser, current.as_deref(), &file.edits).expect("edit");
        std::fs::write(&path, text).expect("write config");
    }
    let conf = std::fs::read_to_string(dir.path().join("minetest.conf")).expect("conf");
    assert!(conf.contains("server_name = Test world"), "{conf}");
    assert!(conf.contains(&format!("port={port}")), "{conf}");

    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&rendered.command)
        .env_clear()
        .envs(&env)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("minetestserver starts");
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let matcher = alt.startup_detection.matcher().expect("matcher");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let done = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if matcher.is_match(&line) => break Some(line),
            Ok(line) => seen.push(line),
            Err(_) => break None,
        }
    };
    let pgid = child.id().to_string();
    let signal = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status();
    let Some(done) = done else {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = child.wait();
        panic!("no done line within 60 s; output:\n{}", seen.join("\n"));
    };
    assert!(done.contains(&format!(":{port}")), "{done}");
    assert!(signal.is_ok_and(|s| s.success()));
    let stop_deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > stop_deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .status();
            panic!("minetestserver ignored SIGINT for 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    // The shell in front of the server dies of the same SIGINT once the server has exited.
    assert!(
        status.success() || status.signal() == Some(2),
        "exit {status:?}; output after done:\n{}",
        rest.join("\n")
    );
    let group_left = Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
    assert!(
        group_left.is_ok_and(|s| !s.success()),
        "processes of the server are still running"
    );
    assert!(
        rest.iter().any(|l| l.contains("Shutting down")),
        "{}",
        rest.join("\n")
    );
}

#[test]
fn game_queries_are_read_from_eggs_and_checked() {
    let all = builtins().expect("built-ins");
    let query_of = |name: &str| {
        all.iter()
            .find(|a| a.name == name)
            .and_then(|a| a.game_query)
            .map(|q| (q.protocol, q.port(27960)))
    };
    assert_eq!(
        query_of("OpenArena"),
        Some((QueryProtocol::Quake3, Some(27960)))
    );
    assert_eq!(
        query_of("Teeworlds"),
        Some((QueryProtocol::Teeworlds, Some(27960)))
    );
    assert_eq!(
        query_of("Minecraft: Paper"),
        Some((QueryProtocol::Minecraft, Some(27960)))
    );
    assert_eq!(query_of("Test Game"), None);
    let openarena = all.iter().find(|a| a.name == "OpenArena").unwrap();
    let egg = export_ptdl_v2(openarena, "now");
    let far = egg.replace("\"port_offset\": 0", "\"port_offset\": 101");
    assert_ne!(far, egg);
    let refused = import_egg(&far).expect_err("offset too far");
    assert!(refused.to_string().contains("port_offset"), "{refused}");
    let unknown = egg.replace("\"quake3\"", "\"doom\"");
    assert!(import_egg(&unknown).is_err());
}
