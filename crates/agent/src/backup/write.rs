//! Writing a backup archive: the server directory walked through its jail, filtered by
//! the ignore list, packed as tar, compressed, and hashed (SHA-256) and counted as the
//! compressed bytes go out. The server may run meanwhile: a file that grows or shrinks
//! while it is read is cut or padded to the size its header announced.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cap_protocol::backup::BackupFormat;
use cap_std::fs::{Dir, MetadataExt};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use sha2::{Digest, Sha256};

use crate::error::{AgentError, AgentResult};
use crate::files::jail::{fs_error, open_regular, read_options};

/// Ignore files read from the server directory's root, in gitignore syntax.
pub const IGNORE_FILES: [&str; 2] = [".capignore", ".pteroignore"];

/// Largest ignore file read.
const MAX_IGNORE_FILE_BYTES: u64 = 64 * 1024;

/// Longest accepted ignore pattern.
const MAX_PATTERN_BYTES: usize = 4096;

/// Input per zstd compression job (its buffers grow with it).
const ZSTD_JOB_BYTES: u32 = 2 * 1024 * 1024;

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What a finished archive is.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Compressed size.
    pub size: u64,
    /// SHA-256 of the compressed bytes, lowercase hex.
    pub checksum: String,
    /// Server bytes read.
    pub bytes: u64,
    /// Files archived.
    pub files: u64,
    /// Entries left out (special files, hard-linked files).
    pub skipped: u64,
}

/// Check ignore patterns given with a request (gitignore syntax).
pub fn check_patterns(patterns: &[String]) -> AgentResult<()> {
    let mut builder = GitignoreBuilder::new("/");
    add_patterns(&mut builder, patterns.iter().map(String::as_str), "ignored")
}

fn add_patterns<'a>(
    builder: &mut GitignoreBuilder,
    patterns: impl Iterator<Item = &'a str>,
    origin: &str,
) -> AgentResult<()> {
    for pattern in patterns {
        if pattern.len() > MAX_PATTERN_BYTES || pattern.contains('\0') {
            return Err(AgentError::Validation(format!(
                "{origin}: patterns must be at most {MAX_PATTERN_BYTES} bytes without NUL"
            )));
        }
        builder
            .add_line(None, pattern)
            .map_err(|e| AgentError::Validation(format!("{origin}: bad pattern: {e}")))?;
    }
    Ok(())
}

/// The ignore matcher of a backup: the request's patterns plus the server root's
/// `.capignore` and `.pteroignore` (read through the jail: a symlink is not followed).
pub fn matcher(root: &Dir, patterns: &[String]) -> AgentResult<Gitignore> {
    let mut builder = GitignoreBuilder::new("/");
    add_patterns(&mut builder, patterns.iter().map(String::as_str), "ignored")?;
    for name in IGNORE_FILES {
        match crate::files::read_text(root, Path::new(name), MAX_IGNORE_FILE_BYTES) {
            Ok(Some(text)) => add_patterns(&mut builder, text.lines(), name)?,
            Ok(None) => {}
            Err(e) => return Err(AgentError::Validation(format!("{name}: {e}"))),
        }
    }
    builder
        .build()
        .map_err(|e| AgentError::Validation(format!("bad ignore pattern: {e}")))
}

/// Pack the directory `root` into `sink`; `progress(bytes, files)` is called at most
/// twice a second. Returns the sink (flushed) and what was written.
pub fn archive<W: Write>(
    root: &Dir,
    ignore: &Gitignore,
    format: BackupFormat,
    zstd_level: i32,
    sink: W,
    progress: &mut dyn FnMut(u64, u64),
) -> AgentResult<(W, Summary)> {
    let tee = Tee {
        inner: sink,
        hasher: Sha256::new(),
        count: 0,
    };
    let mut walker = Walker {
        builder: tar::Builder::new(Compressor::new(format, zstd_level, tee)?),
        root,
        ignore,
        bytes: 0,
        files: 0,
        skipped: 0,
        reported: Instant::now(),
        progress,
    };
    walker.walk()?;
    let (bytes, files, skipped) = (walker.bytes, walker.files, walker.skipped);
    let mut tee = walker.builder.into_inner()?.finish()?;
    tee.inner.flush()?;
    Ok((
        tee.inner,
        Summary {
            size: tee.count,
            checksum: hex::encode(tee.hasher.finalize()),
            bytes,
            files,
            skipped,
        },
    ))
}

