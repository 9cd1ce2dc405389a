//! The index: what the API lists and searches, kept in memory and built
//! from the Maildir (the only store). Each message is one [`Entry`],
//! keyed by its [`Id`] and ordered by arrival. Reads take a shared lock
//! for as long as it takes to pick a page; files are read and renamed
//! outside the lock. Changes are told to websocket clients as Mailpit's
//! events ([`Index::subscribe`]).

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Instant, UNIX_EPOCH};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::{Notify, broadcast};

pub use crate::entry::{Entry, Folder, Key};
use crate::id::{Id, unique_part};
use crate::json::{Event, MessagesSummary, Stats};
use crate::meta::Meta;
use crate::search::{Query, Verdict};

/// Events a slow websocket client may fall behind by before it misses
/// some.
const EVENT_BACKLOG: usize = 4096;

/// The index's state behind its lock: the entries in arrival order
/// (lists and searches walk them in place), and each ID's key.
#[derive(Debug, Default)]
pub(crate) struct State {
    by_key: BTreeMap<Key, Entry>,
    keys: HashMap<Id, Key>,
    pub(crate) unread: u64,
    pub(crate) bytes: u64,
}

impl State {
    /// Adds `entry` unless its ID is known; whether it was added.
    pub(crate) fn add(&mut self, entry: Entry) -> bool {
        if self.keys.contains_key(&entry.id()) {
            return false;
        }
        self.unread += u64::from(!entry.read);
        self.bytes += entry.size;
        self.keys.insert(entry.id(), entry.key);
        self.by_key.insert(entry.key, entry);
        true
    }

    /// Adds every entry whose ID is not known yet (the first of the same
    /// ID wins, as with [`add`](State::add)). Into an empty state, the tree
    /// is built in one go: its nodes full and allocated in key order
    /// (adding keys in order one by one leaves them half full).
    pub(crate) fn add_all(&mut self, entries: Vec<Entry>) {
        if !self.by_key.is_empty() {
            for entry in entries {
                self.add(entry);
            }
            return;
        }
        let mut kept = Vec::with_capacity(entries.len());
        for entry in entries {
            if self.keys.insert(entry.id(), entry.key).is_none() {
                self.unread += u64::from(!entry.read);
                self.bytes += entry.size;
                kept.push((entry.key, entry));
            }
        }
        self.by_key = kept.into_iter().collect();
    }

    /// Removes the entry of `id`, if any.
    pub(crate) fn remove(&mut self, id: Id) -> Option<Entry> {
        let key = self.keys.remove(&id)?;
        let entry = self.by_key.remove(&key)?;
        self.unread -= u64::from(!entry.read);
        self.bytes -= entry.size;
        Some(entry)
    }

    /// The entry of `id`.
    pub(crate) fn get(&self, id: &Id) -> Option<&Entry> {
        self.by_key.get(self.keys.get(id)?)
    }

    /// The entry of `id`, to change its place or read state (never its
    /// key).
    pub(crate) fn get_mut(&mut self, id: &Id) -> Option<&mut Entry> {
        self.by_key.get_mut(self.keys.get(id)?)
    }

    /// Messages in the index.
    pub(crate) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Every entry, oldest first.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.by_key.values()
    }

    /// Sets the read state of `id`; whether it changed.
    pub(crate) fn set_read(&mut self, id: Id, read: bool) -> bool {
        let Some(entry) = self.get_mut(&id) else {
            return false;
        };
        if entry.read == read {
            return false;
        }
        entry.read = read;
        if read {
            self.unread -= 1;
        } else {
            self.unread += 1;
        }
        true
    }

    /// Entries newest first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &Entry> {
        self.by_key.values().rev()
    }
}

/// A page of a list or a search, ready to send.
#[derive(Debug)]
pub struct Page {
    /// `MessagesSummary` as JSON.
    pub json: String,
}

/// The in-memory index of one Maildir.
#[derive(Debug)]
pub struct Index {
    pub(crate) root: PathBuf,
    pub(crate) version: String,
    pub(crate) state: RwLock<State>,
    events: broadcast::Sender<Utf8Bytes>,
    changed: Notify,
    ready: AtomicBool,
    pub(crate) started: Instant,
    pub(crate) accepted: AtomicU64,
    pub(crate) accepted_size: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) deleted: AtomicU64,
    /// `P<pid>Q`: the mark of the names this process's Maildir writer
    /// gives (those messages are indexed by the SMTP side itself).
    own_mark: String,
    /// `--max-messages`: the oldest beyond it are pruned as new ones
    /// arrive.
    max_messages: Option<usize>,
    /// Messages whose files this process is renaming or removing: what
    /// the watcher reports of them meanwhile is this process's own doing.
    pub(crate) busy: std::sync::Mutex<std::collections::HashSet<Id>>,
}

