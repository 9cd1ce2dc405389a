//! A Maildir that keeps what it acknowledges: each message is written in
//! `tmp/` under a unique name (never derived from message data), opened
//! exclusively with mode 0600, flushed to disk, renamed into `new/`, and
//! `new/` flushed — all before the caller answers `250`.
//!
//! The file work runs on one writer thread per Maildir. How the flushing
//! is done is the [`Sync`] mode; the default, group commit, makes every
//! message waiting durable with one `syncfs` and one fsync of `new/`: the
//! messages of many sessions share two disk flushes, and each is still
//! acknowledged only after its own data is on disk.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The process-wide part of unique names.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How messages are made durable before they are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// Group commit: the writer flushes every message waiting, with one
    /// `syncfs` of the file system and one fsync of `new/` per batch.
    Group,
    /// Each message on its own: fsync the file, rename, fsync `new/`.
    Each,
    /// No flush at all: written and renamed, left to the kernel (a crash
    /// can lose acknowledged mail; for tests and load runs).
    Off,
}

/// Most messages one group commit takes.
const MAX_BATCH: usize = 1024;

/// A Maildir directory (with `tmp/`, `new/` and `cur/`).
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
    host: String,
    writer: std::sync::mpsc::Sender<Job>,
}

/// A message for the writer thread: its file if one was started, the
/// octets still to write, and where its result goes.
#[derive(Debug)]
struct Job {
    pending: Option<Pending>,
    rest: Vec<u8>,
    done: smol::channel::Sender<io::Result<PathBuf>>,
}

impl Maildir {
    /// Opens the Maildir at `root`, creating it and its `tmp/`, `new/` and
    /// `cur/` (mode 0700) when needed, and checks that a message can be
    /// stored in it (see [`check_writable`]).
    ///
    /// # Errors
    ///
    /// A directory cannot be created, or a file cannot be created in
    /// `tmp/` and moved into `new/` (a read-only file system, a directory
    /// without write permission): the message says which.
    pub fn create(root: &Path, sync: Sync) -> io::Result<Maildir> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in ["tmp", "new", "cur"] {
            let dir = root.join(sub);
            builder
                .create(&dir)
                .map_err(|e| context(&format!("cannot create {}", dir.display()), &e))?;
        }
        check_writable(root)?;
        let host = mailwire_driver::client::default_client_name()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "localhost".to_owned());
        let host = escape_host(&host);
        let writer = start_writer(root, &host, sync)?;
        Ok(Maildir {
            root: root.to_path_buf(),
            host,
            writer,
        })
    }

    /// Stores a message: the file already started (`None`: none yet; a
    /// small message is written in one go), plus `rest`, the octets not
    /// yet written; then makes it durable as the [`Sync`] mode says and
    /// moves it into `new/`. Returns its final path. The blocking steps run
    /// on the Maildir's writer thread.
    ///
    /// # Errors
    ///
    /// A step failed; the file is then removed.
    pub async fn store(&self, pending: Option<Pending>, rest: Vec<u8>) -> io::Result<PathBuf> {
        let (done, result) = smol::channel::bounded(1);
        let stopped = || io::Error::other("the Maildir writer has stopped");
        self.writer
            .send(Job {
                pending,
                rest,
                done,
            })
            .map_err(|_| stopped())?;
        result.recv().await.map_err(|_| stopped())?
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
        begin_in(&self.root, &self.host)
    }
}

/// A new file in `root/tmp/` with a unique name carrying `host`.
fn begin_in(root: &Path, host: &str) -> io::Result<Pending> {
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
            host
        );
        let tmp = root.join("tmp").join(&name);
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
                    new: root.join("new").join(&name),
                    new_dir: root.join("new"),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Checks that messages can be stored at `root`, as storing does it: a
/// file created exclusively in `tmp/`, then moved into `new/` (under a
/// name starting with a dot, which Maildir readers skip), then removed.
///
/// # Errors
///
/// A step failed; the message names the directory.
pub fn check_writable(root: &Path) -> io::Result<()> {
    let name = format!(
        ".mailwire-check.P{}Q{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let (tmp_dir, new_dir) = (root.join("tmp"), root.join("new"));
    let (tmp, new) = (tmp_dir.join(&name), new_dir.join(&name));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| {
            let what = format!("cannot create a file in {}", tmp_dir.display());
            context(&what, &e)
        })?;
    if let Err(e) = std::fs::rename(&tmp, &new) {
        let _ = std::fs::remove_file(&tmp);
        let what = format!("cannot move a file into {}", new_dir.display());
        return Err(context(&what, &e));
    }
    std::fs::remove_file(&new).map_err(|e| {
        let what = format!("cannot remove a file from {}", new_dir.display());
        context(&what, &e)
    })
}

/// `e` with `what` in front of its text (same kind).
fn context(what: &str, e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
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

    /// Closes the file and renames it into `new/` without any flush.
    ///
    /// # Errors
    ///
    /// The rename failed; the file is then removed from `tmp/`.
    pub fn commit_unsynced(mut self) -> io::Result<PathBuf> {
        if self.file.take().is_none() {
            return Err(io::Error::other("message file already closed"));
        }
        std::fs::rename(&self.tmp, &self.new)?;
        self.tmp = PathBuf::new();
        Ok(self.new.clone())
    }
}

