//! The local Docker test images (busybox plus the test game), built by
//! `scripts/docker-test-images`; shared by the agent's and the panel's tests.

use std::path::Path;
use std::process::Command;

/// Builds the images unless they are current; false (saying `skipping` and why) when no
/// Docker engine answers and `CAP_REQUIRE_DOCKER` is not set. Panics when the build
/// fails or the engine is required but missing.
pub fn images_built(skipping: &str, testgame: &Path) -> bool {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/docker-test-images");
    let status = Command::new(script)
        .arg(testgame)
        .status()
        .expect("run scripts/docker-test-images");
    match status.code() {
        Some(0) => true,
        Some(3) => {
            eprintln!("{skipping}: no Docker engine answers here");
            false
        }
        _ => panic!("building the Docker test images failed ({status})"),
    }
}
