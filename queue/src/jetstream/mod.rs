//! The JetStream store (`relay --queue nats://HOST:PORT/STREAM`): many
//! relay nodes, one queue.
//!
//! * Any node accepts: an entry is one message on a work-queue stream
//!   (published with its queue id as `Nats-Msg-Id`, so a publish sent
//!   again after a lost acknowledgement is kept once), and the `250` is
//!   given only after JetStream acknowledged the publish (on a replicated
//!   stream: after its quorum stored it).
//! * Any node delivers: every node's workers pull from one durable
//!   consumer with explicit acknowledgement. An entry is acknowledged only
//!   after its outcome is recorded; a temporary failure is negatively
//!   acknowledged with the retry schedule's delay; a delivery in progress
//!   sends in-progress acknowledgements; the consumer's last allowed
//!   delivery (from the schedule and the maximum age, plus a few spare for
//!   deliveries cut short) fails the open recipients and queues the DSN.
//! * Per-recipient state lives in a key-value bucket (one key per entry,
//!   written with the revision it was read at), so a recipient whose `250`
//!   was recorded is never sent again by any node.
//! * A body larger than the servers' payload limit goes into the object
//!   store, the entry naming it; it is removed once the entry is done.
//!
//! # What may still arrive twice
//!
//! Besides the case of the local spool (the connection broke after the
//! final dot, before the reply): a node that stops (`kill -9`, a lost
//! machine) after the next hop's `250` and before the key-value write
//! leaves nothing recorded, so the entry's next delivery (on any node,
//! after the acknowledgement wait) sends again to those recipients. That
//! delivery sees it follows one that recorded nothing and counts a
//! possible duplicate ([`JetStreamQueue::possible_duplicates`]); the count
//! is conservative (a delivery cut short before it sent anything counts
//! too). A NATS failover longer than the acknowledgement wait can hand an
//! entry to a second worker while the first is still on it (its
//! in-progress acknowledgements were lost): both may send, counted the
//! same way. A publish is tried again (same message id) for up to 20 s
//! before the client is answered `451`.

mod address;
mod queue;
mod record;
mod setup;
mod shared;
mod worker;

pub use address::{JetStreamAddress, NatsAuth};
pub use queue::{JetStreamQueue, allowed_deliveries};
pub use setup::JetStreamSettings;
