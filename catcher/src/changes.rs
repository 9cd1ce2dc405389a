//! Changes to the mailbox: read state (the Maildir `S` flag, as mail
//! readers keep it), deletion (the file is removed), pruning, and files
//! other programs add to or remove from `new/` and `cur/`. Files are
//! renamed and removed outside the index's lock; the index is changed
//! after, only where the entry still names the same file.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::id::{Id, unique_part};
use crate::index::{Folder, Index, event_json, has_flag, list_folder, read_entry};
use crate::json::{Deleted, ReadChange};
use crate::time::now_ms;

/// Above this many deleted messages, one `prune` event is sent instead of
/// a `delete` per message (as Mailpit does).
const DELETE_EVENTS_MAX: usize = 200;

/// How a deletion is told to websocket clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// A `delete` event per message.
    EachDeleted,
    /// `delete` per message up to 200, else one `prune`.
    DeletedOrPrune,
    /// One `prune` event.
    Prune,
    /// One `truncate` event (everything was deleted).
    Truncate,
}

/// The name a file gets when its read state becomes `read`: the unique
/// part, `:2,` and its flags with `S` added or removed (sorted, as the
/// Maildir specification wants them).
fn renamed(name: &str, read: bool) -> String {
    let unique = unique_part(name);
    let flags = name.split_once(":2,").map_or("", |(_, f)| f);
    let mut set: Vec<char> = flags.chars().filter(|c| *c != 'S').collect();
    if read {
        set.push('S');
    }
    set.sort_unstable();
    set.dedup();
    let flags: String = set.into_iter().collect();
    format!("{unique}:2,{flags}")
}

