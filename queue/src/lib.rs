//! mailwire's mail queue: store and forward, with per-recipient state.
//!
//! * [`QueueStore`] is where entries live; [`Spool`] is the local one (a
//!   directory, crash-safe writes, group commit).
//! * [`Delivery`] tries an entry's open recipients at a next hop and says
//!   what became of each; [`Queue`] runs the schedule: due entries are
//!   tried at once (also at start), deferred ones again after the
//!   [`RetrySchedule`]'s interval, until [`QueueSettings::max_age`].
//! * [`dsn`] writes the delivery status notifications (RFC 3464 in an RFC
//!   6522 `multipart/report`) that go back to the sender, queued like any
//!   message from the null sender.
//!
//! # What is sent twice, and what never is
//!
//! A recipient whose `250` was recorded is never sent the message again.
//! A copy may arrive twice in one case SMTP cannot avoid: the connection
//! broke after the final dot and before the reply, so it is not known
//! whether the next hop took the message; it is tried again and the
//! attempt is counted in [`QueueState::possible_duplicates`].

mod control;
mod deliver;
pub mod dsn;
mod entry;
mod id;
#[cfg(feature = "jetstream")]
pub mod jetstream;
mod queue;
mod schedule;
mod spool;
mod store;

pub use control::{RetryRequest, request_retry, take_retry_requests};
pub use deliver::{Attempt, Delivery};
pub use entry::{
    QueueEntry, QueueState, QueuedEnvelope, QueuedRecipient, RecipientState, RecipientStatus,
    from_unix_ms, unix_ms,
};
pub use id::QueueId;
pub use queue::{Queue, QueueSettings};
pub use schedule::{
    DEFAULT_MAX_AGE, DEFAULT_SCHEDULE, RetrySchedule, format_duration, parse_duration,
};
pub use spool::{Spool, SpoolSync, delete_entry, is_storage_full, read_entries, read_entry};
pub use store::{QueueError, QueueStore};
