//! One indexed message: its [`Entry`], where it sorts ([`Key`]) and the
//! Maildir folder it lives in ([`Folder`]).

use std::path::{Path, PathBuf};

use crate::id::Id;
use crate::json::MessageSummary;
use crate::meta::Meta;
use crate::time::rfc3339_ms;

/// The two Maildir folders messages live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folder {
    /// `new/`: delivered, not yet seen by a mail reader.
    New,
    /// `cur/`: seen by a mail reader (read or not, as its flags say).
    Cur,
}

impl Folder {
    /// The folder's directory name.
    #[must_use]
    pub fn dir(self) -> &'static str {
        match self {
            Folder::New => "new",
            Folder::Cur => "cur",
        }
    }
}

/// Where a message sorts: arrival in microseconds since the epoch, then a
/// tie-breaker from the file name, then the ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// Arrival, microseconds since the epoch.
    pub at_us: u64,
    /// Order among messages of the same microsecond.
    pub tie: u64,
    /// The message.
    pub id: Id,
}

/// One indexed message.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its sort key (holding its ID).
    pub key: Key,
    /// `new/` or `cur/`.
    pub folder: Folder,
    /// The file name in that folder (flags included).
    pub name: Box<str>,
    /// The `S` flag.
    pub read: bool,
    /// Octets of the file.
    pub size: u64,
    /// The header summary.
    pub meta: Meta,
}

impl Entry {
    /// The message's ID.
    #[must_use]
    pub fn id(&self) -> Id {
        self.key.id
    }

    /// Arrival in milliseconds since the epoch.
    #[must_use]
    pub fn created_ms(&self) -> u64 {
        self.key.at_us / 1000
    }

    /// The file's path under the Maildir `root`.
    #[must_use]
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join(self.folder.dir()).join(&*self.name)
    }

    /// Mailpit's `MessageSummary` of this entry.
    #[must_use]
    pub fn summary(&self) -> MessageSummary<'_> {
        let meta = &self.meta;
        MessageSummary {
            id: self.id().to_string(),
            message_id: meta.message_id(),
            read: self.read,
            from: meta.from(),
            to: meta.to(),
            cc: meta.cc(),
            bcc: meta.bcc(),
            reply_to: meta.reply_to(),
            subject: meta.subject(),
            created: rfc3339_ms(self.created_ms()),
            username: "",
            tags: [],
            size: self.size,
            attachments: meta.attachments,
            snippet: meta.snippet(),
        }
    }
}
