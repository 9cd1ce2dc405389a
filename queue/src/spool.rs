//! The local spool: a directory on one machine's disk.
//!
//! ```text
//!   DIR/lock           held (flock) by the one process delivering
//!   DIR/tmp/           files being written
//!   DIR/queue/ID.msg   the message octets
//!   DIR/queue/ID.env   the envelope (JSON, written once)
//!   DIR/queue/ID.state each recipient's state (JSON, replaced after
//!                      each attempt; absent: every recipient pending)
//!   DIR/retry          ids an operator asked to retry now (`queue retry`)
//! ```
//!
//! Every write is crash-safe: the file is written in `tmp/`, made durable,
//! renamed into `queue/`, and `queue/` is made durable, before the caller
//! is answered. The work runs on one writer thread; with group commit
//! (the default) the files of every change waiting are flushed at once
//! (on a few threads: the file system merges them into few journal
//! commits), then renamed, then `queue/` is flushed once. A new
//! message's `.msg` is renamed before its `.env`: an entry exists once its
//! `.env` does, and what a crash leaves half-made (a `.msg` or `.state`
//! without `.env`, an `.env` without `.msg`, a file in `tmp/`) was never
//! acknowledged and is removed when the spool is opened.

use std::collections::BTreeMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::QueueId;
use crate::entry::{QueueEntry, QueueState, QueuedEnvelope};
use crate::store::{QueueError, QueueStore};

/// Most changes one group commit takes.
const MAX_BATCH: usize = 1024;

/// Writer threads: while one flushes its batch, the next gathers one (the
/// entries of different batches are independent).
const WRITERS: usize = 4;

/// How changes are made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolSync {
    /// Group commit: the files of every change waiting flushed together,
    /// then one fsync of `queue/`.
    Group,
    /// No flush (a crash can lose acknowledged mail; for tests and load
    /// runs only).
    Off,
}

/// A local spool directory, opened by the process that delivers from it
/// (it holds the spool's lock).
#[derive(Debug)]
pub struct Spool {
    root: PathBuf,
    writer: std::sync::mpsc::Sender<Job>,
    _lock: File,
}

/// One change for the writer thread.
enum Change {
    /// Files to write into `queue/` (in this order), by name.
    Write(Vec<(String, Vec<u8>)>, Option<QueueId>),
    /// An entry to remove.
    Remove(QueueId),
}

struct Job {
    change: Change,
    done: smol::channel::Sender<Result<(), QueueError>>,
}

impl Spool {
    /// Opens (creating when needed) the spool at `root`, takes its lock,
    /// removes what a crash left half-made, and starts its writer.
    ///
    /// # Errors
    ///
    /// The directories cannot be made, another process holds the spool,
    /// or the writer cannot start: the text says which.
    pub fn open(root: &Path, sync: SpoolSync) -> Result<Spool, QueueError> {
        let mut builder = DirBuilder::new();
        builder.recursive(true).mode(0o700);
        for sub in ["tmp", "queue"] {
            let dir = root.join(sub);
            builder
                .create(&dir)
                .map_err(|e| failed(&format!("cannot create {}", dir.display()), &e))?;
        }
        let lock_path = root.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| failed(&format!("cannot open {}", lock_path.display()), &e))?;
        if lock.try_lock().is_err() {
            return Err(QueueError::Failed(format!(
                "the queue {} is in use by another process",
                root.display()
            )));
        }
        recover(root).map_err(|e| failed("cannot clean the queue up", &e))?;
        let writer =
            start_writer(root, sync).map_err(|e| failed("cannot start the queue writer", &e))?;
        Ok(Spool {
            root: root.to_path_buf(),
            writer,
            _lock: lock,
        })
    }

    /// The spool's directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Octets free for the spool on its file system (for unprivileged
    /// users).
    ///
    /// # Errors
    ///
    /// `statvfs` failed.
    pub fn free_space(&self) -> io::Result<u64> {
        let st = rustix::fs::statvfs(&self.root)?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
    }

    async fn submit(&self, change: Change) -> Result<(), QueueError> {
        let (done, result) = smol::channel::bounded(1);
        let stopped = || QueueError::Failed("the queue writer has stopped".into());
        self.writer
            .send(Job { change, done })
            .map_err(|_| stopped())?;
        result.recv().await.map_err(|_| stopped())?
    }
}

