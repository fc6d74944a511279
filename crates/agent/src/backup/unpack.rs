//! Restoring an archive into a server directory, with the file API's jail rules.
//!
//! [`verify`] reads the whole archive once and writes nothing: it checks the SHA-256 of
//! the compressed bytes against the expected one, refuses entries that are absolute,
//! contain `..`, are hard links or special files, or symlinks leading outside the
//! directory, and the total size against the limit. [`extract`] reads it a second time
//! and writes through the jail, symlinks last; it hashes again and says so if the archive
//! changed in between.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use cap_protocol::backup::BackupFormat;
use cap_std::fs::Dir;
use sha2::{Digest, Sha256};

use crate::error::{AgentError, AgentResult};
use crate::files::archive::{
    check_links, create_links, extract_entry, plan, visit_tar, Item, Kind,
};
use crate::files::jail::fs_error;
use crate::files::links::Pending;

/// What the verifying pass learnt.
pub struct Verified {
    links: Pending,
    order: Vec<PathBuf>,
    /// Bytes the archive unpacks to.
    pub total: u64,
}

/// How far an extraction got.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// Files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Hashes the bytes read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Read every entry of the archive in `source`, then the rest of `source`; returns the
/// hex SHA-256 of all its bytes.
fn read_archive(
    source: impl Read,
    format: BackupFormat,
    visit: &mut dyn FnMut(Item, &mut dyn Read) -> AgentResult<()>,
) -> AgentResult<String> {
    let mut hashing = Hashing {
        inner: source,
        hasher: Sha256::new(),
    };
    {
        let decoded: Box<dyn Read + '_> = match format {
            BackupFormat::TarZstd => Box::new(zstd::stream::read::Decoder::new(&mut hashing)?),
            BackupFormat::TarGz => Box::new(flate2::read::GzDecoder::new(&mut hashing)),
        };
        visit_tar(decoded, visit)?;
    }
    io::copy(&mut hashing, &mut io::sink())?;
    Ok(hex::encode(hashing.hasher.finalize()))
}

/// The verifying pass. `view` is the directory symlinks are judged against: the server
/// directory, or an empty one when it is emptied before extracting.
pub fn verify(
    view: &Dir,
    source: impl Read,
    format: BackupFormat,
    checksum: &str,
    max_bytes: u64,
) -> AgentResult<Verified> {
    let mut verified = Verified {
        links: Pending::new(),
        order: Vec::new(),
        total: 0,
    };
    let found = read_archive(source, format, &mut |item, _| {
        let target = plan(Path::new(""), &item)?;
        if let Kind::Symlink(link) = &item.kind {
            verified.order.push(target.clone());
            if verified.links.insert(target, PathBuf::from(link)).is_some() {
                return Err(AgentError::Validation(format!(
                    "archive entry {:?} refused: it appears twice",
                    item.name
                )));
            }
        }
        verified.total = verified.total.saturating_add(item.size);
        if verified.total > max_bytes {
            return Err(AgentError::TooLarge(format!(
                "the backup unpacks to more than the {max_bytes} bytes allowed"
            )));
        }
        Ok(())
    })
    .map_err(|e| AgentError::Validation(format!("{e}; nothing was restored")))?;
    if found != checksum {
        return Err(AgentError::Validation(format!(
            "the archive's checksum does not match (expected {checksum}, found {found}); \
             nothing was restored"
        )));
    }
    check_links(view, &verified.links, &verified.order)
        .map_err(|e| AgentError::Validation(format!("{e}; nothing was restored")))?;
    Ok(verified)
}

/// Remove everything inside the server directory (never following symlinks).
pub fn empty(root: &Dir) -> AgentResult<()> {
    for item in root.entries().map_err(|e| fs_error(e, Path::new("")))? {
        let item = item.map_err(|e| fs_error(e, Path::new("")))?;
        crate::files::remove(root, Path::new(&item.file_name()))?;
    }
    Ok(())
}

/// Remove what stands where the archive's symlinks go (a directory there is an error).
fn replace_links(root: &Dir, verified: &Verified) -> AgentResult<()> {
    for link in &verified.order {
        match root.symlink_metadata(link) {
            Ok(meta) if !meta.is_dir() => root.remove_file(link).map_err(|e| fs_error(e, link))?,
            _ => {}
        }
    }
    Ok(())
}

/// The extracting pass; on failure, the error says what was restored and what not.
pub fn extract(
    root: &Dir,
    source: impl Read,
    format: BackupFormat,
    checksum: &str,
    verified: Verified,
    progress: &mut dyn FnMut(Written),
) -> Result<Written, (Written, AgentError)> {
    let mut written = Written::default();
    let mut failed_at = None;
    check_links(root, &verified.links, &verified.order).map_err(|e| (written, e))?;
    let mut budget = verified.total;
    let found = read_archive(source, format, &mut |item, reader| {
        failed_at = Some(item.name.clone());
        let target = plan(Path::new(""), &item)?;
        let before = budget;
        if extract_entry(root, &target, &item, reader, &mut budget, verified.total)? {
            written.files += 1;
            written.bytes += before - budget;
            progress(written);
        }
        failed_at = None;
        Ok(())
    })
    .map_err(|e| {
        let at = failed_at
            .take()
            .map(|name| format!(" at {name:?}"))
            .unwrap_or_default();
        let e = AgentError::Validation(format!(
            "restored {} files ({} bytes), then failed{at}: {e}; that entry, the ones after \
             it and the archive's symbolic links were not restored",
            written.files, written.bytes
        ));
        (written, e)
    })?;
    if found != checksum {
        return Err((
            written,
            AgentError::Validation(format!(
                "the archive changed while it was restored (checksum {found}); restored {} \
                 files, its symbolic links were not",
                written.files
            )),
        ));
    }
    replace_links(root, &verified)
        .and_then(|()| create_links(root, &verified.links, verified.order))
        .map_err(|e| (written, e))?;
    Ok(written)
}