impl Index {
    /// An empty index of the Maildir at `root` (not yet
    /// [loaded](Index::load)); `version` is mailwire's, for `stats` events
    /// and `/api/v1/info`.
    #[must_use]
    pub fn new(root: &Path, version: &str) -> Index {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        Index {
            root: root.to_path_buf(),
            version: version.to_owned(),
            state: RwLock::new(State::default()),
            events,
            changed: Notify::new(),
            ready: AtomicBool::new(false),
            started: Instant::now(),
            accepted: AtomicU64::new(0),
            accepted_size: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            own_mark: format!("P{}Q", std::process::id()),
            max_messages: None,
            busy: std::sync::Mutex::default(),
        }
    }

    /// The same index, keeping at most `max` messages: storing one more
    /// prunes the oldest.
    #[must_use]
    pub fn keep_at_most(mut self, max: Option<usize>) -> Index {
        self.max_messages = max;
        self
    }

    /// The Maildir's root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Builds the index from `new/` and `cur/` (files whose names start
    /// with a dot are not messages), reading the files on every CPU in
    /// name order, then marks it ready. Returns the number of messages.
    ///
    /// # Errors
    ///
    /// A folder cannot be read.
    pub fn load(&self) -> io::Result<usize> {
        let mut found = Vec::new();
        for folder in [Folder::New, Folder::Cur] {
            for name in list_folder(&self.root, folder)? {
                found.push((folder, name));
            }
        }
        // In name (so arrival) order: each reader then allocates its
        // summaries in the order searches walk them, which keeps a search's
        // walk over memory close to sequential.
        found.sort_unstable_by(|a, b| a.1.cmp(&b.1));
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = found.len().div_ceil(threads).max(1);
        let root = &self.root;
        let entries: Vec<Entry> = std::thread::scope(|scope| {
            let workers: Vec<_> = found
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .filter_map(|(folder, name)| read_entry(root, *folder, name))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        let count = {
            let mut state = self.write();
            state.add_all(entries);
            state.len()
        };
        self.ready.store(true, Ordering::Release);
        Ok(count)
    }

    /// Whether the index has been loaded (`/readyz`).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Counts a message the SMTP side refused (Mailpit's `SMTPRejected`).
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds a message the SMTP side just stored at `path` (in `new/`),
    /// before its `250` is sent: `meta` is its summary, `size` the file's
    /// length. Tells the websocket clients (`new`).
    pub fn stored(&self, path: &Path, meta: Meta, size: u64) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.accepted_size.fetch_add(size, Ordering::Relaxed);
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let entry = make_entry(Folder::New, name, meta, size, || 0);
        self.add(entry);
        if let Some(max) = self.max_messages
            && self.read().len() > max
            && let Err(e) = self.prune(Some(max), None)
        {
            eprintln!("mailwire serve: pruning old messages failed: {e}");
        }
    }

    /// Like [`stored`](Index::stored), reading the summary from the file
    /// at `path` (blocking: call it off an async runtime's threads).
    pub fn stored_file(&self, path: &Path) {
        match std::fs::read(path) {
            Ok(raw) => self.stored(path, Meta::of(&raw), raw.len() as u64),
            Err(e) => eprintln!(
                "mailwire serve: cannot read the stored message {}: {e}",
                path.display()
            ),
        }
    }

    /// Adds an entry unless its ID is known, telling the websocket
    /// clients.
    pub(crate) fn add(&self, entry: Entry) {
        let event = self
            .wants_events()
            .then(|| event_json("new", entry.summary()));
        let added = self.write().add(entry);
        if added {
            if let Some(event) = event {
                self.send(event);
            }
            self.changed();
        }
    }

    /// Whether a name in `new/` is one this process's writer gave (the
    /// SMTP side indexes those itself).
    pub(crate) fn is_own(&self, name: &str) -> bool {
        name.split('.')
            .nth(1)
            .is_some_and(|s| s.contains(&self.own_mark))
    }

    /// A receiver of every event from now on, as JSON text.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.events.subscribe()
    }

    pub(crate) fn wants_events(&self) -> bool {
        self.events.receiver_count() > 0
    }

    pub(crate) fn send(&self, event: Utf8Bytes) {
        let _ = self.events.send(event);
    }