impl QueueStore for Spool {
    async fn enqueue(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> Result<QueueId, QueueError> {
        let id = QueueId::generate();
        let env = serde_json::to_vec_pretty(&envelope)
            .map_err(|e| QueueError::Failed(format!("cannot write the envelope: {e}")))?;
        self.submit(Change::Write(
            vec![(format!("{id}.msg"), message), (format!("{id}.env"), env)],
            None,
        ))
        .await?;
        Ok(id)
    }

    async fn record(&self, id: &QueueId, state: &QueueState) -> Result<(), QueueError> {
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| QueueError::Failed(format!("cannot write the state: {e}")))?;
        self.submit(Change::Write(
            vec![(format!("{id}.state"), bytes)],
            Some(id.clone()),
        ))
        .await
    }

    async fn remove(&self, id: &QueueId) -> Result<(), QueueError> {
        self.submit(Change::Remove(id.clone())).await
    }

    async fn load(&self, id: &QueueId) -> Result<Option<QueueEntry>, QueueError> {
        read_entry(&self.root, id)
    }

    async fn message(&self, id: &QueueId) -> Result<Vec<u8>, QueueError> {
        let path = entry_path(&self.root, id, "msg");
        std::fs::read(&path).map_err(|e| failed(&format!("cannot read {}", path.display()), &e))
    }

    async fn entries(&self) -> Result<Vec<QueueEntry>, QueueError> {
        read_entries(&self.root)
    }
}

/// The path of one of an entry's files.
fn entry_path(root: &Path, id: &QueueId, kind: &str) -> PathBuf {
    root.join("queue").join(format!("{id}.{kind}"))
}

fn failed(what: &str, e: &io::Error) -> QueueError {
    if is_storage_full(e) {
        QueueError::Full(format!("{what}: {e}"))
    } else {
        QueueError::Failed(format!("{what}: {e}"))
    }
}

/// Whether `error` means the storage is full (disk or quota).
#[must_use]
pub fn is_storage_full(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::StorageFull
        || error.kind() == io::ErrorKind::QuotaExceeded
        || matches!(error.raw_os_error(), Some(28 | 122))
}

/// Reads one entry of the spool at `root` without opening it (no lock
/// needed: files are only ever replaced whole). `None`: no such entry.
///
/// # Errors
///
/// A file of the entry cannot be read or parsed.
pub fn read_entry(root: &Path, id: &QueueId) -> Result<Option<QueueEntry>, QueueError> {
    let env_path = entry_path(root, id, "env");
    let env = match std::fs::read(&env_path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(failed(&format!("cannot read {}", env_path.display()), &e)),
    };
    let envelope: QueuedEnvelope = serde_json::from_slice(&env)
        .map_err(|e| QueueError::Failed(format!("{} is damaged: {e}", env_path.display())))?;
    let state_path = entry_path(root, id, "state");
    let state = match std::fs::read(&state_path) {
        Ok(b) => serde_json::from_slice::<QueueState>(&b)
            .map_err(|e| QueueError::Failed(format!("{} is damaged: {e}", state_path.display())))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => QueueState::new(&envelope),
        Err(e) => return Err(failed(&format!("cannot read {}", state_path.display()), &e)),
    };
    if state.recipients.len() != envelope.recipients.len() {
        return Err(QueueError::Failed(format!(
            "{} does not match its envelope",
            state_path.display()
        )));
    }
    let size = std::fs::metadata(entry_path(root, id, "msg")).map_or(0, |m| m.len());
    Ok(Some(QueueEntry {
        id: id.clone(),
        envelope,
        state,
        size,
    }))
}

/// Every entry of the spool at `root`, oldest first (no lock needed).
///
/// # Errors
///
/// The directory cannot be read, or an entry is damaged.
pub fn read_entries(root: &Path) -> Result<Vec<QueueEntry>, QueueError> {
    let dir = root.join("queue");
    let listing = std::fs::read_dir(&dir)
        .map_err(|e| failed(&format!("cannot read {}", dir.display()), &e))?;
    let mut ids = Vec::new();
    for item in listing.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name.strip_suffix(".env").and_then(QueueId::parse) {
            ids.push(id);
        }
    }
    ids.sort();
    let mut entries = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entry) = read_entry(root, &id)? {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| (a.envelope.arrival, &a.id).cmp(&(b.envelope.arrival, &b.id)));
    Ok(entries)
}

