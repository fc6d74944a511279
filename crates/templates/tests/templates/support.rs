//! Shared helpers: locating the fixture eggs.

use std::path::PathBuf;

/// The community egg fixtures: `$CAP_EGGS_DIR`, else `<repo>/../shared/eggs`.
/// Panics (failing the test) when the directory is missing or holds no eggs, so the
/// suite never passes without having looked at them.
pub fn egg_files() -> Vec<(String, String)> {
    let dir = std::env::var_os("CAP_EGGS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eggs"));
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "egg fixtures not found at {} ({e}); set CAP_EGGS_DIR to the folder of community eggs",
            dir.display()
        )
    });
    let mut eggs: Vec<(String, String)> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, text)
        })
        .collect();
    eggs.sort();
    assert!(
        !eggs.is_empty(),
        "no *.json eggs in {}; the fixtures are required",
        dir.display()
    );
    eggs
}
