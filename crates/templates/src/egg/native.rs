//! What a node without a container runtime cannot honour in an egg, as import warnings.
//!
//! Eggs are written for Pterodactyl's Wings, which runs the install script as root in a
//! throw-away container with the server's files mounted at `/mnt/server`, and the game in
//! one of the egg's Docker images. A native node runs neither container, so an install
//! that declares one is refused there rather than run on the host.

use crate::egg::ImportWarning;
use crate::model::Alt;

/// Commands that install system packages (and so need root in the install container).
const PACKAGE_MANAGERS: [&str; 6] = ["apt-get", "apt", "apk", "dpkg", "yum", "dnf"];

/// The warnings for `alt`, each naming the egg field it is about.
pub(crate) fn native_warnings(alt: &Alt) -> Vec<ImportWarning> {
    let mut warnings = Vec::new();
    let mut warn = |field: &str, message: String| {
        warnings.push(ImportWarning {
            field: field.to_owned(),
            message,
        })
    };
    let install = &alt.install;
    if !install.script.trim().is_empty() && !install.container.trim().is_empty() {
        warn(
            "scripts.installation.container",
            format!(
                "the install script runs in the container {}; a node without a container \
                 runtime refuses to install servers of this template (clear the install \
                 container only after checking that the script is safe to run on the host)",
                install.container.trim()
            ),
        );
    }
    if install.script.contains("/mnt/server") {
        warn(
            "scripts.installation.script",
            "the install script uses /mnt/server, the server directory as its container sees \
             it; outside a container that is a directory of the host"
                .to_owned(),
        );
    }
    let managers: Vec<&str> = PACKAGE_MANAGERS
        .into_iter()
        .filter(|manager| runs_command(&install.script, manager))
        .collect();
    if !managers.is_empty() {
        warn(
            "scripts.installation.script",
            format!(
                "the install script installs system packages ({}) as root; outside its \
                 container that would change the host, so install what the game needs on \
                 the node yourself",
                managers.join(", ")
            ),
        );
    }
    if !alt.docker_images.is_empty() {
        warn(
            "docker_images",
            "a node without a container runtime does not use the Docker images: the startup \
             command runs on the host, where the programs it calls must be installed"
                .to_owned(),
        );
    }
    if let Some(features) = alt.features.as_ref().filter(|f| !f.is_empty()) {
        warn(
            "features",
            format!(
                "the panel does not implement the egg features {}; they are kept but ignored",
                features.join(", ")
            ),
        );
    }
    warnings
}

/// Whether `command` appears in `script` as a command word (not inside another word).
fn runs_command(script: &str, command: &str) -> bool {
    script.lines().any(|line| {
        let code = line.split('#').next().unwrap_or_default();
        code.split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | '`'))
            .any(|word| word == command)
    })
}
