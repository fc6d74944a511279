//! Compress to and decompress from `.tar.gz` / `.zip` inside the jail.
//!
//! Decompression first reads the whole archive without writing anything and refuses it
//! if any entry is absolute, contains `..`, is a hard link, device, FIFO or socket, is a
//! symlink whose target leaves the server directory (resolved through the links on disk
//! and the archive's other links, see [`super::links`]), or if the total size exceeds the
//! limit. Only then are entries written, through the jail; symlinks are created last so
//! no file is ever written through a link from the same archive.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use cap_protocol::files::{ArchiveFormat, FileEntry};
use cap_std::fs::{Dir, MetadataExt, Permissions, PermissionsExt};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::jail::{
    create_options, fs_error, open_overwrite, open_regular, read_options, relative,
    relative_non_root,
};
use super::links::{stays_inside, Pending};
use super::stat;
use crate::error::{AgentError, AgentResult};

/// Longest accepted symlink target inside an archive.
const MAX_LINK_BYTES: u64 = 4096;

fn archive_error(e: impl std::fmt::Display) -> AgentError {
    AgentError::Validation(format!("cannot read archive: {e}"))
}

// ----- compress ------------------------------------------------------------------------

/// Pack `paths` into a new archive at `destination`.
pub fn compress(
    root: &Dir,
    paths: &[String],
    destination: &str,
    format: ArchiveFormat,
) -> AgentResult<FileEntry> {
    if paths.is_empty() {
        return Err(AgentError::Validation("nothing to compress".into()));
    }
    let sources = paths
        .iter()
        .map(|p| relative_non_root(p))
        .collect::<AgentResult<Vec<_>>>()?;
    let dest = relative_non_root(destination)?;
    let file = open_regular(root, &dest, &create_options())?.into_std();
    let written = match format {
        ArchiveFormat::TarGz => write_tar(root, &sources, file),
        ArchiveFormat::Zip => write_zip(root, &sources, file),
    };
    if let Err(e) = written {
        let _ = root.remove_file(&dest);
        return Err(e);
    }
    stat(root, destination)
}

/// Visit regular files and directories below `path` (symlinks and special files skipped).
fn walk(
    root: &Dir,
    path: &Path,
    visit: &mut dyn FnMut(&Path, bool, u32) -> AgentResult<()>,
) -> AgentResult<()> {
    let meta = root.symlink_metadata(path).map_err(|e| fs_error(e, path))?;
    if meta.is_file() {
        return visit(path, false, meta.mode() & 0o777);
    }
    if !meta.is_dir() {
        return Ok(());
    }
    visit(path, true, meta.mode() & 0o777)?;
    for item in root.read_dir(path).map_err(|e| fs_error(e, path))? {
        let item = item.map_err(|e| fs_error(e, path))?;
        walk(root, &path.join(item.file_name()), visit)?;
    }
    Ok(())
}

fn write_tar(root: &Dir, sources: &[PathBuf], file: std::fs::File) -> AgentResult<()> {
    let mut builder = tar::Builder::new(GzEncoder::new(file, flate2::Compression::default()));
    for source in sources {
        walk(root, source, &mut |path, is_dir, mode| {
            let mut header = tar::Header::new_gnu();
            header.set_mode(mode);
            if is_dir {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, path, std::io::empty())?;
            } else {
                let file = open_regular(root, path, &read_options())?;
                header.set_size(file.metadata().map_err(|e| fs_error(e, path))?.len());
                header.set_entry_type(tar::EntryType::Regular);
                builder.append_data(&mut header, path, file)?;
            }
            Ok(())
        })?;
    }
    builder.into_inner()?.finish()?.sync_all()?;
    Ok(())
}

fn write_zip(root: &Dir, sources: &[PathBuf], file: std::fs::File) -> AgentResult<()> {
    let mut zip = zip::ZipWriter::new(file);
    let zip_err = |e: zip::result::ZipError| AgentError::Internal(format!("zip: {e}"));
    for source in sources {
        walk(root, source, &mut |path, is_dir, mode| {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(mode);
            let name = path.to_string_lossy();
            if is_dir {
                zip.add_directory(format!("{name}/"), options)
                    .map_err(zip_err)?;
            } else {
                let mut file = open_regular(root, path, &read_options())?;
                zip.start_file(name, options).map_err(zip_err)?;
                std::io::copy(&mut file, &mut zip)?;
            }
            Ok(())
        })?;
    }
    zip.finish().map_err(zip_err)?.sync_all()?;
    Ok(())
}