/// Removes an entry of the spool at `root` (for `queue delete`: the
/// `.env` first, so that the entry is gone at once for a running relay).
/// Returns whether there was one.
///
/// # Errors
///
/// A file cannot be removed.
pub fn delete_entry(root: &Path, id: &QueueId) -> Result<bool, QueueError> {
    let mut found = false;
    for kind in ["env", "state", "msg"] {
        let path = entry_path(root, id, kind);
        match std::fs::remove_file(&path) {
            Ok(()) => found |= kind == "env",
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(&format!("cannot remove {}", path.display()), &e)),
        }
    }
    if let Ok(dir) = File::open(root.join("queue")) {
        let _ = dir.sync_all();
    }
    Ok(found)
}

/// Removes what a crash left half-made (see the module's text).
fn recover(root: &Path) -> io::Result<()> {
    for item in std::fs::read_dir(root.join("tmp"))?.flatten() {
        let _ = std::fs::remove_file(item.path());
    }
    let queue = root.join("queue");
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in std::fs::read_dir(&queue)?.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if let Some((id, kind)) = name.rsplit_once('.') {
            kinds
                .entry(id.to_owned())
                .or_default()
                .push(kind.to_owned());
        }
    }
    for (id, have) in kinds {
        let whole = have.iter().any(|k| k == "env") && have.iter().any(|k| k == "msg");
        if !whole {
            for kind in have {
                let _ = std::fs::remove_file(queue.join(format!("{id}.{kind}")));
            }
        }
    }
    File::open(&queue)?.sync_all()
}

/// Starts the writer thread of the spool at `root`.
fn start_writer(root: &Path, sync: SpoolSync) -> io::Result<std::sync::mpsc::Sender<Job>> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
    for n in 0..WRITERS {
        let root = root.to_path_buf();
        let queue_dir = File::open(root.join("queue"))?;
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("mailwire-spool-{n}"))
            .spawn(move || {
                loop {
                    // One writer gathers a batch while the others flush
                    // theirs.
                    let batch = {
                        let Ok(rx) = rx.lock() else { return };
                        let Ok(first) = rx.recv() else { return };
                        let mut batch = vec![first];
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    commit(&root, &queue_dir, sync, batch);
                }
            })?;
    }
    Ok(tx)
}

/// A job's files, written in `tmp/`.
struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
    /// The entry whose state this is (skipped when the entry is gone).
    state_of: Option<QueueId>,
    remove: Option<QueueId>,
    done: smol::channel::Sender<Result<(), QueueError>>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// One group commit: write every file in `tmp/`, flush once, rename (and
/// remove), flush `queue/` once, answer each job.
fn commit(root: &Path, queue_dir: &File, sync: SpoolSync, batch: Vec<Job>) {
    let mut staged = Vec::with_capacity(batch.len());
    let mut opened: Vec<io::Result<File>> = Vec::new();
    for job in batch {
        match job.change {
            Change::Write(files, state_of) => {
                let mut s = Staged {
                    files: Vec::new(),
                    state_of,
                    remove: None,
                    done: job.done,
                };
                let mut error = None;
                for (name, bytes) in files {
                    let tmp = root.join("tmp").join(&name);
                    let result = write_new(&tmp, &bytes);
                    s.files.push((tmp, root.join("queue").join(&name)));
                    if let Ok(file) = &result
                        && sync == SpoolSync::Group
                    {
                        opened.push(file.try_clone());
                    }
                    if let Err(e) = result {
                        error = Some(failed(&format!("cannot write {name}"), &e));
                        break;
                    }
                }
                match error {
                    Some(e) => {
                        let _ = s.done.try_send(Err(e));
                    }
                    None => staged.push(s),
                }
            }
            Change::Remove(id) => staged.push(Staged {
                files: Vec::new(),
                state_of: None,
                remove: Some(id),
                done: job.done,
            }),
        }
    }
    if let Err(e) = flush_all(opened) {
        for s in staged {
            let _ = s.done.try_send(Err(failed("cannot flush the queue", &e)));
        }
        return;
    }
    let mut answers = Vec::with_capacity(staged.len());
    for mut s in staged {
        let result = apply(root, &mut s);
        answers.push((s, result));
    }
    let synced = match sync {
        SpoolSync::Group => queue_dir.sync_all(),
        SpoolSync::Off => Ok(()),
    };
    for (s, result) in answers {
        let result = match (&synced, result) {
            (Err(e), Ok(())) => Err(failed("cannot flush the queue directory", e)),
            (_, r) => r,
        };
        let _ = s.done.try_send(result);
    }
}

