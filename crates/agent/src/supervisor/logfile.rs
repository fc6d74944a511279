//! A size-rotated log file (`console.log`, `console.log.1`, …).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// Appends lines; rotates when the file reaches `max_bytes`, keeping `keep` old files.
/// Write failures are logged once and otherwise ignored: a full disk must not stop the
/// console.
pub struct RotatingLog {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max_bytes: u64,
    keep: u32,
    failed: bool,
}

impl RotatingLog {
    /// A log at `path` (opened lazily).
    pub fn new(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        Self {
            path,
            file: None,
            size: 0,
            max_bytes: max_bytes.max(1024),
            keep,
            failed: false,
        }
    }

    /// Append lines, each followed by a newline.
    pub fn write_lines(&mut self, lines: &[String]) {
        if let Err(e) = self.try_write(lines) {
            if !self.failed {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot write console log");
            }
            self.failed = true;
            self.file = None;
        } else {
            self.failed = false;
        }
    }

    fn try_write(&mut self, lines: &[String]) -> std::io::Result<()> {
        if self.size >= self.max_bytes {
            self.rotate()?;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                if let Some(dir) = self.path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?;
                self.size = file.metadata()?.len();
                self.file.insert(file)
            }
        };
        let mut buffer = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        file.write_all(&buffer)?;
        self.size += buffer.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        self.size = 0;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..self.keep).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        if self.keep == 0 {
            return std::fs::remove_file(&self.path);
        }
        std::fs::rename(&self.path, numbered(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_keeps_bounded_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.log");
        let mut log = RotatingLog::new(path.clone(), 1024, 2);
        let line = vec!["x".repeat(300)];
        for _ in 0..20 {
            log.write_lines(&line);
        }
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["console.log", "console.log.1", "console.log.2"]);
        for name in names {
            assert!(std::fs::metadata(dir.path().join(name)).unwrap().len() <= 1024 + 301);
        }
    }
}