    /// Notes that the counts changed (a `stats` event is due).
    pub(crate) fn changed(&self) {
        self.changed.notify_one();
    }

    /// Waits until the counts change.
    pub async fn stats_due(&self) {
        self.changed.notified().await;
    }

    /// The `stats` event now.
    #[must_use]
    pub fn stats_event(&self) -> Utf8Bytes {
        let (total, unread) = self.counts();
        event_json(
            "stats",
            Stats {
                total,
                unread,
                version: self.version.clone(),
            },
        )
    }

    /// Sends the `stats` event to every websocket client.
    pub fn send_stats(&self) {
        if self.wants_events() {
            self.send(self.stats_event());
        }
    }

    /// Messages and unread messages.
    #[must_use]
    pub fn counts(&self) -> (u64, u64) {
        let state = self.read();
        (state.len() as u64, state.unread)
    }

    /// A page of the whole mailbox, newest first: `limit` messages from
    /// `start` (`limit` 0: all of them).
    #[must_use]
    pub fn page(&self, start: usize, limit: usize) -> Page {
        let state = self.read();
        let all = state.newest_first();
        let messages: Vec<_> = if limit == 0 {
            all.map(Entry::summary).collect()
        } else {
            all.skip(start).take(limit).map(Entry::summary).collect()
        };
        let total = state.len() as u64;
        let body = MessagesSummary {
            total,
            unread: state.unread,
            count: messages.len() as u64,
            messages_count: total,
            messages_unread: state.unread,
            start: start as u64,
            tags: [],
            messages,
        };
        Page {
            json: serde_json::to_string(&body).unwrap_or_default(),
        }
    }

    /// The IDs matching `query`, newest first, with their read state.
    /// Free words the headers do not decide are looked for in the files,
    /// outside the lock.
    #[must_use]
    pub fn matching(&self, query: &Query) -> Vec<(Id, bool)> {
        let candidates: Vec<(Id, bool, Option<PathBuf>)> = {
            let state = self.read();
            state
                .newest_first()
                .filter_map(|e| match query.check(e) {
                    Verdict::Yes => Some((e.id(), e.read, None)),
                    Verdict::NeedsBody => Some((e.id(), e.read, Some(e.path(&self.root)))),
                    Verdict::No => None,
                })
                .collect()
        };
        candidates
            .into_iter()
            .filter(|(_, _, path)| match path {
                None => true,
                Some(path) => std::fs::read(path)
                    .map(|raw| query.texts_hold(&crate::view::body_search_text(&raw)))
                    .unwrap_or(false),
            })
            .map(|(id, read, _)| (id, read))
            .collect()
    }

    /// A page of a search: `limit` of the matching messages from `start`.
    #[must_use]
    pub fn search(&self, query: &Query, start: usize, limit: usize) -> Page {
        let matched = self.matching(query);
        let unread = matched.iter().filter(|(_, read)| !read).count() as u64;
        let state = self.read();
        let messages: Vec<_> = matched
            .iter()
            .skip(start)
            .take(limit)
            .filter_map(|(id, _)| state.get(id).map(Entry::summary))
            .collect();
        let body = MessagesSummary {
            total: state.len() as u64,
            unread: state.unread,
            count: messages.len() as u64,
            messages_count: matched.len() as u64,
            messages_unread: unread,
            start: start as u64,
            tags: [],
            messages,
        };
        Page {
            json: serde_json::to_string(&body).unwrap_or_default(),
        }
    }

    /// The newest message (matching `query` when given).
    #[must_use]
    pub fn latest(&self, query: Option<&Query>) -> Option<Id> {
        match query {
            None => self.read().newest_first().next().map(Entry::id),
            Some(q) => self.matching(q).first().map(|(id, _)| *id),
        }
    }

    /// The entry of `id` (a copy) and its file's path.
    #[must_use]
    pub fn get(&self, id: Id) -> Option<(Entry, PathBuf)> {
        let state = self.read();
        let entry = state.get(&id)?;
        Some((entry.clone(), entry.path(&self.root)))
    }

    /// Every ID, newest first.
    #[must_use]
    pub fn all_ids(&self) -> Vec<Id> {
        self.read().newest_first().map(Entry::id).collect()
    }
}

/// `{"Type": kind, "Data": data}` as JSON text.
pub(crate) fn event_json<T: Serialize>(kind: &'static str, data: T) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(&Event { kind, data }).unwrap_or_default())
}