/// Starts the writer thread of the Maildir at `root`: it writes out the
/// messages handed to it and commits them as `sync` says (in batches for
/// group commit). It stops when the last [`Maildir`] holding its sender is
/// dropped.
fn start_writer(root: &Path, host: &str, sync: Sync) -> io::Result<std::sync::mpsc::Sender<Job>> {
    let fs = File::open(root)?;
    let (root, host) = (root.to_path_buf(), host.to_owned());
    let new_dir = File::open(root.join("new"))?;
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("mailwire-maildir".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let written = write_batch(&root, &host, batch);
                match sync {
                    Sync::Group => commit_batch(&fs, &new_dir, written),
                    Sync::Each => {
                        for w in written {
                            let _ = w.done.try_send(w.pending.commit());
                        }
                    }
                    Sync::Off => {
                        for w in written {
                            let _ = w.done.try_send(w.pending.commit_unsynced());
                        }
                    }
                }
            }
        })?;
    Ok(tx)
}

/// A message of a batch, written out.
struct Written {
    pending: Pending,
    done: smol::channel::Sender<io::Result<PathBuf>>,
}

/// Writes out the messages of a batch (a failure is answered at once).
fn write_batch(root: &Path, host: &str, batch: Vec<Job>) -> Vec<Written> {
    let mut jobs = Vec::with_capacity(batch.len());
    for job in batch {
        let written = match job.pending {
            Some(p) => Ok(p),
            None => begin_in(root, host),
        }
        .and_then(|mut p| {
            p.write(&job.rest)?;
            Ok(p)
        });
        match written {
            Ok(pending) => jobs.push(Written {
                pending,
                done: job.done,
            }),
            Err(e) => {
                let _ = job.done.try_send(Err(e));
            }
        }
    }
    jobs
}

/// One group commit of written files: one `syncfs` (the data and the new
/// inodes are durable), rename each into `new/`, one fsync of `new/` (the
/// names are durable), then answer each message.
fn commit_batch(fs: &File, new_dir: &File, mut jobs: Vec<Written>) {
    for job in &mut jobs {
        job.pending.file = None;
    }
    if let Err(e) = rustix::fs::syncfs(fs) {
        let e = io::Error::from(e);
        for job in jobs {
            let _ = job
                .done
                .try_send(Err(io::Error::new(e.kind(), e.to_string())));
        }
        return;
    }
    let mut renamed = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        match std::fs::rename(&job.pending.tmp, &job.pending.new) {
            Ok(()) => {
                job.pending.tmp = PathBuf::new();
                renamed.push(job);
            }
            Err(e) => {
                let _ = job.done.try_send(Err(e));
            }
        }
    }
    let synced = new_dir.sync_all();
    for job in renamed {
        let result = match &synced {
            Ok(()) => Ok(job.pending.new.clone()),
            Err(e) => {
                let _ = std::fs::remove_file(&job.pending.new);
                Err(io::Error::new(e.kind(), e.to_string()))
            }
        };
        let _ = job.done.try_send(result);
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
        let dir = Maildir::create(&root, Sync::Each).unwrap();
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
    fn every_sync_mode_stores_every_message() {
        for sync in [Sync::Group, Sync::Each, Sync::Off] {
            let root = std::env::temp_dir()
                .join(format!("mailwire-maildir-{sync:?}-{}", std::process::id()));
            let dir = Maildir::create(&root, sync).unwrap();
            // Twenty sessions commit at once (a group commit takes them
            // in one or a few batches).
            let threads: Vec<_> = (0..20)
                .map(|i| {
                    let dir = dir.clone();
                    std::thread::spawn(move || {
                        let text = format!("Subject: {i}\r\n\r\nhi\r\n").into_bytes();
                        // Even messages start their file first (as large
                        // ones do), odd ones are written in one go.
                        let (started, rest) = if i % 2 == 0 {
                            let mut p = dir.begin().unwrap();
                            p.write(&text[..5]).unwrap();
                            (Some(p), text[5..].to_vec())
                        } else {
                            (None, text)
                        };
                        smol::block_on(dir.store(started, rest)).unwrap()
                    })
                })
                .collect();
            let paths: Vec<PathBuf> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            assert_eq!(paths.len(), 20);
            for (i, path) in paths.iter().enumerate() {
                assert!(path.starts_with(root.join("new")), "{sync:?}");
                let text = std::fs::read_to_string(path).unwrap();
                assert_eq!(text, format!("Subject: {i}\r\n\r\nhi\r\n"));
            }
            assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
            assert_eq!(std::fs::read_dir(root.join("new")).unwrap().count(), 20);
            std::fs::remove_dir_all(&root).unwrap();
        }
    }

    #[test]
    fn host_is_escaped() {
        assert_eq!(escape_host("a/b:c"), "a\\057b\\072c");
    }
}