impl Index {
    /// Sets the read state of the messages `ids` (unknown ones are left
    /// out): the file moves to `cur/` with the `S` flag added or removed.
    /// Tells the websocket clients (`update` per changed message).
    ///
    /// # Errors
    ///
    /// A file could not be renamed (the others are still changed).
    pub fn set_read(&self, ids: &[Id], read: bool) -> io::Result<()> {
        let plan: Vec<(Id, Folder, Box<str>, String)> = {
            let state = self.read();
            ids.iter()
                .filter_map(|id| state.get(id))
                .filter(|e| e.read != read)
                .map(|e| (e.id(), e.folder, e.name.clone(), renamed(&e.name, read)))
                .collect()
        };
        let ids: Vec<Id> = plan.iter().map(|(id, ..)| *id).collect();
        self.mark_busy(&ids);
        let mut failure = None;
        let mut done = Vec::with_capacity(plan.len());
        let mut gone = Vec::new();
        for (id, folder, old, new) in plan {
            let from = self.root.join(folder.dir()).join(&*old);
            let to = self.root.join(Folder::Cur.dir()).join(&new);
            match std::fs::rename(&from, &to) {
                Ok(()) => done.push((id, folder, old, new)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => gone.push((id, folder, old)),
                Err(e) => {
                    failure.get_or_insert(io::Error::new(
                        e.kind(),
                        format!("cannot rename {}: {e}", from.display()),
                    ));
                }
            }
        }
        let mut events = Vec::new();
        {
            let mut state = self.write();
            for (id, folder, old, new) in done {
                let Some(entry) = state.get_mut(&id) else {
                    continue;
                };
                if entry.folder != folder || entry.name != old {
                    continue;
                }
                entry.folder = Folder::Cur;
                entry.name = new.into();
                if state.set_read(id, read) {
                    events.push(id);
                }
            }
        }
        self.unmark_busy(&ids);
        for id in events {
            if self.wants_events() {
                let data = ReadChange {
                    id: id.to_string(),
                    read,
                };
                self.send(event_json("update", data));
            }
        }
        for (id, folder, old) in gone {
            self.forget(id, folder, &old);
        }
        self.changed();
        failure.map_or(Ok(()), Err)
    }

    /// Deletes the messages `ids` (unknown ones are left out): their files
    /// are removed. Tells the websocket clients as `told` says.
    ///
    /// # Errors
    ///
    /// A file could not be removed (the others are still deleted).
    pub fn delete(&self, ids: &[Id], told: Told) -> io::Result<usize> {
        let plan: Vec<(Id, Folder, Box<str>)> = {
            let state = self.read();
            ids.iter()
                .filter_map(|id| state.get(id))
                .map(|e| (e.id(), e.folder, e.name.clone()))
                .collect()
        };
        let busy: Vec<Id> = plan.iter().map(|(id, ..)| *id).collect();
        self.mark_busy(&busy);
        let mut failure = None;
        let mut removed = Vec::with_capacity(plan.len());
        for (id, folder, name) in plan {
            let path = self.root.join(folder.dir()).join(&*name);
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push((id, folder, name)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => removed.push((id, folder, name)),
                Err(e) => {
                    failure.get_or_insert(io::Error::new(
                        e.kind(),
                        format!("cannot remove {}: {e}", path.display()),
                    ));
                }
            }
        }
        let mut deleted = Vec::with_capacity(removed.len());
        {
            let mut state = self.write();
            for (id, folder, name) in removed {
                let same = state
                    .get(&id)
                    .is_some_and(|e| e.folder == folder && e.name == name);
                if same && state.remove(id).is_some() {
                    deleted.push(id);
                }
            }
        }
        self.unmark_busy(&busy);
        self.deleted
            .fetch_add(deleted.len() as u64, Ordering::Relaxed);
        self.tell_deleted(&deleted, told);
        failure.map_or(Ok(deleted.len()), Err)
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<Id>> {
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn mark_busy(&self, ids: &[Id]) {
        self.busy().extend(ids.iter().copied());
    }

    fn unmark_busy(&self, ids: &[Id]) {
        let mut busy = self.busy();
        for id in ids {
            busy.remove(id);
        }
    }

    fn is_busy(&self, id: Id) -> bool {
        self.busy().contains(&id)
    }

    /// Tells the websocket clients that `deleted` are gone.
    fn tell_deleted(&self, deleted: &[Id], told: Told) {
        if deleted.is_empty() && told != Told::Truncate {
            return;
        }
        self.changed();
        if !self.wants_events() {
            return;
        }
        let each = match told {
            Told::EachDeleted => true,
            Told::DeletedOrPrune => deleted.len() <= DELETE_EVENTS_MAX,
            Told::Prune | Told::Truncate => false,
        };
        if each {
            for id in deleted {
                let data = Deleted { id: id.to_string() };
                self.send(event_json("delete", data));
            }
        } else if told == Told::Truncate {
            self.send(event_json("truncate", ()));
        } else {
            self.send(event_json("prune", ()));
        }
    }

    /// Deletes the oldest messages beyond `max_messages` and those older
    /// than `max_age` (one `prune` event). Returns how many went.
    ///
    /// # Errors
    ///
    /// A file could not be removed.
    pub fn prune(
        &self,
        max_messages: Option<usize>,
        max_age: Option<Duration>,
    ) -> io::Result<usize> {
        let doomed: Vec<Id> = {
            let state = self.read();
            let over = max_messages.map_or(0, |max| state.len().saturating_sub(max));
            let cutoff_us = max_age.map(|age| {
                now_ms()
                    .saturating_sub(u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
                    .saturating_mul(1000)
            });
            state
                .values()
                .enumerate()
                .take_while(|(n, e)| *n < over || cutoff_us.is_some_and(|c| e.key.at_us < c))
                .map(|(_, e)| e.id())
                .collect()
        };
        if doomed.is_empty() {
            return Ok(0);
        }
        self.delete(&doomed, Told::Prune)
    }

    /// A file appeared in `folder` (written there by another program, or
    /// renamed by a mail reader): indexed, or its entry updated (a new
    /// name: read state and place).
    pub fn appeared(&self, folder: Folder, name: &str) {
        if !crate::index::is_message_name(name) || (folder == Folder::New && self.is_own(name)) {
            return;
        }
        let id = Id::of_unique(unique_part(name));
        if self.is_busy(id) {
            return;
        }
        let read = has_flag(name, 'S');
        let known = {
            let mut state = self.write();
            match state.get_mut(&id) {
                Some(entry) if entry.folder == folder && *entry.name == *name => return,
                Some(entry) => {
                    entry.folder = folder;
                    entry.name = name.into();
                    Some(state.set_read(id, read))
                }
                None => None,
            }
        };
        match known {
            Some(changed) => {
                if changed {
                    if self.wants_events() {
                        let data = ReadChange {
                            id: id.to_string(),
                            read,
                        };
                        self.send(event_json("update", data));
                    }
                    self.changed();
                }
            }
            None => {
                if let Some(entry) = read_entry(&self.root, folder, name) {
                    self.add(entry);
                }
            }
        }
    }

    /// A file left `folder` (removed, or renamed away): its entry goes
    /// when the entry still names it and the file is gone.
    pub fn vanished(&self, folder: Folder, name: &str) {
        let id = Id::of_unique(unique_part(name));
        self.forget(id, folder, name);
    }

    /// Drops the entry of `id` if it still names `folder/name` and that
    /// file does not exist.
    fn forget(&self, id: Id, folder: Folder, name: &str) {
        if self.is_busy(id) || self.root.join(folder.dir()).join(name).exists() {
            return;
        }
        let removed = {
            let mut state = self.write();
            let same = state
                .get(&id)
                .is_some_and(|e| e.folder == folder && *e.name == *name);
            same && state.remove(id).is_some()
        };
        if removed {
            self.tell_deleted(&[id], Told::EachDeleted);
        }
    }

    /// Compares the index with the folders (after the watcher lost
    /// events): unknown files are indexed, renamed ones updated, entries
    /// whose files are gone dropped.
    pub fn rescan(&self) {
        let mut seen = HashSet::new();
        for folder in [Folder::New, Folder::Cur] {
            let Ok(names) = list_folder(&self.root, folder) else {
                continue;
            };
            for name in names {
                seen.insert(Id::of_unique(unique_part(&name)));
                self.appeared_any(folder, &name);
            }
        }
        let gone: Vec<(Id, Folder, Box<str>)> = {
            let state = self.read();
            state
                .values()
                .filter(|e| !seen.contains(&e.id()))
                .map(|e| (e.id(), e.folder, e.name.clone()))
                .collect()
        };
        for (id, folder, name) in gone {
            self.forget(id, folder, &name);
        }
    }

    /// Like [`appeared`](Index::appeared), also for this process's own
    /// names.
    fn appeared_any(&self, folder: Folder, name: &str) {
        let id = Id::of_unique(unique_part(name));
        let known = self
            .read()
            .get(&id)
            .is_some_and(|e| e.folder == folder && *e.name == *name);
        if known {
            return;
        }
        if folder == Folder::New && self.is_own(name) {
            if let Some(entry) = read_entry(&self.root, folder, name) {
                self.add(entry);
            }
            return;
        }
        self.appeared(folder, name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_added_and_removed_sorted() {
        assert_eq!(renamed("1.M2P3Q4.h", true), "1.M2P3Q4.h:2,S");
        assert_eq!(renamed("1.M2P3Q4.h:2,FT", true), "1.M2P3Q4.h:2,FST");
        assert_eq!(renamed("1.M2P3Q4.h:2,FS", false), "1.M2P3Q4.h:2,F");
        assert_eq!(renamed("1.M2P3Q4.h:2,S", false), "1.M2P3Q4.h:2,");
    }
}
