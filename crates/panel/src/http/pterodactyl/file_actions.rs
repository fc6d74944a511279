//! File actions beyond reading and writing, Pterodactyl's way: copy (next to the original,
//! as `name copy.ext`), compress (an `archive-<time>.tar.gz` in the root), decompress
//! (into the root) and chmod (octal digits).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use cap_protocol::files::{
    ArchiveFormat, ChmodRequest, CompressRequest, DecompressRequest, FileEntry, MoveRequest,
};
use garde::Validate;
use serde::Deserialize;
use serde_json::Value;

use super::files::{file_object, joined, relative, MAX_BATCH};
use super::servers::scope;
use super::{no_content, ClientResult, Compat};
use crate::auth::Actor;
use crate::error::Error;
use crate::http::extract::ValidJson;
use crate::services::files as service;
use crate::state::AppState;

/// How many `name copy N.ext` names a copy tries before giving up, as Wings does.
const MAX_COPY_NAMES: usize = 50;

#[derive(Debug, Deserialize, Validate)]
pub struct Copy {
    #[garde(length(min = 1, max = 4096))]
    location: String,
}

/// `dir/name.ext` → `dir/name copy.ext` (`n` > 0: `dir/name copy n.ext`).
fn copy_name(path: &str, n: usize) -> String {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let (stem, ext) = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (file, String::new()),
    };
    let suffix = if n == 0 {
        " copy".to_owned()
    } else {
        format!(" copy {n}")
    };
    let name = format!("{stem}{suffix}{ext}");
    if dir.is_empty() {
        name
    } else {
        format!("{dir}/{name}")
    }
}

/// `POST .../files/copy` with `{location}`: a copy beside the file.
pub async fn copy(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Copy>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:write").await?;
    let from = relative(&body.location);
    let dir = from.rsplit_once('/').map_or("", |(d, _)| d);
    let taken: Vec<String> = service::list(&state, &scope.server, dir)
        .await?
        .into_iter()
        .map(|e| e.path)
        .collect();
    let to = (0..MAX_COPY_NAMES)
        .map(|n| copy_name(&from, n))
        .find(|name| !taken.contains(name))
        .ok_or_else(|| Error::Conflict("too many copies of this file exist already".into()))?;
    let request = MoveRequest { from, to };
    service::act(&state, &actor, &scope.server, "copy", &request).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct Compress {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = MAX_BATCH), inner(length(min = 1, max = 4096)))]
    files: Vec<String>,
}

/// `POST .../files/compress` with `{root, files}`: the new archive's file object.
pub async fn compress(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Compress>>,
) -> ClientResult<Json<Value>> {
    let scope = scope(&state, &actor, &server, "file:archive").await?;
    let name = format!(
        "archive-{}.tar.gz",
        chrono::Utc::now().format("%Y-%m-%dT%H%M%S%z")
    );
    let request = CompressRequest {
        paths: body.files.iter().map(|f| joined(&body.root, f)).collect(),
        destination: joined(&body.root, &name),
        format: ArchiveFormat::TarGz,
    };
    let entry: FileEntry =
        service::act_for(&state, &actor, &scope.server, "compress", &request).await?;
    Ok(Json(file_object(&entry)))
}

#[derive(Debug, Deserialize, Validate)]
pub struct Decompress {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = 4096))]
    file: String,
}

/// `POST .../files/decompress` with `{root, file}`: unpacked into `root`.
pub async fn decompress(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Decompress>>,
) -> ClientResult<StatusCode> {
    let scope = scope(&state, &actor, &server, "file:archive").await?;
    let request = DecompressRequest {
        path: joined(&body.root, &body.file),
        destination: Some(relative(&body.root)),
    };
    service::act(&state, &actor, &scope.server, "decompress", &request).await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize, Validate)]
pub struct Chmod {
    #[garde(length(max = 4096))]
    #[serde(default)]
    root: String,
    #[garde(length(min = 1, max = MAX_BATCH), dive)]
    files: Vec<ChmodEntry>,
}

#[derive(Debug, Deserialize, Validate)]
pub struct ChmodEntry {
    #[garde(length(min = 1, max = 4096))]
    file: String,
    /// Octal digits (`755`), as a number or a string.
    #[garde(skip)]
    mode: Value,
}

/// `755` (number or string) → `0o755`.
fn mode_bits(mode: &Value) -> Result<u32, Error> {
    let digits = match mode {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    u32::from_str_radix(&digits, 8)
        .ok()
        .filter(|bits| !digits.is_empty() && digits.len() <= 4 && *bits <= 0o777)
        .ok_or_else(|| Error::validation("files.mode", "must be octal digits from 000 to 777"))
}

/// `POST .../files/chmod` with `{root, files: [{file, mode}]}`.
pub async fn chmod(
    State(state): State<AppState>,
    Compat(actor): Compat<Actor>,
    Path(server): Path<String>,
    Compat(ValidJson(body)): Compat<ValidJson<Chmod>>,
) -> ClientResult<StatusCode> {
    let requests = body
        .files
        .iter()
        .map(|f| {
            Ok(ChmodRequest {
                path: joined(&body.root, &f.file),
                mode: mode_bits(&f.mode)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let scope = scope(&state, &actor, &server, "file:write").await?;
    for request in &requests {
        service::act(&state, &actor, &scope.server, "chmod", request).await?;
    }
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_named_as_wings_names_them() {
        assert_eq!(copy_name("world/level.dat", 0), "world/level copy.dat");
        assert_eq!(copy_name("notes", 2), "notes copy 2");
        assert_eq!(copy_name(".env", 0), ".env copy");
    }

    #[test]
    fn modes_are_octal_digits() {
        assert_eq!(mode_bits(&serde_json::json!(755)).unwrap(), 0o755);
        assert_eq!(mode_bits(&serde_json::json!("0644")).unwrap(), 0o644);
        for bad in [
            serde_json::json!(800),
            serde_json::json!("1777"),
            serde_json::json!(""),
            serde_json::json!(null),
        ] {
            assert!(mode_bits(&bad).is_err(), "{bad}");
        }
    }
}
