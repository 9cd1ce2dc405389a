//! The storage a queue runs on. The local [`Spool`](crate::Spool) is one;
//! a replicated store (a message broker) fits the same trait.

use std::fmt;
use std::future::Future;

use crate::{QueueEntry, QueueId, QueueState, QueuedEnvelope};

/// Why the store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// No room for the message (the disk or the queue is full): answered
    /// `452 4.3.1` at acceptance.
    Full(String),
    /// Anything else; the text says what failed.
    Failed(String),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Full(why) => write!(f, "the queue is full: {why}"),
            QueueError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for QueueError {}

/// A durable store of queue entries.
///
/// Every method that changes the store returns only once the change is
/// durable: [`enqueue`](Self::enqueue) before the `250` is given,
/// [`record`](Self::record) before the next attempt can rely on it.
pub trait QueueStore: Send + Sync + 'static {
    /// Stores a new message with its envelope (every recipient pending,
    /// due now); returns its id once both are durable.
    fn enqueue(
        &self,
        envelope: QueuedEnvelope,
        message: Vec<u8>,
    ) -> impl Future<Output = Result<QueueId, QueueError>> + Send;

    /// Replaces the state of an entry (a no-op when the entry is gone:
    /// deleted by an operator meanwhile).
    fn record(
        &self,
        id: &QueueId,
        state: &QueueState,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Removes an entry (delivered to every recipient, or given up).
    fn remove(&self, id: &QueueId) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// The entry with this id, `None` when there is none.
    fn load(
        &self,
        id: &QueueId,
    ) -> impl Future<Output = Result<Option<QueueEntry>, QueueError>> + Send;

    /// The message octets of an entry.
    fn message(&self, id: &QueueId) -> impl Future<Output = Result<Vec<u8>, QueueError>> + Send;

    /// Every entry, oldest first.
    fn entries(&self) -> impl Future<Output = Result<Vec<QueueEntry>, QueueError>> + Send;
}
