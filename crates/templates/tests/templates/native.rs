//! What import changes or warns about for nodes without a container runtime: Windows
//! line endings, install containers, Docker images, `/mnt/server`, package managers.

use std::process::Command;

use cap_templates::import_egg;
use serde_json::Value;

use crate::support::egg_files;

fn install_script(egg: &str) -> String {
    let value: Value = serde_json::from_str(egg).expect("fixture is JSON");
    value["scripts"]["installation"]["script"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn windows_line_endings_of_community_eggs_are_converted_at_import() {
    let mut converted = 0;
    for (name, text) in egg_files() {
        let original = install_script(&text);
        let alt = import_egg(&text).expect("imports").alt;
        assert!(
            !alt.install.script.contains('\r'),
            "{name}: the install script keeps a carriage return"
        );
        assert_eq!(alt.install.script, original.replace("\r\n", "\n"), "{name}");
        if original.contains("\r\n") {
            converted += 1;
        }
        assert!(!alt.startup().contains('\r'), "{name}: startup command");
    }
    assert!(converted > 0, "the fixtures include eggs saved with CRLF");
}

/// A real egg with its install script replaced by a harmless one, saved with CRLF: after
/// import bash runs it as written (before, every line ended in `$'\r'`).
#[test]
fn an_imported_crlf_script_runs_under_bash() {
    let (_, text) = egg_files()
        .into_iter()
        .find(|(name, _)| name == "teeworlds_egg-teeworlds.json")
        .expect("the Teeworlds egg is among the fixtures");
    let mut egg: Value = serde_json::from_str(&text).expect("JSON");
    egg["scripts"]["installation"]["script"] =
        "#!/bin/bash\r\nset -eu\r\nword=installed\r\ncd \"$1\"\r\necho \"$word\" > done.txt\r\necho \"$word\"\r\n".into();
    let alt = import_egg(&egg.to_string()).expect("imports").alt;
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("install.sh");
    std::fs::write(&script, &alt.install.script).expect("write script");
    let output = Command::new("bash")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("run bash");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "installed\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("done.txt")).expect("done.txt"),
        "installed\n"
    );
}

#[test]
fn import_warns_about_what_a_native_node_cannot_honour() {
    let eggs = egg_files();
    let egg = |file: &str| {
        let (_, text) = eggs
            .iter()
            .find(|(name, _)| name == file)
            .unwrap_or_else(|| panic!("{file} is among the fixtures"));
        import_egg(text).expect("imports").warnings
    };
    let teeworlds = egg("teeworlds_egg-teeworlds.json");
    let about = |field: &str| -> Vec<&str> {
        teeworlds
            .iter()
            .filter(|w| w.field == field)
            .map(|w| w.message.as_str())
            .collect()
    };
    let container = about("scripts.installation.container");
    assert_eq!(container.len(), 1, "{teeworlds:?}");
    assert!(
        container[0].contains("ghcr.io/parkervcp/installers:debian")
            && container[0].contains("refuses to install"),
        "{}",
        container[0]
    );
    let script = about("scripts.installation.script").join(" | ");
    assert!(script.contains("/mnt/server"), "{script}");
    assert!(script.contains("system packages (apt)"), "{script}");
    assert_eq!(about("docker_images").len(), 1, "{teeworlds:?}");

    let paper = egg("minecraft_java_paper_egg-paper.json");
    let features: Vec<_> = paper.iter().filter(|w| w.field == "features").collect();
    assert_eq!(features.len(), 1, "{paper:?}");
    assert!(
        features[0]
            .message
            .contains("eula, java_version, pid_limit"),
        "{}",
        features[0].message
    );
    assert!(
        !paper.iter().any(|w| w.message.contains("system packages")),
        "Paper's installer uses no package manager: {paper:?}"
    );
}