// ----- decompress ----------------------------------------------------------------------

/// What an archive entry is.
pub(crate) enum Kind {
    Dir,
    File,
    Symlink(String),
    Refused(&'static str),
}

/// One archive entry, as read from the archive.
pub(crate) struct Item {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) mode: u32,
    pub(crate) size: u64,
}

/// Unpack the archive at `path` into `destination` (default: the archive's directory).
pub fn decompress(
    root: &Dir,
    path: &str,
    destination: Option<&str>,
    max_bytes: u64,
) -> AgentResult<u64> {
    let archive = relative_non_root(path)?;
    let dest = match destination {
        Some(d) => relative(d)?,
        None => archive.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let format = Format::from_name(&archive)?;
    // Pass 1: validate everything, write nothing.
    let mut total: u64 = 0;
    let mut links = Pending::new();
    let mut order = Vec::new();
    visit(root, &archive, format, &mut |item, _| {
        let target = plan(&dest, &item)?;
        if let Kind::Symlink(link) = item.kind {
            order.push(target.clone());
            if links.insert(target, PathBuf::from(link)).is_some() {
                return Err(AgentError::Validation(format!(
                    "archive entry {:?} refused: it appears twice",
                    item.name
                )));
            }
        }
        total = total.saturating_add(item.size);
        if total > max_bytes {
            return Err(AgentError::TooLarge(format!(
                "archive unpacks to more than {max_bytes} bytes"
            )));
        }
        Ok(())
    })?;
    check_links(root, &links, &order)?;
    // Pass 2: extract.
    if !dest.as_os_str().is_empty() {
        root.create_dir_all(&dest).map_err(|e| fs_error(e, &dest))?;
    }
    let mut budget = max_bytes;
    visit(root, &archive, format, &mut |item, reader| {
        let target = plan(&dest, &item)?;
        extract_entry(root, &target, &item, reader, &mut budget, max_bytes).map(drop)
    })?;
    create_links(root, &links, order)?;
    Ok(max_bytes - budget)
}

/// Refuse the archive when one of its symlinks (judged all together, against the disk
/// and each other) leads outside the server directory.
pub(crate) fn check_links(root: &Dir, links: &Pending, order: &[PathBuf]) -> AgentResult<()> {
    for path in order {
        if !stays_inside(root, links, path, &links[path]) {
            return Err(AgentError::Validation(format!(
                "archive entry {:?} refused: symlink to {:?} leads outside the server directory",
                path.display(),
                links[path].display()
            )));
        }
    }
    Ok(())
}

/// Create the symlinks checked by [`check_links`], after every other entry.
pub(crate) fn create_links(root: &Dir, links: &Pending, order: Vec<PathBuf>) -> AgentResult<()> {
    for link in order {
        create_parent(root, &link)?;
        root.symlink(&links[&link], &link)
            .map_err(|e| fs_error(e, &link))?;
    }
    Ok(())
}

/// Write one directory or regular file entry at `target` (from [`plan`]), taking its
/// bytes from `budget`; returns whether a file was written. Links come from the
/// validating pass (the archive may have changed since), the rest was refused by
/// [`plan`].
pub(crate) fn extract_entry(
    root: &Dir,
    target: &Path,
    item: &Item,
    reader: &mut dyn Read,
    budget: &mut u64,
    max_bytes: u64,
) -> AgentResult<bool> {
    match item.kind {
        Kind::Dir => root
            .create_dir_all(target)
            .map_err(|e| fs_error(e, target))?,
        Kind::File => {
            create_parent(root, target)?;
            let mut file = open_overwrite(root, target)?;
            let copied = std::io::copy(&mut reader.take(*budget + 1), &mut file).map_err(|e| {
                match e.kind() {
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                        fs_error(e, target)
                    }
                    _ => archive_error(e),
                }
            })?;
            if copied > *budget {
                return Err(AgentError::TooLarge(format!(
                    "archive unpacks to more than {max_bytes} bytes"
                )));
            }
            *budget -= copied;
            file.flush()?;
            if item.mode & 0o777 != 0 {
                file.set_permissions(Permissions::from_mode(item.mode & 0o777))
                    .map_err(|e| fs_error(e, target))?;
            }
            return Ok(true);
        }
        Kind::Symlink(_) | Kind::Refused(_) => {}
    }
    Ok(false)
}