/// Renames a job's files into `queue/`, or removes its entry.
fn apply(root: &Path, s: &mut Staged) -> Result<(), QueueError> {
    if let Some(id) = &s.remove {
        for kind in ["env", "state", "msg"] {
            let path = entry_path(root, id, kind);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(failed(&format!("cannot remove {}", path.display()), &e)),
            }
        }
        return Ok(());
    }
    if let Some(id) = &s.state_of
        && !entry_path(root, id, "env").exists()
    {
        // Deleted meanwhile: nothing to record.
        return Ok(());
    }
    for (tmp, dest) in std::mem::take(&mut s.files) {
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(failed("cannot move a file into the queue", &e));
        }
    }
    Ok(())
}

/// Writes a new file exclusively (mode 0600).
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    Ok(file)
}

/// Threads that flush one batch's files at once.
const FLUSHERS: usize = 16;

/// Flushes every file of a batch, on up to [`FLUSHERS`] threads at once:
/// the file system merges concurrent flushes into few journal commits,
/// and only these files are flushed (a `syncfs` would also wait for every
/// other writer of the disk).
fn flush_all(files: Vec<io::Result<File>>) -> io::Result<()> {
    let files: Vec<File> = files.into_iter().collect::<io::Result<_>>()?;
    if files.len() <= 1 {
        return files.iter().try_for_each(File::sync_all);
    }
    let per = files.len().div_ceil(FLUSHERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(per)
            .map(|chunk| scope.spawn(move || chunk.iter().try_for_each(File::sync_all)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("a flush thread failed")))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{QueuedRecipient, RecipientStatus};

    fn temp(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mailwire-spool-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn envelope() -> QueuedEnvelope {
        QueuedEnvelope {
            from: "<a@example.org>".into(),
            recipients: vec![QueuedRecipient {
                to: "<b@example.org>".into(),
                notify: None,
                orcpt: None,
            }],
            body: "7BIT".into(),
            smtputf8: false,
            ret: None,
            envid: None,
            arrival: 1,
            client: None,
        }
    }

    #[test]
    fn enqueue_record_remove_and_lock() {
        let dir = temp("basic");
        let spool = Spool::open(&dir, SpoolSync::Group).unwrap();
        assert!(Spool::open(&dir, SpoolSync::Group).is_err(), "locked");
        let id = smol::block_on(spool.enqueue(envelope(), b"Subject: x\r\n\r\nhi\r\n".to_vec()))
            .unwrap();
        let entry = read_entry(&dir, &id).unwrap().unwrap();
        assert_eq!(entry.state.recipients[0].status, RecipientStatus::Pending);
        assert_eq!(entry.size, 18);
        let mut state = entry.state.clone();
        state.recipients[0].status = RecipientStatus::Delivered;
        smol::block_on(spool.record(&id, &state)).unwrap();
        assert_eq!(read_entries(&dir).unwrap()[0].state, state);
        smol::block_on(spool.remove(&id)).unwrap();
        assert!(read_entries(&dir).unwrap().is_empty());
        // The state of a deleted entry is not recorded.
        smol::block_on(spool.record(&id, &state)).unwrap();
        assert!(!entry_path(&dir, &id, "state").exists());
        drop(spool);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn half_made_entries_are_removed_on_open() {
        let dir = temp("recover");
        std::fs::create_dir_all(dir.join("queue")).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        std::fs::write(dir.join("queue/AAAA.msg"), b"x").unwrap();
        std::fs::write(dir.join("queue/BBBB.env"), b"{}").unwrap();
        std::fs::write(dir.join("tmp/CCCC.msg"), b"x").unwrap();
        let spool = Spool::open(&dir, SpoolSync::Group).unwrap();
        assert_eq!(std::fs::read_dir(dir.join("queue")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        drop(spool);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
