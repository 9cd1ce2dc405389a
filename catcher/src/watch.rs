//! Upkeep on a thread of its own: follows files that other programs add
//! to or remove from `new/` and `cur/` (inotify; after an overflow the
//! folders are compared with the index again), and prunes the oldest
//! messages beyond `--max-messages` or older than `--max-age`.

use std::io;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

use crate::index::{Folder, Index};

/// How often pruning by age runs when nothing happens.
const TICK: Duration = Duration::from_millis(500);

/// What is pruned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Keep at most this many messages (the oldest go).
    pub max_messages: Option<usize>,
    /// Delete messages older than this.
    pub max_age: Option<Duration>,
}

impl Limits {
    fn any(self) -> bool {
        self.max_messages.is_some() || self.max_age.is_some()
    }
}

/// Starts following `new/` and `cur/` of the index's Maildir, pruning as
/// `limits` say, on a new thread. The folders are compared with the index
/// once the watches are set (nothing between loading and watching is
/// missed).
///
/// # Errors
///
/// inotify cannot be set up or the thread cannot be started.
pub fn start(index: Arc<Index>, limits: Limits) -> io::Result<()> {
    let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
    let flags = WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_TO
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::ONLYDIR;
    let new = inotify::add_watch(&fd, index.root().join(Folder::New.dir()), flags)?;
    let cur = inotify::add_watch(&fd, index.root().join(Folder::Cur.dir()), flags)?;
    index.rescan();
    prune(&index, limits);
    std::thread::Builder::new()
        .name("mailwire-maildir".into())
        .spawn(move || {
            let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 << 10];
            let tick = Timespec {
                tv_sec: 0,
                tv_nsec: i64::from(TICK.subsec_nanos()),
            };
            loop {
                let mut fds = [PollFd::new(&fd, PollFlags::IN)];
                let ready = poll(&mut fds, Some(&tick)).unwrap_or(0);
                if ready > 0 {
                    drain(&index, &fd, &mut buf, (new, cur));
                }
                prune(&index, limits);
            }
        })?;
    Ok(())
}

/// Handles every event queued. A rename within or between the folders
/// (a mail reader setting flags) comes as `MOVED_FROM` and `MOVED_TO`
/// with one cookie: it updates the entry rather than deleting and adding
/// it; a `MOVED_FROM` without its pair is a file moved away.
fn drain(
    index: &Index,
    fd: &rustix::fd::OwnedFd,
    buf: &mut [MaybeUninit<u8>],
    (new, cur): (i32, i32),
) {
    let mut reader = inotify::Reader::new(fd, buf);
    let mut moved_away: Vec<(u32, Folder, String)> = Vec::new();
    while let Ok(event) = reader.next() {
        let what = event.events();
        if what.contains(ReadFlags::QUEUE_OVERFLOW) {
            index.rescan();
            continue;
        }
        let folder = match event.wd() {
            wd if wd == new => Folder::New,
            wd if wd == cur => Folder::Cur,
            _ => continue,
        };
        let Some(name) = event.file_name().and_then(|n| n.to_str().ok()) else {
            continue;
        };
        if what.contains(ReadFlags::MOVED_FROM) {
            moved_away.push((event.cookie(), folder, name.to_owned()));
        } else if what.intersects(ReadFlags::CLOSE_WRITE | ReadFlags::MOVED_TO) {
            let cookie = event.cookie();
            if what.contains(ReadFlags::MOVED_TO) && cookie != 0 {
                moved_away.retain(|(c, _, _)| *c != cookie);
            }
            index.appeared(folder, name);
        } else if what.contains(ReadFlags::DELETE) {
            index.vanished(folder, name);
        }
    }
    for (_, folder, name) in moved_away {
        index.vanished(folder, &name);
    }
}

/// Prunes as `limits` say, reporting a failure.
fn prune(index: &Index, limits: Limits) {
    if !limits.any() {
        return;
    }
    if let Err(e) = index.prune(limits.max_messages, limits.max_age) {
        eprintln!("mailwire serve: pruning old messages failed: {e}");
    }
}