/// The message file names in a folder (dot files and non-files left
/// out).
pub(crate) fn list_folder(root: &Path, folder: Folder) -> io::Result<Vec<String>> {
    let dir = root.join(folder.dir());
    let mut names = Vec::new();
    for item in std::fs::read_dir(&dir)? {
        let Ok(item) = item else { continue };
        let Ok(name) = item.file_name().into_string() else {
            continue;
        };
        if is_message_name(&name) && item.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Whether a name in `new/` or `cur/` can be a message: not empty, not a
/// dot file, one path component.
pub(crate) fn is_message_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/')
}

/// Reads the file `root/folder/name` into an entry (`None` when it cannot
/// be read).
pub(crate) fn read_entry(root: &Path, folder: Folder, name: &str) -> Option<Entry> {
    let path = root.join(folder.dir()).join(name);
    let raw = std::fs::read(&path).ok()?;
    let meta = Meta::of(&raw);
    Some(make_entry(folder, name, meta, raw.len() as u64, || {
        mtime_us(&path)
    }))
}

/// The file's modification time in microseconds since the epoch.
fn mtime_us(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// An entry for the file `name` in `folder`; `mtime_us` is asked only
/// when the name carries no time.
pub(crate) fn make_entry(
    folder: Folder,
    name: &str,
    meta: Meta,
    size: u64,
    mtime_us: impl FnOnce() -> u64,
) -> Entry {
    let unique = unique_part(name);
    let id = Id::of_unique(unique);
    let (at_us, tie) = arrival(unique).unwrap_or_else(|| (mtime_us(), 0));
    Entry {
        key: Key { at_us, tie, id },
        folder,
        name: name.into(),
        read: has_flag(name, 'S'),
        size,
        meta,
    }
}

/// Whether a Maildir name's info (`:2,FLAGS`) holds `flag`.
pub(crate) fn has_flag(name: &str, flag: char) -> bool {
    name.split_once(":2,")
        .is_some_and(|(_, flags)| flags.contains(flag))
}

/// Arrival from a Maildir name `SECS.M<usec>P<pid>Q<n>.host` (any name
/// that starts with seconds; `M` gives microseconds, `Q` or `#` the order
/// within them): `(microseconds, tie)`. `None` without leading seconds.
pub(crate) fn arrival(unique: &str) -> Option<(u64, u64)> {
    let mut parts = unique.splitn(3, '.');
    let secs: u64 = parts
        .next()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))?
        .parse()
        .ok()?;
    let middle = parts.next().unwrap_or_default();
    let number_after = |mark: char| -> Option<u64> {
        let at = middle.find(mark)? + 1;
        let digits: String = middle[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let micros = number_after('M').filter(|m| *m < 1_000_000).unwrap_or(0);
    let tie = number_after('Q').or_else(|| number_after('#')).unwrap_or(0);
    Some((secs.checked_mul(1_000_000)?.checked_add(micros)?, tie))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_all_at_once_is_adding_one_by_one() {
        let entry = |name: &str, size| make_entry(Folder::New, name, Meta::default(), size, || 0);
        let entries = || {
            vec![
                entry("3.M1P1Q3.h", 3),
                entry("1.M1P1Q1.h:2,S", 1),
                entry("2.M1P1Q2.h", 2),
                entry("1.M1P1Q1.h", 9),
            ]
        };
        let (mut one, mut all) = (State::default(), State::default());
        for e in entries() {
            one.add(e);
        }
        all.add_all(entries());
        let sizes = |s: &State| {
            s.values()
                .map(|e| (e.id(), e.size, e.read))
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&one), sizes(&all));
        assert_eq!((all.len(), all.unread, all.bytes), (3, 2, 6));
        assert_eq!((one.unread, one.bytes), (all.unread, all.bytes));
        all.add_all(vec![entry("4.M1P1Q4.h", 4), entry("2.M1P1Q2.h", 7)]);
        assert_eq!((all.len(), all.bytes), (4, 10));
        assert!(all.get(&entry("4.M1P1Q4.h", 4).id()).is_some());
    }

    #[test]
    fn arrival_from_names() {
        assert_eq!(
            arrival("1700000000.M123456P42Q7.host"),
            Some((1_700_000_000_123_456, 7))
        );
        assert_eq!(
            arrival("1700000000.P42.host"),
            Some((1_700_000_000_000_000, 0))
        );
        assert_eq!(arrival("hand-made.eml"), None);
        assert!(has_flag("1.M1P1Q1.h:2,FS", 'S'));
        assert!(!has_flag("1.M1P1Q1.h:2,F", 'S'));
        assert!(!has_flag("1.M1P1Q1.h", 'S'));
    }
}