struct Walker<'a, W: Write> {
    builder: tar::Builder<Compressor<Tee<W>>>,
    root: &'a Dir,
    ignore: &'a Gitignore,
    bytes: u64,
    files: u64,
    skipped: u64,
    reported: Instant,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl<W: Write> Walker<'_, W> {
    fn walk(&mut self) -> AgentResult<()> {
        let mut todo = vec![PathBuf::new()];
        while let Some(dir) = todo.pop() {
            let listing = if dir.as_os_str().is_empty() {
                self.root.entries()
            } else {
                self.root.read_dir(&dir)
            }
            .map_err(|e| fs_error(e, &dir))?;
            for item in listing {
                let path = dir.join(item.map_err(|e| fs_error(e, &dir))?.file_name());
                match self.root.symlink_metadata(&path) {
                    Ok(meta) if meta.is_dir() => {
                        if !self.ignore.matched(&path, true).is_ignore() {
                            self.append_header(&path, &meta, tar::EntryType::Directory)?;
                            todo.push(path);
                        }
                    }
                    Ok(meta) => {
                        if !self.ignore.matched(&path, false).is_ignore() {
                            self.append(&path, &meta)?;
                        }
                    }
                    // Deleted meanwhile: the server runs.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(fs_error(e, &path)),
                }
            }
        }
        Ok(())
    }

    fn header(meta: &cap_std::fs::Metadata, kind: tar::EntryType) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(meta.mode() & 0o7777);
        header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
        header.set_size(0);
        header
    }

    fn append_header(
        &mut self,
        path: &Path,
        meta: &cap_std::fs::Metadata,
        kind: tar::EntryType,
    ) -> AgentResult<()> {
        let mut header = Self::header(meta, kind);
        self.builder
            .append_data(&mut header, path, io::empty())
            .map_err(AgentError::Io)
    }

    fn append(&mut self, path: &Path, meta: &cap_std::fs::Metadata) -> AgentResult<()> {
        let kind = meta.file_type();
        if kind.is_symlink() {
            let Ok(target) = self.root.read_link_contents(path) else {
                return Ok(());
            };
            let mut header = Self::header(meta, tar::EntryType::Symlink);
            return self
                .builder
                .append_link(&mut header, path, target)
                .map_err(AgentError::Io);
        }
        if !kind.is_file() {
            self.skipped += 1;
            return Ok(());
        }
        let file = match open_regular(self.root, path, &read_options()) {
            Ok(file) => file,
            Err(AgentError::NotFound(_)) => return Ok(()),
            Err(AgentError::Validation(why)) => {
                tracing::warn!(path = %path.display(), "left out of the backup: {why}");
                self.skipped += 1;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let size = file.metadata().map_err(|e| fs_error(e, path))?.len();
        let mut header = Self::header(meta, tar::EntryType::Regular);
        header.set_size(size);
        let reader = Exact {
            inner: file.into_std().take(size),
            left: size,
        };
        self.builder
            .append_data(&mut header, path, reader)
            .map_err(AgentError::Io)?;
        self.bytes += size;
        self.files += 1;
        if self.reported.elapsed() >= PROGRESS_EVERY {
            self.reported = Instant::now();
            (self.progress)(self.bytes, self.files);
        }
        Ok(())
    }
}

/// Exactly `left` bytes: the file's, then zeros if it shrank while being read.
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let mut n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            buf[..want].fill(0);
            n = want;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts and hashes what passes through.
struct Tee<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

enum Compressor<W: Write> {
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Gzip(flate2::write::GzEncoder<W>),
}

impl<W: Write> Compressor<W> {
    fn new(format: BackupFormat, zstd_level: i32, inner: W) -> AgentResult<Self> {
        Ok(match format {
            BackupFormat::TarZstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, zstd_level)?;
                // One worker beside the walking thread: compression overlaps reading
                // and hashing, leaving cores to the games.
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get() / 2);
                encoder.multithread(u32::try_from(workers.max(1)).unwrap_or(1))?;
                // Small jobs keep the buffers of multithreaded zstd to a few MiB.
                encoder.set_parameter(zstd::zstd_safe::CParameter::JobSize(ZSTD_JOB_BYTES))?;
                Self::Zstd(encoder)
            }
            BackupFormat::TarGz => Self::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::default(),
            )),
        })
    }

    fn finish(self) -> io::Result<W> {
        match self {
            Self::Zstd(encoder) => encoder.finish(),
            Self::Gzip(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Zstd(encoder) => encoder.write(buf),
            Self::Gzip(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Zstd(encoder) => encoder.flush(),
            Self::Gzip(encoder) => encoder.flush(),
        }
    }
}