/// Create the missing directories above `path`.
fn create_parent(root: &Dir, path: &Path) -> AgentResult<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => root.create_dir_all(parent).map_err(|e| fs_error(e, parent)),
        None => Ok(()),
    }
}

/// Validate one entry and return where it goes.
pub(crate) fn plan(dest: &Path, item: &Item) -> AgentResult<PathBuf> {
    let inner = relative(&item.name).map_err(|e| {
        AgentError::Validation(format!("archive entry {:?} refused: {e}", item.name))
    })?;
    if inner.as_os_str().is_empty() {
        return Ok(dest.to_path_buf());
    }
    let target = dest.join(&inner);
    match &item.kind {
        Kind::Refused(what) => Err(AgentError::Validation(format!(
            "archive entry {:?} refused: {what} are not allowed",
            item.name
        ))),
        _ => Ok(target),
    }
}

#[derive(Clone, Copy)]
enum Format {
    Zip,
    Tar,
    TarGz,
}

impl Format {
    fn from_name(path: &Path) -> AgentResult<Self> {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Ok(Self::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Ok(Self::TarGz)
        } else if name.ends_with(".tar") {
            Ok(Self::Tar)
        } else {
            Err(AgentError::Validation(
                "unsupported archive (use .zip, .tar.gz, .tgz or .tar)".into(),
            ))
        }
    }
}

pub(crate) type Visitor<'a> = dyn FnMut(Item, &mut dyn Read) -> AgentResult<()> + 'a;

fn visit(root: &Dir, archive: &Path, format: Format, f: &mut Visitor<'_>) -> AgentResult<()> {
    let file = open_regular(root, archive, &read_options())?.into_std();
    match format {
        Format::Zip => visit_zip(file, f),
        Format::Tar => visit_tar(file, f),
        Format::TarGz => visit_tar(GzDecoder::new(file), f),
    }
}

pub(crate) fn visit_tar(reader: impl Read, f: &mut Visitor<'_>) -> AgentResult<()> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(archive_error)? {
        let mut entry = entry.map_err(archive_error)?;
        let header = entry.header();
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let mode = header.mode().unwrap_or(0o644);
        let size = header.size().unwrap_or(0);
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => match entry.link_name_bytes() {
                Some(link) => Kind::Symlink(String::from_utf8_lossy(&link).into_owned()),
                None => Kind::Refused("symlinks without target"),
            },
            tar::EntryType::Link => Kind::Refused("hard links"),
            tar::EntryType::XGlobalHeader
            | tar::EntryType::XHeader
            | tar::EntryType::GNULongName
            | tar::EntryType::GNULongLink => continue,
            _ => Kind::Refused("special files"),
        };
        f(
            Item {
                name,
                kind,
                mode,
                size,
            },
            &mut entry,
        )?;
    }
    Ok(())
}

fn visit_zip(file: impl Read + Seek, f: &mut Visitor<'_>) -> AgentResult<()> {
    let mut archive = zip::ZipArchive::new(file).map_err(archive_error)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(archive_error)?;
        let name = entry.name().to_owned();
        let mode = entry.unix_mode().unwrap_or(0o644);
        let size = entry.size();
        let kind = if entry.is_dir() {
            Kind::Dir
        } else if entry.is_symlink() {
            let mut link = String::new();
            (&mut entry)
                .take(MAX_LINK_BYTES)
                .read_to_string(&mut link)
                .map_err(archive_error)?;
            Kind::Symlink(link)
        } else if mode & 0o170000 == 0 || mode & 0o170000 == 0o100000 {
            Kind::File
        } else {
            Kind::Refused("special files")
        };
        f(
            Item {
                name,
                kind,
                mode,
                size,
            },
            &mut entry,
        )?;
    }
    Ok(())
}
