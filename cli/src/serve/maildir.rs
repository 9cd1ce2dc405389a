//! A Maildir that keeps what it acknowledges: each message is written in
//! `tmp/` under a unique name (never derived from message data), opened
//! exclusively with mode 0600, fsynced, renamed into `new/`, and `new/`
//! fsynced — all before the caller answers `250`.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The process-wide part of unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A Maildir directory (with `tmp/`, `new/` and `cur/`).
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
    host: String,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating it and its `tmp/`, `new/` and
    /// `cur/` (mode 0700) when needed.
    ///
    /// # Errors
    ///
    /// A directory cannot be created.
    pub fn create(root: &Path) -> io::Result<Maildir> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in ["tmp", "new", "cur"] {
            builder.create(root.join(sub))?;
        }
        let host = mailwire_driver::client::default_client_name()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "localhost".to_owned());
        Ok(Maildir {
            root: root.to_path_buf(),
            host: escape_host(&host),
        })
    }

    /// The Maildir's root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A new file in `tmp/` (created exclusively, mode 0600), to be
    /// written and then [committed](Pending::commit).
    ///
    /// # Errors
    ///
    /// The file cannot be created.
    pub fn begin(&self) -> io::Result<Pending> {
        let pid = std::process::id();
        loop {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let count = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(
                "{}.M{}P{}Q{}.{}",
                now.as_secs(),
                now.subsec_micros(),
                pid,
                count,
                self.host
            );
            let tmp = self.root.join("tmp").join(&name);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
            {
                Ok(file) => {
                    return Ok(Pending {
                        file: Some(file),
                        tmp,
                        new: self.root.join("new").join(&name),
                        new_dir: self.root.join("new"),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The host name as Maildir file names carry it: `/` as `\057`, `:` as
/// `\072` (and `\` as `\134`), so the name stays one path component.
fn escape_host(host: &str) -> String {
    let mut out = String::with_capacity(host.len());
    for c in host.chars() {
        match c {
            '/' => out.push_str("\\057"),
            ':' => out.push_str("\\072"),
            '\\' => out.push_str("\\134"),
            c if c.is_control() || c == '.' && out.is_empty() => out.push('_'),
            c => out.push(c),
        }
    }
    if out.is_empty() {
        out.push_str("localhost");
    }
    out
}

/// A message being written in `tmp/`. Dropped without
/// [`commit`](Pending::commit), the file is removed.
#[derive(Debug)]
pub struct Pending {
    file: Option<File>,
    tmp: PathBuf,
    new: PathBuf,
    new_dir: PathBuf,
}

impl Pending {
    /// Appends `bytes`.
    ///
    /// # Errors
    ///
    /// The write failed (e.g. the disk is full).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.write_all(bytes),
            None => Err(io::Error::other("message file already closed")),
        }
    }

    /// Makes the message durable: fsync the file, rename it into `new/`,
    /// fsync `new/`. Returns the final path.
    ///
    /// # Errors
    ///
    /// Any step failed; the file is then removed from `tmp/` (or `new/`).
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let Some(file) = self.file.take() else {
            return Err(io::Error::other("message file already closed"));
        };
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.new)?;
        if let Err(e) = File::open(&self.new_dir).and_then(|d| d.sync_all()) {
            let _ = std::fs::remove_file(&self.new);
            return Err(e);
        }
        self.tmp = PathBuf::new();
        Ok(self.new.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Whether `error` means the storage is full (disk or quota): answered
/// `452 4.3.1`.
#[must_use]
pub fn is_storage_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::StorageFull
        || error.kind() == io::ErrorKind::QuotaExceeded
        || matches!(error.raw_os_error(), Some(28 | 122))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn stores_exclusively_and_durably() {
        let root = std::env::temp_dir().join(format!("mailwire-maildir-{}", std::process::id()));
        let dir = Maildir::create(&root).unwrap();
        let mut a = dir.begin().unwrap();
        let b = dir.begin().unwrap();
        assert_ne!(a.tmp, b.tmp);
        drop(b);
        a.write(b"Subject: x\r\n\r\nhi\r\n").unwrap();
        let path = a.commit().unwrap();
        assert!(path.starts_with(root.join("new")));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn host_is_escaped() {
        assert_eq!(escape_host("a/b:c"), "a\\057b\\072c");
    }
}
